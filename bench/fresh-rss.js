'use strict';
// Fresh-process peak RSS of chosen unary points, for same-run A/B comparisons of builds:
//
//   node bench/fresh-rss.js                                  # dist/, every unary point, 3 rounds
//   FRESH_POINTS=64k,c50 FRESH_DISTS=main=/path/to/dist,new=dist FRESH_ROUNDS=4 node bench/fresh-rss.js
//   FRESH_NODE_ARGS=--max-semi-space-size=2 node bench/fresh-rss.js
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
    return { name, dir: path.resolve(REPO_ROOT, dir) };
  });
}

async function runPoint(point, server, timing, bodyFile) {
  const marks = {};
  const res = await h2load.run({
    cpu: LOAD_CPU, port: server.port, path: METHOD_PATHS.unary, bodyFile,
    clients: point.clients, streams: point.streams, ...timing,
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
  const script = path.join(__dirname, 'servers', 'h2grpc-server.js');
  const results = {};
  for (const id of pointIds) {
    const point = POINTS[id];
    if (!point) throw new Error(`unknown point ${id}; known: ${Object.keys(POINTS).join(', ')}`);
    results[id] = Object.fromEntries(list.map((b) => [b.name, []]));
    for (let round = 0; round < rounds; round++) {
      for (const build of list) {
        const server = await proc.startServer(build.name, script, { cpu: SERVER_CPU, env: { H2GRPC_DIST: build.dir }, nodeArgs });
        try {
          await runPoint(point, server, WARMUP, bodies[point.size]);
          const run = await runPoint(point, server, MEASURED, bodies[point.size]);
          const peak = (proc.statusKB(server.pid, 'VmHWM') ?? 0) / 1024;
          results[id][build.name].push({ ...run, peakRssMiB: peak });
          process.stderr.write(`${id} ${build.name} round ${round + 1}: ${run.error ?? `${fmt(run.reqPerSec)} req/s, ${fmt(run.cpuSecPer100k)} CPU s/100k`}, peak ${fmt(peak)} MiB\n`);
        } finally {
          await proc.stopServer(server);
        }
      }
    }
  }
  const lines = [`| point | build | peak RSS MiB (median; runs) | req/s | CPU s/100k |`, `|---|---|--:|--:|--:|`];
  for (const id of pointIds) {
    for (const build of list) {
      const runs = results[id][build.name].filter((r) => !r.error);
      const peaks = runs.map((r) => r.peakRssMiB);
      lines.push(`| ${POINTS[id].label} | ${build.name} | ${fmt(median(peaks))} (${peaks.map((p) => p.toFixed(0)).join(', ')}) | ${fmt(median(runs.map((r) => r.reqPerSec)))} | ${fmt(median(runs.map((r) => r.cpuSecPer100k).filter((x) => x !== null)))} |`);
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
