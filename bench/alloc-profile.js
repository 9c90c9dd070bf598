'use strict';
// Allocation profile of our Echo server per unary call: `npm run bench:alloc` (see bench/README.md).
//
// Starts servers/h2grpc-server.js (dist/, build first) pinned to CPU 1 with V8's sampling heap
// profiler preloaded (lib/alloc-sampler.js), warms it up with h2load, then samples every
// allocation during exactly ALLOC_CALLS unary calls (h2load -n, on CPU 0) and prints the bytes
// allocated per call: in total, by allocating function and by function + caller. Sampling is
// statistical (one sample per ALLOC_SAMPLING_INTERVAL bytes, default 512): sites under ~20 B
// per call are noise. With ALLOC_NO_INLINING=1 the server runs with --no-turbo-inlining, so
// allocations are charged to the function that makes them rather than the one it was inlined
// into (more allocations then, as escape analysis does less). With ALLOC_PROMOTED=1 only what
// survived the young generation is counted: the bytes that make old space grow.
//
// Env: ALLOC_CALLS (100000), ALLOC_CLIENTS (50), ALLOC_STREAMS (100), ALLOC_SIZE (16),
//      ALLOC_TOP (30 rows), ALLOC_OUT (profile file, default $TMPDIR/h2grpc-alloc.heapprofile).

const fs = require('node:fs');
const path = require('node:path');
const proc = require('./lib/proc');
const h2load = require('./lib/h2load');
const { echoRequestBody, METHOD_PATHS } = require('./lib/proto');

const env = (name, fallback) => Number(process.env[name] ?? fallback);
const CALLS = env('ALLOC_CALLS', 100000);
const CLIENTS = env('ALLOC_CLIENTS', 50);
const STREAMS = env('ALLOC_STREAMS', 100);
const SIZE = env('ALLOC_SIZE', 16);
const TOP = env('ALLOC_TOP', 30);
const OUT = path.resolve(process.env.ALLOC_OUT ?? path.join(require('node:os').tmpdir(), 'h2grpc-alloc.heapprofile'));

async function main() {
  proc.installCleanup();
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.rmSync(OUT, { force: true });
  const body = path.join(require('node:os').tmpdir(), `h2grpc-alloc-body-${SIZE}-${process.pid}`);
  fs.writeFileSync(body, echoRequestBody(SIZE));
  const server = await proc.startServer('ours', path.join(__dirname, 'servers/h2grpc-server.js'), {
    cpu: 1,
    env: { ALLOC_PROFILE: OUT },
    nodeArgs: ['--require', path.join(__dirname, 'lib/alloc-sampler.js'), ...(process.env.ALLOC_NO_INLINING === '1' ? ['--no-turbo-inlining'] : [])],
  });
  const run = (n) =>
    proc.runCommand(...proc.pinned(0, 'h2load', ['-n', String(n), '-c', String(CLIENTS), '-m', String(STREAMS), '-d', body,
      '-H', 'content-type: application/grpc', '-H', 'te: trailers', `http://127.0.0.1:${server.port}${METHOD_PATHS.unary}`]), { timeoutMs: 120_000 });
  try {
    await run(Math.max(20000, CALLS / 5)); // warm-up: optimised code, grown heap
    process.kill(server.pid, 'SIGWINCH');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const result = await run(CALLS);
    const report = h2load.parseReport(result.stdout);
    if (report.requests.succeeded !== CALLS) throw new Error(`only ${report.requests.succeeded} of ${CALLS} calls succeeded`);
    process.kill(server.pid, 'SIGUSR2');
    for (let waited = 0; !fs.existsSync(OUT) && waited < 20000; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
    await new Promise((resolve) => setTimeout(resolve, 500));
  } finally {
    await proc.stopServer(server);
    fs.rmSync(body, { force: true });
  }
  summarise(JSON.parse(fs.readFileSync(OUT, 'utf8')));
}

function summarise(profile) {
  const bySite = new Map();
  const byPair = new Map();
  let total = 0;
  const name = (frame) => `${frame.functionName || '(anonymous)'} ${frame.url.split('/').slice(-2).join('/')}:${frame.lineNumber + 1}`;
  const walk = (node, parent) => {
    const site = name(node.callFrame);
    if (node.selfSize > 0) {
      total += node.selfSize;
      bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
      const pair = `${site}  <-  ${parent}`;
      byPair.set(pair, (byPair.get(pair) ?? 0) + node.selfSize);
    }
    for (const child of node.children) walk(child, site);
  };
  walk(profile.head, '(root)');
  const rows = (map) => [...map].sort((a, b) => b[1] - a[1]).slice(0, TOP)
    .map(([site, bytes]) => `${String(Math.round(bytes / CALLS)).padStart(6)} B  ${((100 * bytes) / total).toFixed(1).padStart(5)} %  ${site}`);
  const what = process.env.ALLOC_PROMOTED === '1' ? 'promoted to old space' : 'allocated';
  console.log(`${CALLS} unary calls of ${SIZE} B at -c${CLIENTS} -m${STREAMS}: ${Math.round(total / CALLS)} bytes ${what} per call (sampled)`);
  console.log(`\nby allocating function (bytes ${what} per call):`);
  console.log(rows(bySite).join('\n'));
  console.log('\nby function <- caller (per call):');
  console.log(rows(byPair).join('\n'));
}

main().catch((error) => {
  console.error(error.stack || error);
  process.exitCode = 1;
}).finally(() => proc.killAll());
