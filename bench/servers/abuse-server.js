'use strict';
// The Echo server of the abuse bench (bench/abuse.js): the same service and handlers as
// h2grpc-server.js, on dist/, plus what the bench needs to see inside the server process:
//
//  * SLOW_UNARY_MS: UnaryEcho answers the message "slow" only after this many ms (ignoring
//    cancellation, like a handler stuck on a database), counting the handlers that run.
//  * ABUSE_SERVER_OPTIONS: JSON of extra server options (e.g. {"h2grpc.handshake_timeout_ms": 2000}).
//  * Commands, one per line on stdin (the pipe from the runner); each is answered with one JSON
//    line on stdout:
//      reset  -> {"type":"reset"}   clears the event-loop histogram and the maxima below
//      mark   -> {"type":"mark", lagMaxMs}   the lag maximum of the phase since the last reset or
//                mark; the histogram restarts, and stats' lagMaxMs still covers everything since reset
//      stats  -> {"type":"stats", lagMaxMs, lagP99Ms, rssMiB, heapUsedMiB, arrayBuffersMiB,
//                 handlers: {started, running, maxRunning}, server: {connections, streams, queuedBytes},
//                 maxima: {connections, streams, queuedBytes, controlItems, readerBufferedBytes, retainedStreams},
//                 throttledSeen, events: {streamsOpened, closed, connectionErrors: [{atMs, code, reason}]}}
//    The maxima come from sampling the server's counters every SAMPLE_MS (100 ms).
//
// The event-loop delay is perf_hooks.monitorEventLoopDelay (resolution 5 ms); the reported lag
// is the histogram's maximum minus that resolution (the timer's own period is not lag).
const { monitorEventLoopDelay } = require('node:perf_hooks');
const { loadEchoPackage } = require('../lib/proto');
const { impl } = require('./echo-handlers');
const { announce, exitOnShutdown, fail } = require('./lifecycle');

let lib;
try {
  lib = require('../../dist/index.js');
} catch (err) {
  fail(`cannot load dist/index.js (run \`npm run build\`): ${err.message.split('\n')[0]}`);
}

const SLOW_UNARY_MS = Number.parseInt(process.env.SLOW_UNARY_MS || '0', 10) || 0;
const SAMPLE_MS = 100;
const LAG_RESOLUTION_MS = 5;
const MiB = 1024 * 1024;

let options = {};
try {
  options = JSON.parse(process.env.ABUSE_SERVER_OPTIONS || '{}');
} catch (err) {
  fail(`bad ABUSE_SERVER_OPTIONS: ${err.message}`);
}

const handlers = { started: 0, running: 0, maxRunning: 0 };
const slowTimers = new Set();

const service = { ...impl };
if (SLOW_UNARY_MS > 0) {
  service.UnaryEcho = (call, callback) => {
    const message = call.request.message;
    if (message !== 'slow') {
      callback(null, { message });
      return;
    }
    handlers.started++;
    handlers.running++;
    if (handlers.running > handlers.maxRunning) handlers.maxRunning = handlers.running;
    const timer = setTimeout(() => {
      slowTimers.delete(timer);
      handlers.running--;
      try { callback(null, { message }); } catch { /* the call is gone */ }
    }, SLOW_UNARY_MS);
    slowTimers.add(timer);
  };
}

const { Server, ServerCredentials } = lib;
const server = new Server(options);
server.addService(loadEchoPackage(lib.loadPackageDefinition).Echo.service, service);

