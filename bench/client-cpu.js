'use strict';
// Client-side cost of a unary call: our client vs the grpc-js client, against the same server
// (ours by default; BENCH_SERVER=grpc-js for grpc-js's), loopback, 16-byte messages, N calls in
// flight. The server runs pinned to CPU 1, each client in its own process pinned to CPU 0;
// rounds alternate ours / grpc-js. Reports calls/s and client CPU (user+system) per call.
//
//   npm run build && node bench/client-cpu.js
//   BENCH_INFLIGHT=1 BENCH_CALLS=5000 BENCH_ROUNDS=3 node bench/client-cpu.js
//
// Bounded: BENCH_CALLS calls per round (default 20 000), BENCH_ROUNDS rounds (default 3).

const { spawn, spawnSync } = require('node:child_process');
const path = require('node:path');
const readline = require('node:readline');
const { loadEchoPackage } = require('./lib/proto');

const ROOT = path.resolve(__dirname, '..');
const HAS_TASKSET = spawnSync('taskset', ['-V']).status === 0;

function pinned(cpu, args) {
  return HAS_TASKSET ? ['taskset', ['-c', String(cpu), process.execPath, ...args]] : [process.execPath, args];
}

async function worker(kind, port, calls, inflight) {
  const lib = kind === 'ours' ? require(path.join(ROOT, 'dist', 'index.js')) : require('@grpc/grpc-js');
  const Echo = loadEchoPackage(lib.loadPackageDefinition).Echo;
  const client = new Echo(`127.0.0.1:${port}`, lib.credentials.createInsecure());
  const request = { message: 'x'.repeat(16) };
  const run = (count) =>
    new Promise((resolve, reject) => {
      let started = 0;
      let done = 0;
      const next = () => {
        if (started >= count) return;
        started++;
        client.UnaryEcho(request, (error) => {
          if (error) return reject(error);
          if (++done === count) resolve();
          else next();
        });
      };
      for (let index = 0; index < Math.min(inflight, count); index++) next();
    });
  await run(Math.min(calls, 5000)); // warm-up (JIT, connection)
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  await run(calls);
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  const cpu = process.cpuUsage(cpuBefore);
  client.close();
  process.stdout.write(JSON.stringify({ kind, calls, wallMs, cpuUsPerCall: (cpu.user + cpu.system) / calls, rss: process.memoryUsage().rss }) + '\n');
  process.exit(0);
}

function startServer(which) {
  const script = path.join(__dirname, 'servers', which === 'grpc-js' ? 'grpc-js-server.js' : 'h2grpc-server.js');
  const [command, args] = pinned(1, [script]);
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout }).once('line', (line) => resolve({ child, port: JSON.parse(line).port }));
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
}

function runWorker(kind, port, calls, inflight) {
  const [command, args] = pinned(0, [__filename, '--worker', kind, String(port), String(calls), String(inflight)]);
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 120_000 });
  if (result.status !== 0) throw new Error(`${kind} client failed: ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').pop());
}

async function main() {
  const calls = Number(process.env.BENCH_CALLS ?? 20_000);
  const inflight = Number(process.env.BENCH_INFLIGHT ?? 100);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const serverKind = process.env.BENCH_SERVER ?? 'ours';
  const { child, port } = await startServer(serverKind);
  const results = { ours: [], 'grpc-js': [] };
  try {
    for (let round = 0; round < rounds; round++) {
      for (const kind of ['ours', 'grpc-js']) {
        const result = runWorker(kind, port, calls, inflight);
        results[kind].push(result);
        process.stderr.write(`round ${round + 1} ${kind}: ${Math.round((calls / result.wallMs) * 1000)} calls/s, ${result.cpuUsPerCall.toFixed(1)} us CPU/call\n`);
      }
    }
  } finally {
    child.kill();
  }
  const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
  console.log(`server: ${serverKind}, ${inflight} in flight, ${calls} calls x ${rounds} rounds (medians)`);
  for (const kind of ['ours', 'grpc-js']) {
    const rate = median(results[kind].map((result) => (calls / result.wallMs) * 1000));
    const cpu = median(results[kind].map((result) => result.cpuUsPerCall));
    const rss = Math.max(...results[kind].map((result) => result.rss)) / 1024 / 1024;
    console.log(`${kind.padEnd(8)} ${Math.round(rate)} calls/s  ${cpu.toFixed(1)} us client CPU/call  ${rss.toFixed(0)} MB RSS`);
  }
}

if (process.argv[2] === '--worker') {
  worker(process.argv[3], Number(process.argv[4]), Number(process.argv[5]), Number(process.argv[6])).catch((error) => {
    process.stderr.write(`${error.stack}\n`);
    process.exit(1);
  });
} else {
  main().catch((error) => {
    process.stderr.write(`${error.stack}\n`);
    process.exit(1);
  });
}
