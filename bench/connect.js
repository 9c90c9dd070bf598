'use strict';
// Connect-ES router on our transport vs the same router on connect-node (node:http2): unary
// 16 B over the gRPC protocol, h2load -c10 -m10, calls/s and server CPU per call side by side.
//
//   node bench/connect.js                 # 5 alternating rounds (~1 min)
//   BENCH_ROUNDS=3 node bench/connect.js
//
// Servers are pinned to CPU 1, h2load and this runner to CPU 0 (as bench/run.js). Before the
// rounds, one raw node:http2 call per server must come back with grpc-status 0 (h2load only
// counts HTTP 200). Results: a Markdown table on stdout, everything in bench/results/connect-latest.json.

const fs = require('node:fs');
const http2 = require('node:http2');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const proc = require('./lib/proc');
const h2load = require('./lib/h2load');
const { METHOD_PATHS, echoRequestBody } = require('./lib/proto');

const SERVER_CPU = 1;
const LOAD_CPU = 0;
const ROUNDS = Number(process.env.BENCH_ROUNDS || 5);
const TIMING = { durationMs: 3000, warmupMs: 1000 };
const SERVERS = [
  { name: 'connect-ours', script: 'servers/connect-h2grpc-server.js' },
  { name: 'connect-node', script: 'servers/connect-node-server.js' },
];

const progress = (line) => process.stderr.write(`${line}\n`);
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** One unary call over raw node:http2: resolves with its grpc-status trailer. */
function sanity(port, body) {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const request = session.request({ ':method': 'POST', ':path': METHOD_PATHS.unary, 'content-type': 'application/grpc', te: 'trailers' });
    let status = null;
    request.on('trailers', (trailers) => (status = trailers['grpc-status']));
    request.on('response', (headers) => (status = headers['grpc-status'] ?? status));
    request.resume();
    request.on('end', () => {
      session.close();
      resolve(status);
    });
    request.on('error', reject);
    request.end(body);
  });
}

async function once(server, bodyFile) {
  const marks = {};
  const res = await h2load.run({
    cpu: LOAD_CPU, port: server.port, path: METHOD_PATHS.unary, bodyFile, clients: 10, streams: 10, ...TIMING,
    onMainStart: () => { marks.start = proc.cpuSeconds(server.pid); },
    onMainEnd: () => { marks.end = proc.cpuSeconds(server.pid); },
  });
  if (!res.ok) throw new Error(`${server.name}: ${res.error}`);
  const calls = res.report.requests.succeeded;
  const cpuUsPerCall = res.sawMarkers && marks.start != null && marks.end != null ? ((marks.end - marks.start) / calls) * 1e6 : null;
  return { reqPerSec: res.report.reqPerSec, cpuUsPerCall, latencyMeanMs: res.report.latencyMs?.mean ?? null };
}

async function main() {
  proc.installCleanup();
  proc.pinSelf(LOAD_CPU);
  if (!h2load.version()) throw new Error('h2load not found (Debian: nghttp2-client)');
  if (process.env.BENCH_NO_BUILD !== '1') {
    progress('building dist/ ...');
    if (spawnSync('npm', ['run', 'build'], { cwd: path.join(__dirname, '..'), stdio: 'ignore' }).status !== 0) throw new Error('npm run build failed');
  }
  const body = echoRequestBody(16);
  const bodyFile = path.join(os.tmpdir(), `h2grpc-connect-bench-${process.pid}.bin`);
  fs.writeFileSync(bodyFile, body);
  const started = [];
  try {
    for (const def of SERVERS) {
      const server = await proc.startServer(def.name, path.join(__dirname, def.script), { cpu: SERVER_CPU });
      started.push(server);
      const status = await sanity(server.port, body);
      if (status !== '0') throw new Error(`${def.name}: sanity call ended with grpc-status ${status}`);
    }
    const runs = Object.fromEntries(SERVERS.map((def) => [def.name, []]));
    for (const server of started) await once(server, bodyFile); // warm-up, discarded
    for (let round = 0; round < ROUNDS; round++) {
      for (const server of started) {
        const result = await once(server, bodyFile);
        runs[server.name].push(result);
        progress(`round ${round + 1}/${ROUNDS} ${server.name}: ${Math.round(result.reqPerSec)} calls/s, ${result.cpuUsPerCall?.toFixed(1)} µs CPU/call`);
      }
    }
    const medians = Object.fromEntries(
      Object.entries(runs).map(([name, list]) => [
        name,
        { reqPerSec: median(list.map((r) => r.reqPerSec)), cpuUsPerCall: median(list.map((r) => r.cpuUsPerCall ?? NaN)) },
      ]),
    );
    const ours = medians['connect-ours'];
    const theirs = medians['connect-node'];
    console.log('| unary 16 B, gRPC protocol, h2load -c10 -m10 | calls/s | server CPU µs/call |');
    console.log('|---|---|---|');
    for (const [name, m] of Object.entries(medians)) console.log(`| ${name} | ${Math.round(m.reqPerSec)} | ${m.cpuUsPerCall.toFixed(1)} |`);
    console.log(`| ratio ours / connect-node | ${(ours.reqPerSec / theirs.reqPerSec).toFixed(2)} | ${(ours.cpuUsPerCall / theirs.cpuUsPerCall).toFixed(2)} |`);
    const out = { date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, loadavg: os.loadavg(), rounds: ROUNDS, timing: TIMING, medians, runs };
    fs.mkdirSync(path.join(__dirname, 'results'), { recursive: true });
    fs.writeFileSync(path.join(__dirname, 'results', 'connect-latest.json'), JSON.stringify(out, null, 2) + '\n');
  } finally {
    for (const server of started) await proc.stopServer(server);
    fs.rmSync(bodyFile, { force: true });
  }
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exitCode = 1;
});
