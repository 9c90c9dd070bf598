'use strict';
// Streaming load generator (and gRPC sanity checker) built on the
// @grpc/grpc-js client, so every server is driven by the same client code.
// The runner starts it pinned to CPU 0; it prints exactly one JSON line.
//
//   node bench/stream-client.js --target 127.0.0.1:PORT --mode MODE [options]
//
// Modes:
//   server-stream  back-to-back ServerStreamingEcho calls (each server sends
//                  --expect messages per call); reports messages/s.
//   bidi           one BidirectionalStreamingEcho call doing strict ping-pong
//                  (write one, wait for its echo, repeat); reports round trips/s.
//   check          one UnaryEcho per --size and a few bidi round trips, all
//                  verified (content and status OK).
//
// Timing: a --warmup-ms phase (not measured), then a --duration-ms window.
// Counts are snapshotted from timers at the window edges, so there is no
// per-message clock read. Bounded by --max-messages and a hard --cap-ms.

const grpc = require('@grpc/grpc-js');
const { loadEchoPackage } = require('./lib/proto');

function parseArgs(argv) {
  const opts = {
    target: '', mode: 'server-stream', size: '16', expect: 0,
    warmupMs: 500, durationMs: 2000, maxMessages: 5_000_000, capMs: 15_000,
  };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '').replace(/-(\w)/g, (_, c) => c.toUpperCase());
    if (!(key in opts)) throw new Error(`unknown option ${argv[i]}`);
    opts[key] = typeof opts[key] === 'number' ? Number(argv[i + 1]) : argv[i + 1];
  }
  if (!opts.target) throw new Error('--target host:port is required');
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
const { Echo } = loadEchoPackage();
const client = new Echo(opts.target, grpc.credentials.createInsecure());

function finish(result) {
  process.stdout.write(JSON.stringify(result) + '\n');
  client.close();
  process.exit(result.ok ? 0 : 1);
}

// Hard cap on the whole process, whatever the server does.
setTimeout(() => finish({ ok: false, error: `hard cap of ${opts.capMs} ms reached` }), opts.capMs).unref();

/**
 * Measurement window driven by timers. `count()` returns the running message
 * count; `onEnd` fires when the window closes (or when stop() is called early).
 */
function measureWindow(count, onEnd) {
  const w = { open: false, closed: false, startCount: 0, startTime: 0, endCount: 0, endTime: 0 };
  let endTimer;
  const startTimer = setTimeout(() => {
    w.open = true;
    w.startCount = count();
    w.startTime = performance.now();
    endTimer = setTimeout(close, opts.durationMs);
  }, opts.warmupMs);
  function close() {
    if (w.closed) return;
    clearTimeout(startTimer);
    clearTimeout(endTimer);
    w.closed = true;
    w.endCount = count();
    w.endTime = performance.now();
    onEnd();
  }
  w.stop = close;
  // Result fields for finish(); a window that never opened (message cap hit
  // during warm-up) is a failed measurement.
  w.result = () => {
    if (!w.open) return { ok: false, error: '--max-messages reached before the measurement window opened' };
    const seconds = (w.endTime - w.startTime) / 1000;
    const messages = w.endCount - w.startCount;
    return { ok: true, windowMessages: messages, windowSeconds: seconds, rate: seconds > 0 ? messages / seconds : 0 };
  };
  return w;
}

function runServerStream() {
  const message = 'x'.repeat(Number(opts.size));
  let total = 0;
  let calls = 0;
  let call = null;
  const window = measureWindow(() => total, () => { /* let the in-flight call finish */ });

  function next() {
    if (window.closed || total >= opts.maxMessages) {
      window.stop();
      return finish({ mode: 'server-stream', ...window.result(), totalMessages: total, calls });
    }
    calls++;
    let received = 0;
    call = client.ServerStreamingEcho({ message });
    call.on('data', (res) => {
      received++;
      total++;
      if (received === 1 && res.message !== message) {
        finish({ ok: false, error: 'server-stream echoed the wrong message' });
      }
    });
    call.on('error', (err) => finish({ ok: false, error: `server-stream call failed: ${err.message}` }));
    call.on('status', (status) => {
      if (status.code !== grpc.status.OK) return; // 'error' reports it
      if (opts.expect && received !== opts.expect) {
        return finish({ ok: false, error: `server-stream call ended after ${received} messages, expected ${opts.expect}` });
      }
      setImmediate(next);
    });
  }
  next();
}

function runBidi() {
  const message = 'x'.repeat(Number(opts.size));
  let roundTrips = 0;
  let stopping = false;
  const call = client.BidirectionalStreamingEcho();
  const window = measureWindow(() => roundTrips, () => { stopping = true; });
  call.on('data', (res) => {
    if (res.message !== message) return finish({ ok: false, error: 'bidi echoed the wrong message' });
    roundTrips++;
    if (stopping || roundTrips >= opts.maxMessages) {
      window.stop();
      call.end(); // half-close; the server ends with status OK
    } else {
      call.write({ message });
    }
  });
  call.on('error', (err) => finish({ ok: false, error: `bidi call failed: ${err.message}` }));
  call.on('status', (status) => {
    if (status.code !== grpc.status.OK) return;
    finish({ mode: 'bidi', ...window.result(), totalMessages: roundTrips, calls: 1 });
  });
  call.write({ message });
}

async function runCheck() {
  const sizes = String(opts.size).split(',').map(Number);
  for (const size of sizes) {
    const message = 'x'.repeat(size);
    const res = await new Promise((resolve, reject) => {
      client.UnaryEcho({ message }, (err, r) => (err ? reject(err) : resolve(r)));
    }).catch((err) => finish({ ok: false, error: `unary ${size} B failed: ${err.message}` }));
    if (!res || res.message !== message) return finish({ ok: false, error: `unary ${size} B echoed the wrong message` });
  }
  // A few ping-pong round trips to prove the bidi route exists and works.
  const call = client.BidirectionalStreamingEcho();
  let n = 0;
  call.on('data', (res) => {
    if (res.message !== `ping ${n}`) return finish({ ok: false, error: 'bidi check echoed the wrong message' });
    if (++n < 3) call.write({ message: `ping ${n}` });
    else call.end();
  });
  call.on('error', (err) => finish({ ok: false, error: `bidi check failed: ${err.message}` }));
  call.on('status', (s) => {
    if (s.code === grpc.status.OK) finish({ ok: n === 3, mode: 'check', error: n === 3 ? undefined : `bidi got ${n}/3 echoes` });
  });
  call.write({ message: 'ping 0' });
}

const modes = { 'server-stream': runServerStream, bidi: runBidi, check: runCheck };
if (!modes[opts.mode]) finish({ ok: false, error: `unknown mode ${opts.mode}` });
modes[opts.mode]();
