'use strict';
// One client benchmark run (spawned by bench/client.js, pinned to its own CPU):
//   node bench/lib/client-load.js --client ours|grpc-js --port P --point NAME --warmup MS --duration MS
// Prints one JSON line: { calls, elapsedMs, cpuUsPerCall, callsPerSec, latency: {mean,p50,p99} (ms),
// messagesPerSec (streams), peakRssMiB }. Every loop is bounded by the duration and a call cap.

const { loadEchoPackage } = require('./proto');

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, value, index, all) => (index % 2 === 0 ? [...pairs, [value.replace(/^--/, ''), all[index + 1]]] : pairs), []));
const CLIENT = args.client;
const PORT = Number(args.port);
const POINT = args.point;
const WARMUP_MS = Number(args.warmup ?? 300);
const DURATION_MS = Number(args.duration ?? 1000);
const MAX_CALLS = 5_000_000;

// Clients: grpc-js's; ours; ours with one pass-through interceptor (the chain's cost); ours through
// the async API (createAsyncClient; unary points only).
function loadClientLibrary(name) {
  if (name === 'grpc-js') return require('@grpc/grpc-js');
  if (name === 'ours' || name === 'ours-intercepted' || name === 'ours-async') return require('../../dist/index.js');
  throw new Error(`unknown client ${name}`);
}

const lib = loadClientLibrary(CLIENT);
const Echo = loadEchoPackage(lib.loadPackageDefinition).Echo;
const clientOptions = CLIENT === 'ours-intercepted' ? { interceptors: [(options, nextCall) => new lib.InterceptingCall(nextCall(options))] } : {};
const client =
  CLIENT === 'ours-async'
    ? lib.createAsyncClient(Echo, `127.0.0.1:${PORT}`, lib.credentials.createInsecure())
    : new Echo(`127.0.0.1:${PORT}`, lib.credentials.createInsecure(), clientOptions);
const request = { message: 'hello' };

let peakRss = process.memoryUsage.rss();
const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 50);

function unaryOnce() {
  if (CLIENT === 'ours-async') return client.UnaryEcho(request);
  return new Promise((resolve, reject) => client.UnaryEcho(request, (error) => (error ? reject(error) : resolve())));
}

/** Runs `worker` loops in parallel until the window ends; each loop records call latencies. */
async function measure(inFlight, callOnce) {
  const latencies = [];
  let stopAt = Date.now() + WARMUP_MS;
  let recording = false;
  let calls = 0;
  const loop = async () => {
    while (Date.now() < stopAt && calls < MAX_CALLS) {
      const start = process.hrtime.bigint();
      const units = await callOnce();
      if (recording) {
        calls += units;
        latencies.push(Number(process.hrtime.bigint() - start) / 1e6);
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, loop)); // warm-up
  recording = true;
  stopAt = Date.now() + DURATION_MS;
  const cpuStart = process.cpuUsage();
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: inFlight }, loop));
  const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  const cpu = process.cpuUsage(cpuStart);
  latencies.sort((a, b) => a - b);
  const mean = latencies.reduce((sum, value) => sum + value, 0) / Math.max(1, latencies.length);
  return {
    calls,
    elapsedMs,
    callsPerSec: (calls / elapsedMs) * 1000,
    cpuUsPerCall: (cpu.user + cpu.system) / Math.max(1, calls),
    latency: { mean, p50: latencies[Math.floor(latencies.length * 0.5)] ?? 0, p99: latencies[Math.floor(latencies.length * 0.99)] ?? 0 },
  };
}

/** A server stream read to its end: resolves with the number of messages. */
function serverStreamOnce() {
  return new Promise((resolve, reject) => {
    let count = 0;
    const call = client.ServerStreamingEcho(request);
    call.on('data', () => count++);
    call.on('error', reject);
    call.on('end', () => resolve(count));
  });
}

/** One bidi call; each measured unit is one request/response round trip on it. */
function pingPong() {
  const call = client.BidirectionalStreamingEcho();
  let waiting = null;
  call.on('data', () => {
    const resolve = waiting;
    waiting = null;
    resolve(1);
  });
  call.on('error', (error) => {
    if (waiting) throw error;
  });
  return {
    roundTrip: () =>
      new Promise((resolve) => {
        waiting = resolve;
        call.write(request);
      }),
    end: () => call.end(),
  };
}

async function main() {
  let result;
  switch (POINT) {
    case 'unary-c1':
      result = await measure(1, async () => (await unaryOnce(), 1));
      break;
    case 'unary-m100':
      result = await measure(100, async () => (await unaryOnce(), 1));
      break;
    case 'server-streaming':
      result = await measure(1, serverStreamOnce);
      result.messagesPerSec = result.callsPerSec;
      break;
    case 'bidi-ping-pong': {
      const stream = pingPong();
      result = await measure(1, stream.roundTrip);
      stream.end();
      break;
    }
    default:
      throw new Error(`unknown point ${POINT}`);
  }
  clearInterval(rssTimer);
  result.peakRssMiB = Math.max(peakRss, process.resourceUsage().maxRSS * 1024) / 2 ** 20;
  client.close();
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(0);
}

main().catch((error) => {
  process.stderr.write(`client-load ${CLIENT} ${POINT}: ${error.stack || error}\n`);
  process.exit(1);
});
