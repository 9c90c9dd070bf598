'use strict';
// Fresh-process peak RSS of chosen unary points, for same-run A/B comparisons of builds:
//
//   node bench/fresh-rss.js                                  # dist/, every unary point, 3 rounds
//   FRESH_POINTS=64k,c50 FRESH_DISTS=main=/path/to/dist,new=dist FRESH_ROUNDS=4 node bench/fresh-rss.js
//   FRESH_NODE_ARGS=--max-semi-space-size=2 node bench/fresh-rss.js
//   FRESH_DISTS=ours=dist,grpc-js=@grpc/grpc-js node bench/fresh-rss.js   # beside the grpc-js server
//   FRESH_RPS=2000 FRESH_POINTS=64k node bench/fresh-rss.js                # at a capped rate (req/s)
//
// Each round starts a new server process per build (alternating A B, A B, ...), runs the point's
// warm-up run and measured run (as `npm run bench`'s fresh-process table does) and reports the
// process's lifetime peak RSS (VmHWM), req/s and server CPU per 100k calls; then medians. The
// builds are given as name=path pairs (a path to a built dist/ directory whose index.js exports
// Server); servers, CPUs and h2load settings are those of bench/run.js.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const proc = require('./lib/proc');
const h2load = require('./lib/h2load');
const { median, fmt } = require('./lib/stats');
const { echoRequestBody, METHOD_PATHS, REPO_ROOT } = require('./lib/proto');

const SERVER_CPU = 1;
const LOAD_CPU = 0;
const POINTS = {
  c1: { label: 'unary 16 B -c1 -m1', size: 16, clients: 1, streams: 1 },
  c10: { label: 'unary 16 B -c10 -m10', size: 16, clients: 10, streams: 10 },
  c50: { label: 'unary 16 B -c50 -m100', size: 16, clients: 50, streams: 100 },
  '64k': { label: 'unary 64 KiB -c10 -m10', size: 65536, clients: 10, streams: 10 },
};
const WARMUP = { warmupMs: 500, durationMs: 1000 };
const MEASURED = { warmupMs: 300, durationMs: 1200 };

function builds() {
  const spec = process.env.FRESH_DISTS || `dist=${path.join(REPO_ROOT, 'dist')}`;
  return spec.split(',').map((pair) => {
    const [name, dir] = pair.split('=');
    // `@grpc/grpc-js` as the path runs the grpc-js server instead: the baseline, on the same footing.
    if (dir === '@grpc/grpc-js') return { name, dir: null, script: 'grpc-js-server.js' };
    return { name, dir: path.resolve(REPO_ROOT, dir), script: 'h2grpc-server.js' };
  });
}

async function runPoint(point, server, timing, bodyFile) {
  const marks = {};
  const res = await h2load.run({
    cpu: LOAD_CPU, port: server.port, path: METHOD_PATHS.unary, bodyFile,
    clients: point.clients, streams: point.streams, ...timing,
    // FRESH_RPS caps the whole load (h2load --rps is per client): memory at a chosen equal rate.
    ...(process.env.FRESH_RPS ? { rps: Math.max(1, Math.floor(Number(process.env.FRESH_RPS) / point.clients)) } : {}),
    onMainStart: () => { marks.start = proc.cpuSeconds(server.pid); },
    onMainEnd: () => { marks.end = proc.cpuSeconds(server.pid); },
  });
  if (!res.ok) return { error: res.error };
  const calls = res.report.requests.succeeded;
  const cpu = marks.end !== undefined && marks.start !== undefined ? marks.end - marks.start : null;
  return { reqPerSec: res.report.reqPerSec, cpuSecPer100k: cpu === null ? null : (cpu / calls) * 1e5 };
}

async function main() {
  proc.installCleanup();
  const pointIds = (process.env.FRESH_POINTS || 'c1,c10,c50,64k').split(',');
  const rounds = Number(process.env.FRESH_ROUNDS || 3);
  const nodeArgs = (process.env.FRESH_NODE_ARGS || '').split(' ').filter(Boolean);
  const list = builds();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fresh-rss-'));
  const bodies = {};
  for (const size of [16, 65536]) {
    bodies[size] = path.join(tmp, `body-${size}.bin`);
    fs.writeFileSync(bodies[size], echoRequestBody(size));
  }
  const results = {};
  for (const id of pointIds) {
    const point = POINTS[id];
    if (!point) throw new Error(`unknown point ${id}; known: ${Object.keys(POINTS).join(', ')}`);
    results[id] = Object.fromEntries(list.map((b) => [b.name, []]));
    for (let round = 0; round < rounds; round++) {
      for (const build of list) {
        const server = await proc.startServer(build.name, path.join(__dirname, 'servers', build.script), {
          cpu: SERVER_CPU, env: build.dir ? { H2GRPC_DIST: build.dir } : {}, nodeArgs,
        });
        try {
          const idle = (proc.statusKB(server.pid, 'VmRSS') ?? 0) / 1024;
          const idleYoung = (await server.memoryReport())?.youngGenMiB ?? null;
          await runPoint(point, server, WARMUP, bodies[point.size]);
          const run = await runPoint(point, server, MEASURED, bodies[point.size]);
          const peak = (proc.statusKB(server.pid, 'VmHWM') ?? 0) / 1024;
          const peakYoung = (await server.memoryReport())?.youngGenMiB ?? null;
          // What V8's young generation grew under the load (idle, it is already part of `idle`).
          const young = peakYoung !== null && idleYoung !== null ? peakYoung - idleYoung : null;
          results[id][build.name].push({ ...run, peakRssMiB: peak, idleRssMiB: idle, youngGenMiB: young });
          process.stderr.write(`${id} ${build.name} round ${round + 1}: ${run.error ?? `${fmt(run.reqPerSec)} req/s, ${fmt(run.cpuSecPer100k)} CPU s/100k`}, peak ${fmt(peak)} MiB (idle ${fmt(idle)}, young generation grew ${fmt(young)})\n`);
        } finally {
          await proc.stopServer(server);
        }
      }
    }
  }
  const lines = [`| point | build | peak RSS MiB (median; runs) | idle RSS MiB | young generation growth MiB | req/s | CPU s/100k |`, `|---|---|--:|--:|--:|--:|--:|`];
  for (const id of pointIds) {
    for (const build of list) {
      const runs = results[id][build.name].filter((r) => !r.error);
      const peaks = runs.map((r) => r.peakRssMiB);
      lines.push(`| ${POINTS[id].label} | ${build.name} | ${fmt(median(peaks))} (${peaks.map((p) => p.toFixed(0)).join(', ')}) | ${fmt(median(runs.map((r) => r.idleRssMiB)))} | ${fmt(median(runs.map((r) => r.youngGenMiB).filter((x) => x !== null)))} | ${fmt(median(runs.map((r) => r.reqPerSec)))} | ${fmt(median(runs.map((r) => r.cpuSecPer100k).filter((x) => x !== null)))} |`);
    }
  }
  process.stdout.write(`${lines.join('\n')}\n${nodeArgs.length ? `node ${nodeArgs.join(' ')}\n` : ''}`);
  fs.rmSync(tmp, { recursive: true, force: true });
}

main().catch((err) => {
  process.stderr.write(`[fresh-rss] fatal: ${err.stack || err}\n`);
  proc.killAll();
  process.exitCode = 1;
});
