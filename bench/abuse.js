'use strict';
// The abuse bench: `npm run bench:abuse` (see bench/README.md, "Abuse bench").
//
// Builds dist/, then for each attack of bench/lib/attacks.js starts a fresh Echo server
// (bench/servers/abuse-server.js, on dist/) pinned to CPU 1, runs the attack from this process
// pinned to CPU 0 for ABUSE_SECONDS (default 5), with a fresh grpc-js call during the attack and
// one after it, and prints a Markdown table: peak server RSS, time until the attacker was cut off,
// max event-loop lag inside the server, the two fresh calls, max running handlers.
//
// `npm run bench:abuse -- --soak` (SOAK_SECONDS, default 600) instead runs steady h2load load
// plus a churn loop of grpc-js clients killed seven ways against one server, samples its RSS every
// 10 s and gives a verdict.
//
// Results go to bench/results/abuse-latest.json (the attacks and the soak each update their own
// part). Every child process is killed on exit; every loop is bounded in count and time.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const net = require('node:net');
const proc = require('./lib/proc');
const h2load = require('./lib/h2load');
const { markdownTable } = require('./lib/stats');
const { loadEchoPackage, echoRequestBody, METHOD_PATHS, REPO_ROOT } = require('./lib/proto');
const { ATTACKS } = require('./lib/attacks');

const SERVER_CPU = 1;
const LOAD_CPU = 0;
const BENCH_DIR = __dirname;
const RESULTS_DIR = path.join(BENCH_DIR, 'results');
const RESULTS_FILE = path.join(RESULTS_DIR, 'abuse-latest.json');
const SERVER_SCRIPT = path.join(BENCH_DIR, 'servers', 'abuse-server.js');

const SOAK = process.argv.includes('--soak');
const ABUSE_SECONDS = positiveNumber(process.env.ABUSE_SECONDS, 5);
const ONLY = (process.env.ABUSE_ONLY || '').split(',').map((s) => s.trim()).filter(Boolean);
const SOAK_SECONDS = positiveNumber(process.env.SOAK_SECONDS, 600);
const SOAK_WARMUP_SECONDS = positiveNumber(process.env.SOAK_WARMUP_SECONDS, Math.min(60, SOAK_SECONDS / 3));
const SOAK_RPS_PER_CLIENT = positiveNumber(process.env.SOAK_RPS_PER_CLIENT, 50);
const SOAK_CHURN_WORKERS = positiveNumber(process.env.SOAK_CHURN_WORKERS, 4);
const SAMPLE_EVERY_MS = 10_000;

