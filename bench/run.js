'use strict';
// Benchmark runner: `npm run bench` (see bench/README.md).
//
// Starts every selected Echo server pinned to CPU 1, sanity-checks that each
// really answers with grpc-status 0, then drives the matrix from CPU 0 (h2load
// for unary points, bench/stream-client.js for streaming points). Each point
// gets one warm-up run per server and then ROUNDS alternating rounds
// (A B C, A B C, ...); we report medians and the ratio to grpc-js. Progress
// goes to stderr, the Markdown table to stdout, everything to
// bench/results/latest.json.
//
// Env knobs: BENCH_QUICK=1 (one short round, smoke test),
//            BENCH_ONLY=ours,grpc-js (subset of servers),
//            BENCH_ROUNDS=N (override the round count),
//            STREAM_COUNT=N (messages per ServerStreamingEcho call).

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const proc = require('./lib/proc');
const h2load = require('./lib/h2load');
const { median, min, max, ratio, fmt, fmtRatio, markdownTable } = require('./lib/stats');
const { echoRequestBody, METHOD_PATHS, PROTO_PATH, REPO_ROOT } = require('./lib/proto');

const SERVER_CPU = 1;
const LOAD_CPU = 0;
const BENCH_DIR = __dirname;
const RESULTS_DIR = path.join(BENCH_DIR, 'results');
const STREAM_CLIENT = path.join(BENCH_DIR, 'stream-client.js');

const SERVERS = [
  { name: 'ours', script: 'servers/h2grpc-server.js', needsBuild: true },
  { name: 'grpc-js', script: 'servers/grpc-js-server.js' },
  { name: 'node-http2', script: 'servers/node-http2-server.js' },
];
const BASELINE = 'grpc-js';

// ------------------------------------------------------------------ config --

const QUICK = !!process.env.BENCH_QUICK && process.env.BENCH_QUICK !== '0';

// Timings in ms. "warmupRun" is the discarded per-point warm-up run; the
// measured runs also get a short in-run warm-up that h2load / the stream
// client exclude from their numbers. On a noisy (virtualised) machine many
// short, interleaved rounds give steadier medians than a few long ones; the
// sizes below keep the full 3-server matrix at about 3 minutes on 2 cores.
const CONFIG = {
  quick: QUICK,
  rounds: positiveInt(process.env.BENCH_ROUNDS, QUICK ? 1 : 5),
  streamCount: positiveInt(process.env.STREAM_COUNT, 10000),
  h2load: {
    // A cold grpc-js needs >1 s to answer its first 5000 streams at -c50 -m100,
    // so even the quick warm-up run must not be shorter than this.
    warmupRun: { warmupMs: 500, durationMs: 1000 },
    measured: QUICK ? { warmupMs: 300, durationMs: 1000 } : { warmupMs: 300, durationMs: 1200 },
  },
  stream: {
    warmupRun: { warmupMs: 300, durationMs: 700 },
    measured: QUICK ? { warmupMs: 300, durationMs: 700 } : { warmupMs: 300, durationMs: 1000 },
  },
};