// Every connection the server accepts: streams opened (total and at once) and the connection
// errors it answered with GOAWAY, so the runner sees what a peer that does not read cannot.
const events = { streamsOpened: 0, connectionErrors: [], closed: 0 };
let resetAt = performance.now();
let transport = null;
try { transport = require('../../dist/transport/index.js'); } catch { /* names only */ }
const codeName = (code) => (transport && transport.errorCodeName ? transport.errorCodeName(code) : String(code));
const accept = server.accept.bind(server);
server.accept = (socket) => {
  const connection = accept(socket);
  if (!connection) return connection;
  connection.on('stream', () => { events.streamsOpened++; });
  connection.on('connectionError', (error) => {
    if (events.connectionErrors.length < 20) {
      events.connectionErrors.push({ atMs: Math.round(performance.now() - resetAt), code: codeName(error.errorCode), reason: String(error.reason ?? error.message).slice(0, 120) });
    }
  });
  connection.on('close', () => { events.closed++; });
  return connection;
};

const histogram = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
const maxima = { connections: 0, streams: 0, queuedBytes: 0, controlItems: 0, readerBufferedBytes: 0, retainedStreams: 0 };
let throttledSeen = false;

function sample() {
  const total = server.stats;
  if (total.connections > maxima.connections) maxima.connections = total.connections;
  if (total.streams > maxima.streams) maxima.streams = total.streams;
  if (total.queuedBytes > maxima.queuedBytes) maxima.queuedBytes = total.queuedBytes;
  if (typeof server.connectionStats !== 'function') return;
  for (const c of server.connectionStats()) {
    if (c.controlItems > maxima.controlItems) maxima.controlItems = c.controlItems;
    if (c.readerBufferedBytes > maxima.readerBufferedBytes) maxima.readerBufferedBytes = c.readerBufferedBytes;
    if ((c.retainedStreams ?? 0) > maxima.retainedStreams) maxima.retainedStreams = c.retainedStreams;
    if (c.throttled) throttledSeen = true;
  }
}

// 'mark' ends a phase: the histogram restarts, its maximum so far is carried into lagMaxMs.
let lagCarryMs = 0;
const lagOf = (ns) => Math.max(0, ns / 1e6 - LAG_RESOLUTION_MS);

function mark() {
  const phaseMaxMs = lagOf(histogram.max);
  lagCarryMs = Math.max(lagCarryMs, phaseMaxMs);
  histogram.reset();
  return { type: 'mark', lagMaxMs: phaseMaxMs };
}

function reset() {
  histogram.reset();
  lagCarryMs = 0;
  resetAt = performance.now();
  events.streamsOpened = 0;
  events.connectionErrors = [];
  events.closed = 0;
  for (const key of Object.keys(maxima)) maxima[key] = 0;
  throttledSeen = false;
  handlers.maxRunning = handlers.running;
  sample();
}

function stats() {
  sample();
  const mem = process.memoryUsage();
  return {
    type: 'stats',
    lagMaxMs: Math.max(lagCarryMs, lagOf(histogram.max)),
    lagP99Ms: lagOf(histogram.percentile(99)), // of the current phase
    rssMiB: mem.rss / MiB,
    heapUsedMiB: mem.heapUsed / MiB,
    arrayBuffersMiB: mem.arrayBuffers / MiB,
    handlers: { ...handlers },
    server: server.stats,
    maxima: { ...maxima },
    throttledSeen,
    events: { ...events },
  };
}

function onCommand(line) {
  const command = line.trim();
  if (command === 'reset') {
    reset();
    process.stdout.write(JSON.stringify({ type: 'reset' }) + '\n');
  } else if (command === 'mark') {
    process.stdout.write(JSON.stringify(mark()) + '\n');
  } else if (command === 'stats') {
    process.stdout.write(JSON.stringify(stats()) + '\n');
  }
}

let pending = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  pending += chunk;
  let nl;
  while ((nl = pending.indexOf('\n')) >= 0) {
    onCommand(pending.slice(0, nl));
    pending = pending.slice(nl + 1);
  }
});

server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, port) => {
  if (err) return fail(err);
  histogram.enable();
  setInterval(sample, SAMPLE_MS).unref();
  announce(port);
});
exitOnShutdown(() => {
  for (const timer of slowTimers) clearTimeout(timer);
  server.forceShutdown();
});
