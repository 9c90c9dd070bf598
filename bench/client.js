'use strict';
// Client benchmark: `npm run bench:client` (see bench/README.md, "Client").
//
// Our client and grpc-js's client against the same Echo server (ours, then grpc-js's), the server
// pinned to CPU 1 and each client run pinned to CPU 0, in alternating rounds. Reports medians of
// calls/s, mean/p99 latency, client CPU per call and the client's peak RSS, with ratios ours/grpc-js.
// Env: BENCH_QUICK=1 (one short round), BENCH_ROUNDS=N, CLIENT_SERVERS=ours,grpc-js, STREAM_COUNT=N,
// CLIENT_KINDS=ours,grpc-js[,ours-intercepted,ours-async] (each compared with grpc-js),
// CLIENT_POINTS=unary-c1,unary-m100,server-streaming,bidi-ping-pong.

const path = require('node:path');
const proc = require('./lib/proc');
const { median, fmt } = require('./lib/stats');
const { REPO_ROOT } = require('./lib/proto');

const SERVER_CPU = 1;
const CLIENT_CPU = 0;
const QUICK = !!process.env.BENCH_QUICK && process.env.BENCH_QUICK !== '0';
const ROUNDS = Number(process.env.BENCH_ROUNDS) || (QUICK ? 1 : 3);
const TIMING = QUICK ? { warmup: 200, duration: 700 } : { warmup: 400, duration: 1500 };
const CLIENTS = (process.env.CLIENT_KINDS || 'ours,grpc-js').split(',');
if (!CLIENTS.includes('grpc-js')) CLIENTS.push('grpc-js');
const SERVERS = { ours: 'servers/h2grpc-server.js', 'grpc-js': 'servers/grpc-js-server.js' };
const POINTS = (process.env.CLIENT_POINTS || 'unary-c1,unary-m100,server-streaming,bidi-ping-pong').split(',');
const LOAD = path.join(__dirname, 'lib', 'client-load.js');

function progress(message) {
  process.stderr.write(`[client-bench] ${message}\n`);
}

async function runLoad(client, port, point) {
  const [cmd, args] = proc.pinned(CLIENT_CPU, process.execPath, [
    LOAD, '--client', client, '--port', String(port), '--point', point, '--warmup', String(TIMING.warmup), '--duration', String(TIMING.duration),
  ]);
  const run = await proc.runCommand(cmd, args, { timeoutMs: 60_000, cwd: REPO_ROOT, env: { ...process.env, STREAM_COUNT: process.env.STREAM_COUNT || '1000' } });
  if (run.code !== 0) throw new Error(`${client} ${point}: exit ${run.code} ${run.timedOut ? '(timed out)' : ''}\n${run.stderr.trim().split('\n').slice(-8).join('\n')}`);
  return JSON.parse(run.stdout.trim().split('\n').pop());
}

async function main() {
  proc.installCleanup();
  proc.pinSelf(CLIENT_CPU);
  progress('building the library: npm run build');
  const build = await proc.runCommand('npm', ['run', 'build'], { cwd: REPO_ROOT, timeoutMs: 180_000 });
  if (build.code !== 0) throw new Error(`npm run build failed:\n${build.stderr}`);
  const serverNames = (process.env.CLIENT_SERVERS || 'ours,grpc-js').split(',');
  const rows = [];
  for (const serverName of serverNames) {
    const server = await proc.startServer(serverName, path.join(__dirname, SERVERS[serverName]), {
      cpu: SERVER_CPU,
      env: { STREAM_COUNT: process.env.STREAM_COUNT || '1000' },
    });
    try {
      for (const point of POINTS) {
        const runs = Object.fromEntries(CLIENTS.map((client) => [client, []]));
        for (const client of CLIENTS) await runLoad(client, server.port, point); // warm-up run each
        for (let round = 0; round < ROUNDS; round++) {
          for (const client of round % 2 === 0 ? CLIENTS : [...CLIENTS].reverse()) {
            const result = await runLoad(client, server.port, point);
            runs[client].push(result);
            progress(`${serverName} server, ${point}, ${client}: ${fmt(result.callsPerSec)} units/s, ${fmt(result.cpuUsPerCall)} µs CPU/unit, p99 ${fmt(result.latency.p99)} ms`);
          }
        }
        const summary = (client) => ({
          rate: median(runs[client].map((r) => r.callsPerSec)),
          cpu: median(runs[client].map((r) => r.cpuUsPerCall)),
          mean: median(runs[client].map((r) => r.latency.mean)),
          p99: median(runs[client].map((r) => r.latency.p99)),
          rss: Math.max(...runs[client].map((r) => r.peakRssMiB)),
        });
        for (const client of CLIENTS) if (client !== 'grpc-js') rows.push({ server: serverName, point, client, ours: summary(client), grpcJs: summary('grpc-js') });
      }
    } finally {
      await proc.stopServer(server);
    }
  }
  const unit = (point) => (point === 'server-streaming' ? 'msgs' : point === 'bidi-ping-pong' ? 'round trips' : 'calls');
  const lines = [
    `| server | point | ${CLIENTS.length > 2 ? 'client | ' : ''}ours /s | grpc-js /s | ratio | ours CPU µs/unit | grpc-js CPU µs/unit | CPU ratio | ours mean / p99 ms | grpc-js mean / p99 ms | ours peak RSS MiB | grpc-js peak RSS MiB |`,
    `|---|---|${CLIENTS.length > 2 ? '---|' : ''}---|---|---|---|---|---|---|---|---|---|`,
  ];
  for (const { server, point, client, ours, grpcJs } of rows) {
    lines.push(
      `| ${server} | ${point} (${unit(point)}) | ${CLIENTS.length > 2 ? `${client} | ` : ''}${fmt(ours.rate)} | ${fmt(grpcJs.rate)} | ${(ours.rate / grpcJs.rate).toFixed(2)}x | ${fmt(ours.cpu)} | ${fmt(grpcJs.cpu)} | ${(ours.cpu / grpcJs.cpu).toFixed(2)}x | ${fmt(ours.mean)} / ${fmt(ours.p99)} | ${fmt(grpcJs.mean)} / ${fmt(grpcJs.p99)} | ${fmt(ours.rss)} | ${fmt(grpcJs.rss)} |`,
    );
  }
  process.stdout.write(lines.join('\n') + '\n');
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  proc.killAll('SIGKILL');
  process.exit(1);
});