function positiveInt(value, fallback) {
  const n = Number.parseInt(value ?? '', 10);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

// Metric definitions. `better` tells how to read the ratio to grpc-js.
const M = {
  reqPerSec: { label: 'req/s', better: 'higher' },
  latencyMeanMs: { label: 'mean latency ms', better: 'lower' },
  mbPerSec: { label: 'MiB/s received', better: 'higher' },
  // Received bytes per completed call (frames + HPACK headers + data); for
  // small messages this exposes header-compression differences.
  bytesPerCall: { label: 'bytes received/call', better: 'lower' },
  msgsPerSec: { label: 'messages/s', better: 'higher' },
  roundTripsPerSec: { label: 'round trips/s', better: 'higher' },
  cpuSecPer100k: { label: 'server CPU s/100k', better: 'lower' },
  // Peak RSS is aggregated with max (not median) over the point's runs.
  peakRssMiB: { label: 'server peak RSS MiB', better: 'lower', aggregate: 'max' },
};

const H2LOAD_METRICS = ['reqPerSec', 'latencyMeanMs', 'mbPerSec', 'bytesPerCall', 'cpuSecPer100k', 'peakRssMiB'];
const POINTS = [
  { id: 'unary-16B-c1-m1', label: 'unary 16 B -c1 -m1', kind: 'h2load', size: 16, clients: 1, streams: 1 },
  { id: 'unary-16B-c10-m10', label: 'unary 16 B -c10 -m10', kind: 'h2load', size: 16, clients: 10, streams: 10 },
  { id: 'unary-16B-c50-m100', label: 'unary 16 B -c50 -m100', kind: 'h2load', size: 16, clients: 50, streams: 100, tableRss: true },
  { id: 'unary-64KiB-c10-m10', label: 'unary 64 KiB -c10 -m10', kind: 'h2load', size: 65536, clients: 10, streams: 10 },
  { id: 'server-stream-16B', label: 'server streaming 16 B', kind: 'stream', mode: 'server-stream', size: 16 },
  { id: 'bidi-16B', label: 'bidi ping-pong 16 B', kind: 'stream', mode: 'bidi', size: 16 },
];
for (const p of POINTS) {
  p.metrics = p.kind === 'h2load' ? H2LOAD_METRICS
    : [p.mode === 'bidi' ? 'roundTripsPerSec' : 'msgsPerSec', 'cpuSecPer100k', 'peakRssMiB'];
  // To keep the table short it shows peak RSS only at c50m100, MiB/s only
  // for 64 KiB (for 16 B messages it mostly measures header bytes, and a
  // bigger number is not better) and bytes/call only for 16 B;
  // latest.json has every metric for every point.
  p.tableMetrics = p.metrics.filter((m) => (m !== 'peakRssMiB' || p.tableRss)
    && (m !== 'mbPerSec' || p.size >= 65536) && (m !== 'bytesPerCall' || p.size < 65536));
}

// ------------------------------------------------------ equal-rate memory --

/**
 * Peak RSS at the same load for every server. At full speed each server runs at its own rate, and
 * a faster server allocates (and so grows its heap) faster; this run caps every server at the
 * baseline's measured -c50 -m100 rate (h2load --rps per client), on a freshly started process so
 * no earlier point's peak carries over.
 */
async function equalRateMemory(defs, results, bodies) {
  const c50 = results.find((p) => p.id === 'unary-16B-c50-m100');
  const baselineRate = c50?.medians?.[BASELINE]?.reqPerSec;
  if (!baselineRate) return null;
  const clients = 50;
  const rpsPerClient = Math.max(1, Math.floor(baselineRate / clients));
  const timing = CONFIG.h2load.measured;
  const out = { targetReqPerSec: rpsPerClient * clients, servers: {} };
  for (const def of defs) {
    const server = await proc.startServer(def.name, path.join(BENCH_DIR, def.script), { cpu: SERVER_CPU, env: { STREAM_COUNT: String(CONFIG.streamCount) } });
    try {
      const rss = proc.sampleRss(server.pid);
      const res = await h2load.run({
        cpu: LOAD_CPU, port: server.port, path: METHOD_PATHS.unary, bodyFile: bodies[16],
        // A long warm-up at the capped rate: a cold grpc-js needs over a second before it keeps up.
        clients, streams: 100, rps: rpsPerClient, durationMs: timing.durationMs * 2, warmupMs: Math.max(timing.warmupMs, 1500),
      });
      const peakKB = rss.stop();
      out.servers[def.name] = res.ok
        ? { reqPerSec: res.report.reqPerSec, peakRssMiB: peakKB / 1024 }
        : { error: res.error };
      progress(`equal-rate memory | ${def.name}: ${res.ok ? `${fmt(res.report.reqPerSec)} req/s, ${fmt(peakKB / 1024)} MiB peak RSS` : res.error}`);
    } finally {
      await proc.stopServer(server);
    }
  }
  return out;
}

/**
 * Peak RSS per point on fresh processes. In the matrix each server is one process for every
 * point, so a point's peak includes what earlier points left (V8 rarely gives its young
 * generation back under load). Here every point gets a new process: one warm-up run, one
 * measured run. And once more with V8's young generation capped (`--max-semi-space-size`,
 * BENCH_SEMI_SPACE_MB, default 2; 0 skips it): a setting users can choose, shown next to the
 * default rather than instead of it. BENCH_FRESH_MEMORY=0 skips the whole section.
 */
async function freshProcessMemory(defs, bodies) {
  if (process.env.BENCH_FRESH_MEMORY === '0') return null;
  const semiSpaceMB = Number(process.env.BENCH_SEMI_SPACE_MB ?? 2);
  const variants = [{ name: 'default', nodeArgs: [] }];
  if (semiSpaceMB > 0) variants.push({ name: `semi-space ${semiSpaceMB} MB`, nodeArgs: [`--max-semi-space-size=${semiSpaceMB}`] });
  const out = { variants: variants.map((v) => ({ name: v.name, nodeArgs: v.nodeArgs })), points: {} };
  for (const point of POINTS) {
    out.points[point.id] = {};
    for (const variant of variants) {
      for (const def of defs) {
        const server = await proc.startServer(def.name, path.join(BENCH_DIR, def.script), {
          cpu: SERVER_CPU, env: { STREAM_COUNT: String(CONFIG.streamCount) }, nodeArgs: variant.nodeArgs,
        });
        try {
          const idleRssMiB = (proc.statusKB(server.pid, 'VmRSS') ?? 0) / 1024;
          const idleYoungGenMiB = (await server.memoryReport())?.youngGenMiB ?? null;
          await runOnce(point, server, 'warmup', bodies);
          const run = await runOnce(point, server, 'measured', bodies);
          const main = point.metrics[0];
          const entry = run.ok
            ? {
              peakRssMiB: run.metrics.peakRssMiB, [main]: run.metrics[main], cpuSecPer100k: run.metrics.cpuSecPer100k,
              lifetimePeakRssMiB: (proc.statusKB(server.pid, 'VmHWM') ?? 0) / 1024, idleRssMiB, idleYoungGenMiB, v8: await server.memoryReport(),
            }
            : { error: run.error };
          (out.points[point.id][variant.name] ??= {})[def.name] = entry;
          progress(`fresh-process memory | ${point.label} | ${variant.name} | ${def.name}: ${describeRun(point, run)}`);
        } finally {
          await proc.stopServer(server);
        }
      }
    }
  }
  return out;
}

function freshMemoryTable(fresh, names) {
  if (!fresh) return '';
  const variants = fresh.variants.map((v) => v.name);
  const header = variants.flatMap((v) => names.map((n) => `${n} ${v}`));
  const rows = POINTS.map((point) => {
    const cells = variants.flatMap((v) => names.map((n) => {
      const entry = fresh.points[point.id]?.[v]?.[n];
      return entry?.peakRssMiB ? fmt(entry.lifetimePeakRssMiB || entry.peakRssMiB) : '-';
    }));
    const main = point.metrics[0];
    const rate = variants.flatMap((v) => names.map((n) => fresh.points[point.id]?.[v]?.[n]?.[main])).map((x) => (x ? fmt(x) : '-'));
    return `| ${point.label} | ${cells.join(' | ')} | ${rate.join(' / ')} |`;
  });
  return [
    '',
    '',
    'Peak RSS MiB per point, each on a fresh process (warm-up run + measured run; the lifetime peak, VmHWM), with V8 defaults and with the young generation capped:',
    '',
    `| point | ${header.join(' | ')} | ${POINTS[0].metrics[0] === 'reqPerSec' ? 'rate (same order)' : 'rate'} |`,
    `|---|${header.map(() => '--:').join('|')}|---|`,
    ...rows,
    '',
  ].join('\n');
}

/**
 * Where each fresh process's peak went (V8 defaults): the idle server (node, protobufjs, the proto,
 * the library), what V8's young generation grew under the load (under sustained load it grows to its
 * maximum whatever the server does, and keeps it while the load lasts), and the rest (old space
 * growth, Buffers, malloc). The floor is a process with nothing but node, protobufjs, proto-loader
 * and the Echo proto loaded.
 */
async function memoryBreakdownTable(fresh, names) {
  if (!fresh) return '';
  const variant = fresh.variants[0].name;
  const rows = POINTS.map((point) => {
    const cells = names.map((n) => {
      const e = fresh.points[point.id]?.[variant]?.[n];
      if (!e?.lifetimePeakRssMiB || !e.v8 || e.idleYoungGenMiB == null) return '-';
      const growth = e.v8.youngGenMiB - e.idleYoungGenMiB;
      const rest = e.lifetimePeakRssMiB - e.idleRssMiB - growth;
      return `${fmt(e.lifetimePeakRssMiB)} = ${fmt(e.idleRssMiB)} + ${fmt(growth)} + ${fmt(rest)} (${fmt(e.v8.arrayBuffersMiB)})`;
    });
    return `| ${point.label} | ${cells.join(' | ')} |`;
  });
  const floor = await proc.runCommand(process.execPath, ['-e', [
    "require('./bench/lib/proto').loadEchoPackage((def) => ({ grpc: { examples: { echo: def } } }));",
    "setTimeout(() => console.log(process.memoryUsage().rss / 1048576), 200);",
  ].join(' ')], { cwd: REPO_ROOT, timeoutMs: 30_000 });
  return [
    '',
    `Where the peak went, V8 defaults, MiB: peak = idle server + young-generation growth + the rest (in brackets: uncollected Buffers outside the heap, sampled peak). Floor: node with protobufjs, proto-loader and the Echo proto loaded, serving nothing: ${fmt(Number(floor.stdout))} MiB.`,
    '',
    `| point | ${names.join(' | ')} |`,
    `|---|${names.map(() => '--:').join('|')}|`,
    ...rows,
    '',
  ].join('\n');
}

function equalRateTable(equalRate, names) {
  if (!equalRate) return '';
  const base = equalRate.servers[BASELINE]?.peakRssMiB;
  const cells = (value) => names.map((n) => value(equalRate.servers[n]));
  const ratio = (n) => (base && equalRate.servers[n]?.peakRssMiB ? `${(equalRate.servers[n].peakRssMiB / base).toFixed(2)}x` : '-');
  return [
    '',
    '',
    `Memory at equal load: -c50 -m100 capped at ${fmt(equalRate.targetReqPerSec)} req/s (${BASELINE}'s measured rate), fresh processes:`,
    '',
    `| metric | ${names.join(' | ')} | ${names.filter((n) => n !== BASELINE).map((n) => `${n} / ${BASELINE}`).join(' | ')} |`,
    `|---|${names.map(() => '--:').join('|')}|${names.filter((n) => n !== BASELINE).map(() => '--:').join('|')}|`,
    `| req/s | ${cells((s) => (s?.reqPerSec ? fmt(s.reqPerSec) : '-')).join(' | ')} | ${names.filter((n) => n !== BASELINE).map(() => '').join(' | ')} |`,
    `| peak RSS MiB ↓ | ${cells((s) => (s?.peakRssMiB ? fmt(s.peakRssMiB) : '-')).join(' | ')} | ${names.filter((n) => n !== BASELINE).map(ratio).join(' | ')} |`,
    '',
  ].join('\n');
}

// --------------------------------------------------------------- progress --

const startedAt = Date.now();
const elapsed = () => `${((Date.now() - startedAt) / 1000).toFixed(0).padStart(3)}s`;
const progress = (msg) => process.stderr.write(`[bench ${elapsed()}] ${msg}\n`);
const warn = (msg) => process.stderr.write(`[bench ${elapsed()}] WARNING: ${msg}\n`);

// ---------------------------------------------------------------- servers --

function selectServers() {
  const only = (process.env.BENCH_ONLY || '').split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = only.filter((n) => !SERVERS.some((s) => s.name === n));
  if (unknown.length) {
    throw userError(`BENCH_ONLY: unknown server(s) ${unknown.join(', ')}; known: ${SERVERS.map((s) => s.name).join(', ')}`);
  }
  return only.length ? SERVERS.filter((s) => only.includes(s.name)) : SERVERS.slice();
}

/**
 * Builds the library (tsc) and checks that dist exports Server. Returns null
 * on success or a reason to skip "ours" (the library is still being written).
 */
async function buildOurs() {
  progress('building the library: npm run build');
  const build = await proc.runCommand('npm', ['run', 'build'], { cwd: REPO_ROOT, timeoutMs: 180_000 });
  if (build.timedOut || build.error || build.code !== 0) {
    const tail = (build.stdout + build.stderr).trim().split('\n').slice(-10).join('\n  ');
    return `npm run build failed (${build.timedOut ? 'timed out' : build.error ? build.error.message : `exit ${build.code}`}):\n  ${tail}`;
  }
  const probe = await proc.runCommand(process.execPath, ['-e', [
    "const m = require('./dist/index.js');",
    "process.exit(typeof m.Server === 'function' && m.ServerCredentials ? 0 : 3);",
  ].join(' ')], { cwd: REPO_ROOT, timeoutMs: 30_000 });
  if (probe.code === 3) return 'dist/index.js does not export Server and ServerCredentials yet';
  if (probe.code !== 0) {
    return `dist/index.js cannot be loaded: ${(probe.stderr.trim().split('\n').find((l) => /Error/.test(l)) || probe.stderr.trim()).slice(0, 300)}`;
  }
  return null;
}

/**
 * Verifies a server really speaks gRPC: h2load only counts HTTP 200, which a
 * server can send with a non-zero grpc-status. Returns null or an error.
 */
async function sanityCheck(server, bodies) {
  // 1. nghttp (same h2c prior-knowledge path as h2load): :status 200, an echo
  //    of the same length, and grpc-status 0 in trailers after the DATA.
  if (HAS_NGHTTP) {
    for (const [size, file] of Object.entries(bodies)) {
      const [cmd, args] = proc.pinned(LOAD_CPU, 'nghttp', [
        '-nv', '-d', file, '-H', 'content-type: application/grpc', '-H', 'te: trailers',
        `http://127.0.0.1:${server.port}${METHOD_PATHS.unary}`,
      ]);
      const res = await proc.runCommand(cmd, args, { timeoutMs: 15_000 });
      const out = res.stdout;
      const status = /recv \(stream_id=\d+\) :status: (\d+)/.exec(out);
      const dataLen = [...out.matchAll(/recv DATA frame <length=(\d+)/g)].reduce((a, m) => a + Number(m[1]), 0);
      const lastData = out.lastIndexOf('recv DATA frame');
      const grpcStatus = /recv \(stream_id=\d+\) grpc-status: (\d+)/.exec(out.slice(Math.max(lastData, 0)));
      const expectLen = fs.statSync(file).size;
      if (res.code !== 0 || !status || status[1] !== '200') return `nghttp ${size} B: HTTP status ${status ? status[1] : 'missing'} (exit ${res.code})`;
      if (dataLen !== expectLen) return `nghttp ${size} B: response body ${dataLen} bytes, expected ${expectLen}`;
      if (lastData < 0 || !grpcStatus) return `nghttp ${size} B: no grpc-status trailer after the response data`;
      if (grpcStatus[1] !== '0') return `nghttp ${size} B: grpc-status ${grpcStatus[1]}`;
    }
  } else {
    warn('nghttp not found; trailers are checked with the grpc-js client only');
  }
  // 2. grpc-js client: unary content + status for both sizes, and bidi.
  const check = await streamClient(server, ['--mode', 'check', '--size', Object.keys(bodies).join(',')], 15_000);
  return check.ok ? null : `grpc-js client check: ${check.error}`;
}

// ------------------------------------------------------------------- runs --

/** Runs bench/stream-client.js pinned to the load CPU; resolves its JSON result. */
async function streamClient(server, extraArgs, capMs) {
  const [cmd, args] = proc.pinned(LOAD_CPU, process.execPath, [
    STREAM_CLIENT, '--target', `127.0.0.1:${server.port}`, '--cap-ms', String(capMs), ...extraArgs,
  ]);
  const res = await proc.runCommand(cmd, args, { timeoutMs: capMs + 5000 });
  const line = res.stdout.trim().split('\n').pop();
  try {
    return JSON.parse(line);
  } catch {
    return { ok: false, error: `stream client gave no result (exit ${res.code}${res.timedOut ? ', killed' : ''}): ${res.stderr.trim().split('\n').slice(-3).join(' | ')}` };
  }
}

async function runH2loadOnce(point, server, timing, bodies) {
  const pid = server.pid;
  const marks = {};
  const cpuBefore = proc.cpuSeconds(pid);
  const rss = proc.sampleRss(pid);
  const res = await h2load.run({
    cpu: LOAD_CPU, port: server.port, path: METHOD_PATHS.unary, bodyFile: bodies[point.size],
    clients: point.clients, streams: point.streams, ...timing,
    onMainStart: () => { marks.start = proc.cpuSeconds(pid); },
    onMainEnd: () => { marks.end = proc.cpuSeconds(pid); },
  });
  const peakKB = rss.stop();
  const cpuAfter = proc.cpuSeconds(pid);
  if (!res.ok) {
    // Keep enough of h2load's output to diagnose the failure from latest.json.
    return { ok: false, error: res.error, h2load: res.report, outputTail: res.raw.trim().split('\n').slice(-12).join('\n') };
  }
  const r = res.report;
  // CPU per call over exactly the measured window when h2load's marker lines
  // arrived live; otherwise whole-run CPU over an estimate of all calls made.
  let cpuSecPer100k = null;
  let cpuApprox = false;
  if (res.sawMarkers && marks.start != null && marks.end != null) {
    cpuSecPer100k = ((marks.end - marks.start) / r.requests.succeeded) * 1e5;
  } else if (cpuBefore != null && cpuAfter != null) {
    cpuApprox = true;
    cpuSecPer100k = ((cpuAfter - cpuBefore) / (r.reqPerSec * (timing.warmupMs + timing.durationMs) / 1000)) * 1e5;
  }
  return {
    ok: true,
    metrics: {
      reqPerSec: r.reqPerSec,
      latencyMeanMs: r.latencyMs ? r.latencyMs.mean : null,
      mbPerSec: r.mbPerSec,
      bytesPerCall: r.traffic && r.requests.done ? r.traffic.totalBytes / r.requests.done : null,
      cpuSecPer100k,
      peakRssMiB: peakKB / 1024,
    },
    cpuApprox,
    h2load: r,
  };
}

async function runStreamOnce(point, server, timing) {
  const cpuBefore = proc.cpuSeconds(server.pid);
  const rss = proc.sampleRss(server.pid);
  const capMs = timing.warmupMs + timing.durationMs + 10_000;
  const out = await streamClient(server, [
    '--mode', point.mode, '--size', String(point.size), '--expect', String(CONFIG.streamCount),
    '--warmup-ms', String(timing.warmupMs), '--duration-ms', String(timing.durationMs),
  ], capMs);
  const peakKB = rss.stop();
  const cpuAfter = proc.cpuSeconds(server.pid);
  if (!out.ok) return { ok: false, error: out.error };
  // The server is idle while the client starts, so whole-process CPU over all
  // messages of the client's lifetime (warm-up included) is a fair per-message cost.
  const cpuSecPer100k = cpuBefore != null && cpuAfter != null && out.totalMessages > 0
    ? ((cpuAfter - cpuBefore) / out.totalMessages) * 1e5 : null;
  return {
    ok: true,
    metrics: {
      [point.mode === 'bidi' ? 'roundTripsPerSec' : 'msgsPerSec']: out.rate,
      cpuSecPer100k,
      peakRssMiB: peakKB / 1024,
    },
    client: out,
  };
}

async function runOnce(point, server, phase, bodies) {
  if (server.exited) {
    return { ok: false, error: `server exited earlier (code ${server.exitInfo.code}, signal ${server.exitInfo.signal})` };
  }
  const timing = CONFIG[point.kind][phase === 'warmup' ? 'warmupRun' : 'measured'];
  const foreign = proc.foreignLoad(server.pid);
  const run = point.kind === 'h2load'
    ? await runH2loadOnce(point, server, timing, bodies)
    : await runStreamOnce(point, server, timing);
  // Share of the machine used by other people's processes during this run:
  // the noise indicator printed with every run and summarised per point.
  const share = foreign.stop();
  run.otherLoadPct = share == null ? null : share * 100;
  return run;
}

function describeRun(point, run) {
  if (!run.ok) return `FAILED: ${run.error}`;
  const main = point.metrics[0];
  const m = run.metrics;
  const parts = [`${fmt(m[main])} ${M[main].label}`];
  if (m.latencyMeanMs != null) parts.push(`${fmt(m.latencyMeanMs)} ms mean`);
  if (m.cpuSecPer100k != null) parts.push(`${fmt(m.cpuSecPer100k)} CPU s/100k`);
  parts.push(`${fmt(m.peakRssMiB)} MiB RSS`);
  if (run.otherLoadPct != null) parts.push(`other load ${run.otherLoadPct.toFixed(0)}%`);
  return parts.join(', ');
}

// ---------------------------------------------------------------- results --

function aggregate(point, runsByServer, serverNames) {
  const medians = {};
  const spread = {}; // min/max over the measured runs, to judge the noise
  for (const name of serverNames) {
    const ok = (runsByServer[name] || []).filter((r) => r.ok);
    medians[name] = {};
    spread[name] = {};
    for (const key of point.metrics) {
      const values = ok.map((r) => r.metrics[key]);
      medians[name][key] = M[key].aggregate === 'max' ? max(values) : median(values);
      spread[name][key] = { min: min(values), max: max(values), n: values.filter((v) => v != null).length };
    }
  }
  const ratios = {};
  if (medians[BASELINE]) {
    for (const name of serverNames) {
      if (name === BASELINE) continue;
      ratios[name] = {};
      for (const key of point.metrics) ratios[name][key] = ratio(medians[name][key], medians[BASELINE][key]);
    }
  }
  return { medians, spread, ratios };
}

function buildTable(points, serverNames) {
  const others = medianRatioColumns(serverNames);
  const header = ['point', 'metric', ...serverNames, ...others.map((n) => `${n} / ${BASELINE}`)];
  const rows = [];
  for (const p of points) {
    p.tableMetrics.forEach((key, i) => {
      const arrow = M[key].better === 'higher' ? '↑' : '↓';
      rows.push([
        i === 0 ? p.label : '',
        `${M[key].label} ${arrow}`,
        ...serverNames.map((n) => fmt(p.medians[n]?.[key])),
        ...others.map((n) => fmtRatio(p.ratios[n]?.[key])),
      ]);
    });
  }
  return markdownTable(header, rows);
}

function medianRatioColumns(serverNames) {
  return serverNames.includes(BASELINE) ? serverNames.filter((n) => n !== BASELINE) : [];
}

/** One line saying how much other processes loaded the machine per point. */
function noiseSummary(points) {
  const parts = points.map((p) => `${p.id} ${fmtPct(p.noise.medianOtherLoadPct)} (max ${fmtPct(p.noise.maxOtherLoadPct)})`);
  const worst = max(points.map((p) => p.noise.medianOtherLoadPct));
  const verdict = worst != null && worst > 10
    ? 'WARNING: other processes were busy; treat absolute numbers (and to a lesser degree ratios) as noisy.'
    : 'The machine was otherwise quiet.';
  return `Other processes' share of all CPUs during measured runs (median): ${parts.join(', ')}.\n${verdict}`;
}

function fmtPct(x) {
  return x == null ? 'n/a' : `${x.toFixed(0)}%`;
}

function machineInfo(h2loadVersion) {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0] ? cpus[0].model : 'unknown',
    cpuCount: cpus.length,
    nodeVersion: process.version,
    h2loadVersion,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    totalMemMiB: Math.round(os.totalmem() / 1048576),
    loadAvgAtStart: os.loadavg().map((x) => Number(x.toFixed(2))),
    pinning: proc.HAS_TASKSET
      ? { servers: `taskset -c ${SERVER_CPU}`, loadAndRunner: `taskset -c ${LOAD_CPU}` } : 'none (taskset missing)',
  };
}