function positiveNumber(value, fallback) {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

const progress = (line) => process.stderr.write(`[abuse] ${line}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const loadavg = () => os.loadavg().map((x) => Number(x.toFixed(2)));

// ------------------------------------------------------------------ server --

/** Starts abuse-server.js pinned to CPU 1 and adds a request/answer channel over its stdin/stdout. */
async function startAbuseServer(env) {
  const server = await proc.startServer('abuse-server', SERVER_SCRIPT, {
    cpu: SERVER_CPU, env,
    // e.g. ABUSE_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' or '--trace-gc' (diagnostics)
    nodeArgs: (process.env.ABUSE_NODE_ARGS || '').split(' ').filter(Boolean),
    onUnexpectedExit: (s) => progress(`server (pid ${s.pid}) exited unexpectedly: code ${s.exitInfo.code}, signal ${s.exitInfo.signal}\n${s.exitInfo.stderrTail}`),
  });
  const waiting = []; // resolvers, in the order of the commands sent
  let buffered = ''; // (the {"port":N} line was consumed by startServer before this listener)
  server.child.stdout.on('data', (chunk) => {
    buffered += chunk;
    let nl;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      let message;
      try { message = JSON.parse(line); } catch { continue; }
      const next = waiting.shift();
      if (next) next.resolve(message);
    }
  });
  /** Sends a command; resolves with its answer (rejects after 5 s, or if the server is gone). */
  server.command = (name) => new Promise((resolve, reject) => {
    if (server.exited) { reject(new Error('server exited')); return; }
    const entry = { resolve: (m) => { clearTimeout(timer); resolve(m); } };
    const timer = setTimeout(() => {
      const i = waiting.indexOf(entry);
      if (i >= 0) waiting.splice(i, 1);
      reject(new Error(`no answer to "${name}" within 5 s`));
    }, 5000);
    waiting.push(entry);
    server.child.stdin.write(`${name}\n`);
  });
  return server;
}

// ---------------------------------------------------------------- clients --

let echoPackage = null;
function grpc() { return require('@grpc/grpc-js'); }
function echoClient(port, extra = {}) {
  echoPackage ??= loadEchoPackage();
  // A private subchannel pool: every client gets its own connection.
  return new echoPackage.Echo(`127.0.0.1:${port}`, grpc().credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1, ...extra });
}

/** One UnaryEcho on a new connection within deadlineMs. Never rejects. */
function freshUnaryCall(port, message, deadlineMs) {
  const started = performance.now();
  const client = echoClient(port);
  return new Promise((resolve) => {
    client.UnaryEcho({ message }, { deadline: Date.now() + deadlineMs }, (err, response) => {
      client.close();
      const ms = performance.now() - started;
      if (err) resolve({ ok: false, ms, error: `${grpc().status[err.code] ?? err.code}: ${err.details}` });
      else if (response.message !== message) resolve({ ok: false, ms, error: `echoed ${JSON.stringify(response.message)}` });
      else resolve({ ok: true, ms });
    });
  });
}

const describeCall = (c) => (c ? (c.ok ? `ok (${c.ms.toFixed(0)} ms)` : `FAILED after ${c.ms.toFixed(0)} ms: ${c.error}`) : 'not made');

// ----------------------------------------------------------------- attacks --

async function runAttack(attack) {
  const durationMs = ABUSE_SECONDS * 1000;
  const loadBefore = loadavg();
  const server = await startAbuseServer({ ...(attack.env || {}) });
  const sockets = new Set();
  const track = (socket) => { sockets.add(socket); socket.once('close', () => sockets.delete(socket)); };
  let during = null;
  let duringStartedAt = null;
  const t0 = performance.now();
  const ctx = {
    port: server.port,
    durationMs,
    track,
    startDuringCall() {
      if (during) return;
      duringStartedAt = performance.now() - t0;
      during = freshUnaryCall(server.port, 'during the attack', 5000);
    },
    serverStats: () => server.command('stats'),
    serverMark: () => server.command('mark'),
  };
  // One call first: loads grpc-js and the proto here and warms the server's normal path, so that
  // neither start-up cost lands inside the measured window.
  const warmup = await freshUnaryCall(server.port, 'warm-up', 5000);
  if (!warmup.ok) progress(`  WARNING: the warm-up call failed: ${warmup.error}`);
  await server.command('reset');
  ctx.resetAt = performance.now();
  const rss = proc.sampleRss(server.pid, 20);
  let result;
  let error = null;
  const watchdogMs = Math.max(durationMs, 10_000) + 20_000;
  try {
    result = await Promise.race([
      attack.run(ctx),
      sleep(watchdogMs).then(() => { throw new Error(`attack did not finish within ${watchdogMs} ms (watchdog)`); }),
    ]);
  } catch (err) {
    error = err.message;
    result = { cutOff: null, detail: `attack error: ${err.message}` };
  }
  if (!during) ctx.startDuringCall();
  const duringCall = await during;
  const afterCall = await freshUnaryCall(server.port, 'after the attack', 3000);
  for (const socket of sockets) socket.destroy();
  let stats = null;
  try { stats = await server.command('stats'); } catch (err) { error ??= `stats: ${err.message}`; }
  const peakKB = rss.stop();
  const hwmKB = proc.statusKB(server.pid, 'VmHWM');
  const exitedEarly = server.exited ? server.exitInfo : null;
  await proc.stopServer(server);
  return {
    id: attack.id,
    label: attack.label,
    serverEnv: attack.env || {},
    durationMs: result.durationMs ?? durationMs,
    peakRssMiB: peakKB / 1024,
    lifetimePeakRssMiB: hwmKB === null ? null : hwmKB / 1024,
    cutOff: result.cutOff,
    notCutOff: result.cutOff ? null : (result.notCutOff || 'not cut off'),
    lagMaxMs: stats ? stats.lagMaxMs : null,
    lagP99Ms: stats ? stats.lagP99Ms : null,
    during: { ...duringCall, startedAtMs: duringStartedAt },
    after: afterCall,
    handlers: stats ? stats.handlers : null,
    maxRunningHandlers: attack.env && attack.env.SLOW_UNARY_MS ? stats?.handlers.maxRunning ?? null : null,
    serverMaxima: stats ? stats.maxima : null,
    serverThrottledSeen: stats ? stats.throttledSeen : null,
    detail: result.detail,
    sent: result.sent,
    error,
    serverExitedEarly: exitedEarly,
    loadavgBefore: loadBefore,
    loadavgAfter: loadavg(),
  };
}

function attackTable(rows) {
  const header = ['attack', 'peak server RSS MiB', 'attacker cut off after', 'max event-loop lag ms', 'fresh call during', 'fresh call after', 'max running handlers'];
  return markdownTable(header, rows.map((r) => [
    r.label,
    r.peakRssMiB.toFixed(0),
    r.cutOff ? `${r.cutOff.ms.toFixed(0)} ms (${r.cutOff.how})` : `not cut off: ${r.notCutOff}`,
    r.lagMaxMs === null ? 'n/a' : r.lagMaxMs.toFixed(0),
    r.during.ok ? `ok ${r.during.ms.toFixed(0)} ms` : `FAILED (${r.during.error})`,
    r.after.ok ? `ok ${r.after.ms.toFixed(0)} ms` : `FAILED (${r.after.error})`,
    r.maxRunningHandlers === null ? '' : `${r.maxRunningHandlers} (of ${r.handlers.started} started)`,
  ]));
}

async function runAttacks() {
  const selected = ONLY.length ? ATTACKS.filter((a) => ONLY.includes(a.id)) : ATTACKS;
  if (selected.length === 0) throw new Error(`ABUSE_ONLY matches no attack; ids: ${ATTACKS.map((a) => a.id).join(', ')}`);
  const rows = [];
  for (const attack of selected) {
    progress(`${attack.label}: ${ABUSE_SECONDS} s (load average ${loadavg().join(' ')})`);
    const row = await runAttack(attack);
    rows.push(row);
    progress(`  cut off: ${row.cutOff ? `${row.cutOff.ms.toFixed(0)} ms, ${row.cutOff.how}` : `NO (${row.notCutOff})`}; peak RSS ${row.peakRssMiB.toFixed(0)} MiB; ` +
      `lag ${row.lagMaxMs?.toFixed(0)} ms; during ${describeCall(row.during)}; after ${describeCall(row.after)}` +
      `${row.maxRunningHandlers !== null ? `; max running handlers ${row.maxRunningHandlers}` : ''}`);
    progress(`  ${row.detail}${row.error ? `; ERROR ${row.error}` : ''}`);
  }
  const table = attackTable(rows);
  const problems = findProblems(rows);
  updateResults({
    attacks: {
      date: new Date().toISOString(),
      machine: machineInfo(),
      config: { abuseSeconds: ABUSE_SECONDS, only: ONLY.length ? ONLY : null, serverCpu: SERVER_CPU, attackerCpu: LOAD_CPU },
      rows,
      problems,
      table,
    },
  });
  process.stdout.write(`\n${table}\n\n`);
  process.stdout.write(`${ABUSE_SECONDS} s per attack (slow request data: at least 10 s; silent sockets: handshake timeout 2 s). Load average at the end: ${loadavg().join(' ')}.\n`);
  for (const p of problems) process.stdout.write(`PROBLEM: ${p}\n`);
  process.stdout.write(`Wrote ${path.relative(REPO_ROOT, RESULTS_FILE)}\n`);
  if (problems.length) process.exitCode = 1;
}

/** The bounds of the hardening issue: cut off, both fresh calls ok, lag < 100 ms, handlers within the stream limit. */
function findProblems(rows) {
  const out = [];
  for (const r of rows) {
    if (!r.cutOff && r.id !== 'unread-streams') out.push(`${r.id}: not cut off (${r.notCutOff})`);
    if (!r.during.ok) out.push(`${r.id}: the fresh call during the attack failed (${r.during.error})`);
    if (!r.after.ok) out.push(`${r.id}: the fresh call after the attack failed (${r.after.error})`);
    if (r.lagMaxMs !== null && r.lagMaxMs >= 100) out.push(`${r.id}: event-loop lag ${r.lagMaxMs.toFixed(0)} ms (bound 100 ms)`);
    if (r.maxRunningHandlers !== null && r.maxRunningHandlers > 100) out.push(`${r.id}: ${r.maxRunningHandlers} handlers ran at once (stream limit 100)`);
    if (r.error) out.push(`${r.id}: ${r.error}`);
    if (r.serverExitedEarly) out.push(`${r.id}: the server exited during the attack (code ${r.serverExitedEarly.code}, signal ${r.serverExitedEarly.signal})`);
  }
  return out;
}

// -------------------------------------------------------------------- soak --

/** A TCP proxy for one grpc-js client, so that its connection can be killed at the socket level. */
function startProxy(port) {
  const pairs = [];
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: '127.0.0.1', port });
    client.on('error', () => {});
    upstream.on('error', () => {});
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    pairs.push({ client, upstream });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({
      port: server.address().port,
      /** Both sides closed (FIN), as when a client process dies. */
      destroy() { for (const p of pairs) { p.client.destroy(); p.upstream.destroy(); } },
      /** TCP RST to the server. */
      reset() { for (const p of pairs) { if (typeof p.upstream.resetAndDestroy === 'function') p.upstream.resetAndDestroy(); else p.upstream.destroy(); p.client.destroy(); } },
      /** Half-close towards the server (FIN, but we keep reading what it sends). */
      halfClose() { for (const p of pairs) { p.client.unpipe(p.upstream); p.upstream.end(); } },
      close() { this.destroy(); server.close(); },
    }));
  });
}

const rand = (lo, hi) => lo + Math.floor(Math.random() * (hi - lo + 1));
const SOAK_CALL_DEADLINE_MS = 5000;

/**
 * Runs one call shape and resolves { code, messages } when it ends (code 0 = OK); every call has
 * a deadline, and a watchdog resolves { code: 'hung' } 2 s after it.
 */
function settle(start) {
  return new Promise((resolve) => {
    let done = false;
    const finish = (value) => { if (!done) { done = true; clearTimeout(watchdog); resolve(value); } };
    const watchdog = setTimeout(() => finish({ code: 'hung' }), SOAK_CALL_DEADLINE_MS + 2000);
    start(finish);
  });
}

const deadline = () => Date.now() + SOAK_CALL_DEADLINE_MS;

/** The seven ways a client goes away; each returns the status codes it may legitimately end with. */
const KILL_WAYS = {
  // RST_STREAM(CANCEL) on a unary call whose handler is still running (SLOW_UNARY_MS = 200).
  'cancel unary mid-call': async (client) => {
    const r = await settle((finish) => {
      const call = client.UnaryEcho({ message: 'slow' }, { deadline: deadline() }, (err) => finish({ code: err ? err.code : 0 }));
      setTimeout(() => call.cancel(), rand(0, 150));
    });
    return { r, expected: [0, 1] };
  },
  // The client's deadline fires while the handler runs.
  'deadline exceeded': async (client) => {
    const r = await settle((finish) => {
      client.UnaryEcho({ message: 'slow' }, { deadline: Date.now() + rand(10, 150) }, (err) => finish({ code: err ? err.code : 0 }));
    });
    return { r, expected: [4] };
  },
  // A server stream cancelled after a random number of messages.
  'cancel server stream': async (client) => {
    const stop = rand(1, 500);
    const r = await settle((finish) => {
      let n = 0;
      const call = client.ServerStreamingEcho({ message: 'soak' }, { deadline: deadline() });
      call.on('data', () => { if (++n === stop) call.cancel(); });
      call.on('error', (err) => finish({ code: err.code, messages: n }));
      call.on('end', () => finish({ code: 0, messages: n }));
    });
    return { r, expected: [0, 1] };
  },
  // A bidi call half-closed by the client after a few messages: every echo, then OK.
  'bidi half-close': async (client) => {
    const count = rand(1, 20);
    const r = await settle((finish) => {
      let n = 0;
      const call = client.BidirectionalStreamingEcho({ deadline: deadline() });
      call.on('data', () => { n++; });
      call.on('error', (err) => finish({ code: err.code, messages: n }));
      call.on('status', (s) => { if (s.code === 0) finish({ code: n === count ? 0 : `only ${n}/${count} echoes`, messages: n }); });
      for (let i = 0; i < count; i++) call.write({ message: `m${i}` });
      setTimeout(() => call.end(), rand(0, 50));
    });
    return { r, expected: [0] };
  },
  // The connection dies (both sides closed) in the middle of a server stream.
  'socket destroyed mid-call': async (client, proxy) => {
    const r = await settle((finish) => {
      const call = client.ServerStreamingEcho({ message: 'soak' }, { deadline: deadline() });
      call.on('data', () => {});
      call.on('error', (err) => finish({ code: err.code }));
      call.on('end', () => finish({ code: 0 }));
      setTimeout(() => proxy.destroy(), rand(1, 60));
    });
    return { r, expected: [0, 1, 13, 14] };
  },
  // TCP RST towards the server in the middle of a client-streaming call.
  'TCP RST mid-call': async (client, proxy) => {
    const r = await settle((finish) => {
      const call = client.ClientStreamingEcho({ deadline: deadline() }, (err) => finish({ code: err ? err.code : 0 }));
      let i = 0;
      const timer = setInterval(() => { if (i++ < 50) call.write({ message: `c${i}` }); }, 2);
      setTimeout(() => { clearInterval(timer); proxy.reset(); }, rand(1, 60));
    });
    return { r, expected: [0, 1, 13, 14] };
  },
  // The server's side half-closed (FIN towards the server) in the middle of a bidi call.
  'half-close towards the server mid-call': async (client, proxy) => {
    const r = await settle((finish) => {
      const call = client.BidirectionalStreamingEcho({ deadline: deadline() });
      call.on('data', () => {});
      call.on('error', (err) => finish({ code: err.code }));
      call.on('status', (s) => { if (s.code === 0) finish({ code: 0 }); });
      for (let i = 0; i < 10; i++) call.write({ message: `h${i}` });
      setTimeout(() => proxy.halfClose(), rand(1, 60));
      // Without an answer from the server, the client gives up after 1 s (like a client with a short deadline).
      setTimeout(() => { try { call.cancel(); } catch { /* done */ } }, 1000);
    });
    return { r, expected: [0, 1, 13, 14] };
  },
};
const WAY_NAMES = Object.keys(KILL_WAYS);
const VIA_PROXY = new Set(['socket destroyed mid-call', 'TCP RST mid-call', 'half-close towards the server mid-call']);

async function churnIteration(port, tally) {
  const way = WAY_NAMES[rand(0, WAY_NAMES.length - 1)];
  const proxy = VIA_PROXY.has(way) ? await startProxy(port) : null;
  const client = echoClient(proxy ? proxy.port : port);
  const record = (name, ok, code) => {
    const t = (tally.byWay[name] ??= { calls: 0, unexpected: 0, codes: {} });
    t.calls++;
    t.codes[code] = (t.codes[code] ?? 0) + 1;
    tally.calls++;
    if (!ok) {
      t.unexpected++;
      tally.unexpected++;
      if (tally.examples.length < 20) tally.examples.push({ at: new Date().toISOString(), call: name, code });
    }
  };
  try {
    // A plain call first: it must succeed (the connection is fresh and healthy).
    const plain = await settle((finish) => client.UnaryEcho({ message: 'plain' }, { deadline: deadline() }, (err, res) => finish({ code: err ? err.code : res.message === 'plain' ? 0 : 'wrong echo' })));
    record('plain unary (before the kill)', plain.code === 0, plain.code);
    const { r, expected } = await KILL_WAYS[way](client, proxy);
    record(way, expected.includes(r.code), r.code);
  } finally {
    client.close();
    proxy?.close();
  }
}

async function runSoak() {
  const totalMs = SOAK_SECONDS * 1000;
  progress(`soak: ${SOAK_SECONDS} s, warm-up ${SOAK_WARMUP_SECONDS} s, h2load -c 20 -m 10 at ${SOAK_RPS_PER_CLIENT} req/s per client, ${SOAK_CHURN_WORKERS} churn workers (load average ${loadavg().join(' ')})`);
  const loadStart = loadavg();
  const server = await startAbuseServer({ SLOW_UNARY_MS: '200', STREAM_COUNT: '10000' });
  await server.command('reset');
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const bodyFile = path.join(RESULTS_DIR, 'abuse-body-16.tmp');
  fs.writeFileSync(bodyFile, echoRequestBody(16));
  const started = performance.now();
  const end = started + totalMs;

  const samples = [];
  const takeSample = async () => {
    const t = (performance.now() - started) / 1000;
    const rssKB = proc.statusKB(server.pid, 'VmRSS');
    let s = null;
    try { s = await server.command('stats'); await server.command('reset'); } catch { /* reported as null */ }
    const sample = {
      t: Math.round(t), rssMiB: rssKB === null ? null : rssKB / 1024,
      heapUsedMiB: s?.heapUsedMiB ?? null, arrayBuffersMiB: s?.arrayBuffersMiB ?? null,
      connections: s?.server.connections ?? null, streams: s?.server.streams ?? null,
      lagMaxMs: s?.lagMaxMs ?? null, calls: tally.calls, unexpected: tally.unexpected, loadavg: loadavg(),
    };
    samples.push(sample);
    progress(`  t=${sample.t}s RSS ${sample.rssMiB?.toFixed(1)} MiB, heap ${sample.heapUsedMiB?.toFixed(1)} MiB, ` +
      `connections ${sample.connections}, streams ${sample.streams}, lag max ${sample.lagMaxMs?.toFixed(0)} ms, churn calls ${tally.calls} (unexpected ${tally.unexpected}), load ${sample.loadavg.join(' ')}`);
  };

  const tally = { calls: 0, unexpected: 0, byWay: {}, examples: [], iterations: 0 };
  const h2 = h2load.run({
    cpu: LOAD_CPU, port: server.port, path: METHOD_PATHS.unary, bodyFile,
    clients: 20, streams: 10, durationMs: totalMs, warmupMs: 1000, rps: SOAK_RPS_PER_CLIENT,
  });
  const workers = Array.from({ length: SOAK_CHURN_WORKERS }, async () => {
    while (performance.now() < end - 2000 && !server.exited) {
      tally.iterations++;
      try { await churnIteration(server.port, tally); } catch (err) {
        tally.unexpected++;
        if (tally.examples.length < 20) tally.examples.push({ at: new Date().toISOString(), call: 'iteration', code: err.message });
      }
    }
  });
  await takeSample();
  const sampler = (async () => {
    while (performance.now() + SAMPLE_EVERY_MS <= end + 500 && !server.exited) {
      await sleep(started + SAMPLE_EVERY_MS * samples.length - performance.now());
      await takeSample();
    }
  })();
  const [h2res] = await Promise.all([h2, ...workers, sampler]);
  await sleep(1000);
  const finalStats = await server.command('stats').catch(() => null);
  const exitedEarly = server.exited ? server.exitInfo : null;
  await proc.stopServer(server);
  fs.rmSync(bodyFile, { force: true });

  const afterWarmup = samples.filter((s) => s.t >= SOAK_WARMUP_SECONDS && s.rssMiB !== null);
  const firstRss = afterWarmup.length ? afterWarmup[0].rssMiB : null;
  const lastRss = afterWarmup.length ? afterWarmup[afterWarmup.length - 1].rssMiB : null;
  const growthPct = firstRss ? ((lastRss - firstRss) / firstRss) * 100 : null;
  const h2report = h2res.report || null;
  const h2failed = h2report ? h2report.requests.failed + h2report.requests.errored + h2report.requests.timeout : null;
  const rssOk = growthPct !== null && growthPct <= 10;
  const pass = tally.unexpected === 0 && rssOk && !exitedEarly;
  const verdict = `${pass ? 'PASS' : 'FAIL'}: ${tally.unexpected} unexpected grpc-js failures in ${tally.calls} calls; ` +
    `RSS ${firstRss?.toFixed(1)} MiB at t=${afterWarmup[0]?.t}s -> ${lastRss?.toFixed(1)} MiB at t=${afterWarmup[afterWarmup.length - 1]?.t}s ` +
    `(${growthPct === null ? 'n/a' : `${growthPct >= 0 ? '+' : ''}${growthPct.toFixed(1)} %`}, bound +10 %)` +
    `${exitedEarly ? '; the server exited early' : ''}`;
  const h2summary = h2report
    ? `h2load: ${h2report.requests.succeeded} succeeded, ${h2report.requests.failed} failed, ${h2report.requests.errored} errored, ${h2report.requests.timeout} timeout; ${h2report.reqPerSec} req/s${h2res.ok ? '' : ` (${h2res.error})`}`
    : `h2load: ${h2res.error}`;
  const sampleTable = markdownTable(['t s', 'RSS MiB', 'heap MiB', 'arrayBuffers MiB', 'connections', 'streams', 'lag max ms', 'churn calls', 'unexpected', 'load avg'],
    samples.map((s) => [s.t, s.rssMiB?.toFixed(1), s.heapUsedMiB?.toFixed(1), s.arrayBuffersMiB?.toFixed(1), s.connections, s.streams, s.lagMaxMs?.toFixed(0), s.calls, s.unexpected, s.loadavg.join(' ')]));
  const wayTable = markdownTable(['call', 'calls', 'unexpected', 'status codes'],
    Object.entries(tally.byWay).map(([name, t]) => [name, t.calls, t.unexpected, Object.entries(t.codes).map(([c, n]) => `${c}: ${n}`).join(', ')]));
  updateResults({
    soak: {
      date: new Date().toISOString(),
      machine: machineInfo(),
      config: { soakSeconds: SOAK_SECONDS, warmupSeconds: SOAK_WARMUP_SECONDS, h2load: { clients: 20, streams: 10, rpsPerClient: SOAK_RPS_PER_CLIENT }, churnWorkers: SOAK_CHURN_WORKERS, slowUnaryMs: 200 },
      pass, verdict, growthPct, firstRssMiB: firstRss, lastRssMiB: lastRss,
      churn: tally, h2load: h2report, h2loadOk: h2res.ok, h2loadError: h2res.error || null, h2loadFailed: h2failed,
      samples, finalServerStats: finalStats, serverExitedEarly: exitedEarly,
      loadavgStart: loadStart, loadavgEnd: loadavg(),
      sampleTable, wayTable,
    },
  });
  process.stdout.write(`\n${sampleTable}\n\n${wayTable}\n\n${h2summary}\n${verdict}\n`);
  process.stdout.write(`Wrote ${path.relative(REPO_ROOT, RESULTS_FILE)}\n`);
  if (!pass) process.exitCode = 1;
}

// -------------------------------------------------------------------- main --

function machineInfo() {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0] ? cpus[0].model : 'unknown', cpuCount: cpus.length, nodeVersion: process.version,
    h2loadVersion: h2load.version(), os: `${os.type()} ${os.release()} ${os.arch()}`, loadavg: loadavg(),
    pinning: proc.HAS_TASKSET ? { server: `taskset -c ${SERVER_CPU}`, attacker: `taskset -c ${LOAD_CPU}` } : 'none (taskset missing)',
  };
}

function updateResults(part) {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  let current = {};
  try { current = JSON.parse(fs.readFileSync(RESULTS_FILE, 'utf8')); } catch { /* first run */ }
  fs.writeFileSync(RESULTS_FILE, JSON.stringify({ ...current, ...part }, null, 2) + '\n');
}

async function build() {
  progress('npm run build');
  const res = await proc.runCommand('npm', ['run', 'build'], { timeoutMs: 300_000, cwd: REPO_ROOT });
  if (res.code !== 0) throw new Error(`npm run build failed (exit ${res.code}${res.timedOut ? ', timed out' : ''}):\n${(res.stdout + res.stderr).trim().split('\n').slice(-20).join('\n')}`);
}

async function main() {
  proc.installCleanup(() => progress('interrupted; stopping the server'));
  if (!proc.HAS_TASKSET) progress('WARNING: taskset not found; nothing is pinned');
  else if (!proc.pinSelf(LOAD_CPU)) progress(`WARNING: could not pin the attacker to CPU ${LOAD_CPU}`);
  if (process.env.ABUSE_SKIP_BUILD !== '1') await build();
  if (SOAK) await runSoak();
  else await runAttacks();
}

main().then(
  () => { proc.killAll(); setTimeout(() => process.exit(), 200).unref(); },
  (err) => {
    process.stderr.write(`[abuse] fatal: ${err.stack || err}\n`);
    proc.killAll();
    process.exitCode = 1;
    setTimeout(() => process.exit(), 200).unref();
  },
);
