'use strict';
// Cluster scaling point: `npm run bench:cluster` (see bench/README.md, "Cluster").
//
// Starts examples/cluster.ts (compiled to build/examples/cluster.js) with WORKERS=1 and WORKERS=2
// on a loopback port, and drives UnaryEcho with h2load (8 connections x 16 streams, 16-byte
// message) for a bounded time. Rounds alternate 1, 2, 1, 2, ... ; we report the median calls/s
// per worker count and the ratio. Nothing is pinned: the workers, the cluster primary (which
// accepts and hands out connections) and h2load share the machine's cores, as they would in use.
//
// Env: CLUSTER_ROUNDS (default 3), CLUSTER_DURATION_MS (default 3000), CLUSTER_WORKERS ("1,2").

const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { runCommand, installCleanup, track } = require('./lib/proc');
const { parseReport, checkReport, HAS_STDBUF } = require('./lib/h2load');
const { echoRequestBody, METHOD_PATHS, REPO_ROOT } = require('./lib/proto');
const { median } = require('./lib/stats');

const ROUNDS = Number(process.env.CLUSTER_ROUNDS ?? 3);
const DURATION_MS = Number(process.env.CLUSTER_DURATION_MS ?? 3000);
const WARMUP_MS = 1000;
const MESSAGE_BYTES = Number(process.env.CLUSTER_MESSAGE_BYTES ?? 16);
const WORKER_COUNTS = (process.env.CLUSTER_WORKERS ?? '1,2').split(',').map(Number);
const CLUSTER_SCRIPT = path.join(REPO_ROOT, 'build', 'examples', 'cluster.js');

function build() {
  for (const args of [['run', 'build'], ['exec', '--', 'tsc', '-p', 'tsconfig.examples.json']]) {
    const result = spawnSync('npm', args, { cwd: REPO_ROOT, stdio: 'inherit' });
    if (result.status !== 0) throw new Error(`npm ${args.join(' ')} failed`);
  }
}

/** Starts the cluster example and resolves { child, port } once every worker listens (bounded). */
function startCluster(workers) {
  return new Promise((resolve, reject) => {
    const child = track(spawn(process.execPath, [CLUSTER_SCRIPT], { env: { ...process.env, WORKERS: String(workers), PORT: '0', HOST: '127.0.0.1' }, stdio: ['pipe', 'pipe', 'inherit'] }));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`cluster of ${workers} did not start within 20 s`));
    }, 20_000);
    let output = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const match = /listening on [^\s]+:(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ child, port: Number(match[1]) });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`cluster exited (${code}) before listening`));
    });
  });
}

function stopCluster(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

async function measure(port, bodyFile) {
  const args = ['-c', '8', '-m', '16', '-t', '2', '-D', `${DURATION_MS}ms`, '--warm-up-time', `${WARMUP_MS}ms`, '-d', bodyFile,
    '-H', 'content-type: application/grpc', '-H', 'te: trailers', `http://127.0.0.1:${port}${METHOD_PATHS.unary}`];
  const [cmd, cmdArgs] = HAS_STDBUF ? ['stdbuf', ['-oL', 'h2load', ...args]] : ['h2load', args];
  const result = await runCommand(cmd, cmdArgs, { timeoutMs: DURATION_MS + WARMUP_MS + 20_000 });
  if (result.timedOut || result.error) throw new Error(`h2load: ${result.error?.message ?? 'timed out'}`);
  const report = parseReport(result.stdout);
  const problem = checkReport(report);
  if (problem) throw new Error(`h2load: ${problem}`);
  return report.reqPerSec;
}

async function main() {
  installCleanup();
  if (spawnSync('h2load', ['--version'], { stdio: 'ignore' }).status !== 0) {
    console.error('h2load not found (Debian/Ubuntu package nghttp2-client): skipping the cluster point');
    return;
  }
  build();
  const bodyFile = path.join(os.tmpdir(), `h2grpc-cluster-body-${process.pid}`);
  fs.writeFileSync(bodyFile, echoRequestBody(MESSAGE_BYTES));
  const results = Object.fromEntries(WORKER_COUNTS.map((count) => [count, []]));
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const workers of WORKER_COUNTS) {
        const { child, port } = await startCluster(workers);
        try {
          const callsPerSecond = await measure(port, bodyFile);
          results[workers].push(callsPerSecond);
          console.error(`round ${round + 1}: ${workers} worker(s): ${Math.round(callsPerSecond)} calls/s`);
        } finally {
          await stopCluster(child);
        }
      }
    }
  } finally {
    fs.rmSync(bodyFile, { force: true });
  }
  const base = median(results[WORKER_COUNTS[0]]);
  console.log('| workers | calls/s (median) | runs | vs 1 worker |');
  console.log('|---|---|---|---|');
  for (const workers of WORKER_COUNTS) {
    const value = median(results[workers]);
    console.log(`| ${workers} | ${Math.round(value)} | ${results[workers].map(Math.round).join(', ')} | ${(value / base).toFixed(2)}x |`);
  }
  console.log(`\n${os.cpus().length} CPUs, ${os.loadavg()[0].toFixed(2)} load average (1 min) at the end; h2load -c8 -m16 -t2, ${MESSAGE_BYTES}-byte message, ${DURATION_MS} ms per run.`);
}

main().catch((error) => {
  console.error(error.message);
  process.exitCode = 1;
});