// ------------------------------------------------------------------- main --

const HAS_NGHTTP = require('node:child_process').spawnSync('nghttp', ['--version'], { stdio: 'ignore' }).status === 0;

const bodyFiles = [];
process.on('exit', () => { for (const f of bodyFiles) fs.rmSync(f, { force: true }); });

async function main() {
  proc.installCleanup(() => process.stderr.write('\n[bench] interrupted; stopping servers\n'));

  const h2loadVersion = h2load.version();
  if (!h2loadVersion) throw userError('h2load not found (Debian/Ubuntu: apt-get install nghttp2-client)');
  if (!proc.HAS_TASKSET) warn('taskset not found; servers and load generators are NOT pinned');
  else if (!proc.pinSelf(LOAD_CPU)) warn(`could not pin the runner to CPU ${LOAD_CPU}`);
  if (os.cpus().length < 2) warn('fewer than 2 CPUs; server and load generator share a core');

  const selected = selectServers();
  const skipped = [];
  const failures = [];
  progress(`servers: ${selected.map((s) => s.name).join(', ')}; ${CONFIG.rounds} round(s)${QUICK ? ' (BENCH_QUICK)' : ''}; proto ${path.relative(REPO_ROOT, PROTO_PATH)}`);

  let candidates = selected;
  if (selected.some((s) => s.needsBuild)) {
    const reason = await buildOurs();
    if (reason) {
      warn(`skipping "ours": ${reason}`);
      skipped.push({ server: 'ours', reason });
      candidates = candidates.filter((s) => !s.needsBuild);
    }
  }

  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const bodies = {};
  for (const size of [...new Set(POINTS.filter((p) => p.kind === 'h2load').map((p) => p.size))]) {
    const file = path.join(RESULTS_DIR, `body-${size}.tmp`); // *.tmp is git-ignored
    fs.writeFileSync(file, echoRequestBody(size));
    bodyFiles.push(file);
    bodies[size] = file;
  }

  // Start servers one at a time, then sanity-check each.
  const servers = [];
  for (const def of candidates) {
    try {
      const server = await proc.startServer(def.name, path.join(BENCH_DIR, def.script), {
        cpu: SERVER_CPU, env: { STREAM_COUNT: String(CONFIG.streamCount) },
        onUnexpectedExit: (s) => warn(`${s.name} (pid ${s.pid}) exited unexpectedly: code ${s.exitInfo.code}, signal ${s.exitInfo.signal}; its stderr ends with:\n${s.exitInfo.stderrTail || '(empty)'}`),
      });
      progress(`started ${def.name} (pid ${server.pid}, port ${server.port})`);
      const problem = await sanityCheck(server, bodies);
      if (problem) {
        warn(`skipping ${def.name}: sanity check failed: ${problem}`);
        skipped.push({ server: def.name, reason: `sanity check failed: ${problem}` });
        failures.push(`${def.name} sanity`);
        await proc.stopServer(server);
        continue;
      }
      progress(`${def.name}: sanity OK (grpc-status 0 in trailers, echo verified)`);
      servers.push(server);
    } catch (err) {
      warn(`skipping ${def.name}: ${err.message}`);
      skipped.push({ server: def.name, reason: err.message });
      failures.push(`${def.name} start`);
    }
  }
  if (servers.length === 0) throw userError('no server could be benchmarked');
  const names = servers.map((s) => s.name);

  // The matrix: per point, one warm-up run per server, then alternating rounds.
  const totalRuns = POINTS.length * servers.length * (1 + CONFIG.rounds);
  let done = 0;
  const results = [];
  for (const point of POINTS) {
    const runs = Object.fromEntries(names.map((n) => [n, []]));
    const warmups = {};
    for (let round = 0; round <= CONFIG.rounds; round++) {
      const phase = round === 0 ? 'warmup' : 'measured';
      for (const server of servers) {
        const run = await runOnce(point, server, phase, bodies);
        done++;
        const tag = phase === 'warmup' ? 'warm-up' : `round ${round}/${CONFIG.rounds}`;
        progress(`[${done}/${totalRuns}] ${point.label} | ${server.name} | ${tag}: ${describeRun(point, run)}`);
        if (phase === 'warmup') warmups[server.name] = run;
        else {
          runs[server.name].push(run);
          if (!run.ok) failures.push(`${point.id} ${server.name} round ${round}`);
        }
      }
    }
    const loads = Object.values(runs).flat().map((r) => r.otherLoadPct);
    const noise = { medianOtherLoadPct: median(loads), maxOtherLoadPct: max(loads) };
    results.push({ ...point, runs, warmups, noise, ...aggregate(point, runs, names) });
  }

  // Lifetime peak RSS (VmHWM) before shutting the servers down.
  const serverInfo = {};
  for (const s of servers) {
    serverInfo[s.name] = {
      script: path.relative(REPO_ROOT, path.join(BENCH_DIR, SERVERS.find((d) => d.name === s.name).script)),
      lifetimePeakRssMiB: s.exited ? null : (proc.statusKB(s.pid, 'VmHWM') ?? 0) / 1024,
      exitedEarly: s.exited ? s.exitInfo : false,
    };
  }
  await Promise.all(servers.map((s) => proc.stopServer(s)));

  const equalRate = await equalRateMemory(servers.map((s) => SERVERS.find((d) => d.name === s.name)), results, bodies);

  const fresh = await freshProcessMemory(servers.map((s) => SERVERS.find((d) => d.name === s.name)), bodies);

  const table = buildTable(results, names) + equalRateTable(equalRate, names) + freshMemoryTable(fresh, names) + await memoryBreakdownTable(fresh, names);
  const wallSeconds = (Date.now() - startedAt) / 1000;
  const c50 = results.find((p) => p.id === 'unary-16B-c50-m100');
  const out = {
    date: new Date().toISOString(),
    machine: machineInfo(h2loadVersion),
    config: { ...CONFIG, only: process.env.BENCH_ONLY || null, proto: path.relative(REPO_ROOT, PROTO_PATH), baseline: BASELINE },
    servers: serverInfo,
    skipped,
    failures,
    summary: {
      peakRssMiB_c50m100: c50 ? Object.fromEntries(names.map((n) => [n, c50.medians[n].peakRssMiB])) : null,
      cpuSecPer100k: Object.fromEntries(results.map((p) => [p.id, Object.fromEntries(names.map((n) => [n, p.medians[n].cpuSecPer100k]))])),
      // Noise indicator: median share of all CPUs used by other processes.
      otherLoadPct: Object.fromEntries(results.map((p) => [p.id, p.noise.medianOtherLoadPct])),
    },
    equalRateMemory: equalRate,
    freshProcessMemory: fresh,
    points: results.map((p) => ({
      id: p.id, label: p.label, kind: p.kind,
      params: p.kind === 'h2load'
        ? { messageBytes: p.size, clients: p.clients, maxConcurrentStreams: p.streams }
        : { mode: p.mode, messageBytes: p.size, streamCount: p.mode === 'server-stream' ? CONFIG.streamCount : undefined },
      metrics: Object.fromEntries(p.metrics.map((k) => [k, M[k]])),
      medians: p.medians,
      spread: p.spread,
      ratiosToBaseline: p.ratios,
      noise: p.noise,
      runs: p.runs,
      warmups: p.warmups,
    })),
    table,
    wallSeconds,
  };
  fs.writeFileSync(path.join(RESULTS_DIR, 'latest.json'), JSON.stringify(out, null, 2) + '\n');

  process.stdout.write(`\n${table}\n\n`);
  process.stdout.write('Medians of alternating rounds (peak RSS: max). ↑ higher is better, ↓ lower is better;\n');
  process.stdout.write(`ratios are server / ${BASELINE}. Machine: ${out.machine.cpuModel} x${out.machine.cpuCount}, node ${process.version}, ${h2loadVersion}.\n`);
  process.stdout.write(`${noiseSummary(results)}\n`);
  for (const s of skipped) process.stdout.write(`Skipped ${s.server}: ${s.reason.split('\n')[0]}\n`);
  process.stdout.write(`Wrote ${path.relative(REPO_ROOT, path.join(RESULTS_DIR, 'latest.json'))} (wall time ${wallSeconds.toFixed(0)} s)\n`);
  if (failures.length) {
    warn(`${failures.length} failure(s): ${failures.join('; ')}`);
    process.exitCode = 1;
  }
}

/** An error whose message is the whole story (no stack trace needed). */
function userError(message) {
  return Object.assign(new Error(message), { userFacing: true });
}

main().catch((err) => {
  process.stderr.write(`[bench] fatal: ${err.userFacing ? err.message : err.stack || err}\n`);
  proc.killAll();
  process.exitCode = 1;
});
