'use strict';
// Runs h2load (pinned to the load CPU) in timing-based mode and parses its
// report. Quirks handled here, observed with nghttp2 1.52:
//  * In -D mode "finished in" includes --warm-up-time, but req/s and MB/s are
//    computed over the main duration only. We report h2load's req/s and MB/s
//    as-is and keep "finished in" for reference.
//  * The "status codes" counters are not reset at the end of warm-up the same
//    way "succeeded" is, so "2xx" can differ from "succeeded" by a few hundred.
//    We therefore check that there are zero non-2xx / failed / errored /
//    timed-out requests rather than comparing 2xx with succeeded.
//  * HTTP 200 says nothing about grpc-status; the runner verifies trailers
//    separately (nghttp sanity call) before the matrix.
//  * Durations take units ("2500ms"); a bare "0.5" is rejected. Its report
//    switches units too ("finished in 706.97ms", latencies in us/ms/s).
//  * Its stdout is block-buffered into a pipe; we run it under `stdbuf -oL` so
//    the "Main benchmark duration is started/over" lines arrive on time and
//    the runner can sample server CPU exactly around the measured window.

const { spawnSync } = require('node:child_process');
const { pinned, runCommand } = require('./proc');

const HAS_STDBUF = spawnSync('stdbuf', ['--version'], { stdio: 'ignore' }).status === 0;

function version() {
  const r = spawnSync('h2load', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return null;
  return r.stdout.trim();
}

const UNIT_TO_MS = { us: 1e-3, ms: 1, s: 1000 };
const UNIT_TO_MIB = { B: 1 / (1024 * 1024), KB: 1 / 1024, MB: 1, GB: 1024 };

function toMs(text) {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text);
  return m ? Number(m[1]) * UNIT_TO_MS[m[2]] : null;
}

/** Parses h2load's final report. Throws if the essential lines are missing. */
function parseReport(text) {
  const finished = /finished in ([\d.]+(?:us|ms|s)), ([\d.]+) req\/s, ([\d.]+)(B|KB|MB|GB)\/s/.exec(text);
  const requests = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(text);
  const statuses = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(text);
  const latency = /time for request:\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)/.exec(text);
  // e.g. "traffic: 236.38KB (242055) total, 115.23KB (118000) headers (space savings 25.32%), 44.92KB (46000) data"
  const traffic = /traffic: \S+ \((\d+)\) total, \S+ \((\d+)\) headers \(space savings ([\d.-]+)%\), \S+ \((\d+)\) data/.exec(text);
  if (!finished || !requests || !statuses) throw new Error('unrecognised h2load output');
  const [total, started, done, succeeded, failed, errored, timeout] = requests.slice(1).map(Number);
  const [s2xx, s3xx, s4xx, s5xx] = statuses.slice(1).map(Number);
  return {
    finishedSeconds: toMs(finished[1]) / 1000,
    reqPerSec: Number(finished[2]),
    // h2load's "MB" is MiB; this is received bytes (headers + data) per second.
    mbPerSec: Number(finished[3]) * UNIT_TO_MIB[finished[4]],
    requests: { total, started, done, succeeded, failed, errored, timeout },
    statusCodes: { '2xx': s2xx, '3xx': s3xx, '4xx': s4xx, '5xx': s5xx },
    // Received bytes in the main window: total, HEADERS/trailers (HPACK-encoded), DATA.
    traffic: traffic
      ? { totalBytes: Number(traffic[1]), headerBytes: Number(traffic[2]), headerSpaceSavingsPct: Number(traffic[3]), dataBytes: Number(traffic[4]) }
      : null,
    latencyMs: latency
      ? { min: toMs(latency[1]), max: toMs(latency[2]), mean: toMs(latency[3]), sd: toMs(latency[4]) }
      : null,
  };
}

/** Returns an error string if the run had any non-successful request. */
function checkReport(r) {
  const q = r.requests;
  if (q.succeeded === 0) return 'no request succeeded';
  if (q.failed || q.errored || q.timeout) return `${q.failed} failed, ${q.errored} errored, ${q.timeout} timeout`;
  const bad = r.statusCodes['3xx'] + r.statusCodes['4xx'] + r.statusCodes['5xx'];
  if (bad) return `${bad} non-2xx responses`;
  return null;
}

/**
 * One timing-based h2load run against a gRPC method.
 * opts: { cpu, port, path, bodyFile, clients, streams, durationMs, warmupMs, rps?,
 *         onMainStart(), onMainEnd() }
 * Resolves { ok, error?, report?, raw, sawMarkers }.
 */
async function run(opts) {
  const url = `http://127.0.0.1:${opts.port}${opts.path}`;
  const h2loadArgs = [
    '-c', String(opts.clients), '-m', String(opts.streams), '-t', '1',
    '-D', `${opts.durationMs}ms`, '--warm-up-time', `${opts.warmupMs}ms`,
    ...(opts.rps ? ['--rps', String(opts.rps)] : []),
    '-d', opts.bodyFile,
    '-H', 'content-type: application/grpc', '-H', 'te: trailers',
    url,
  ];
  const inner = HAS_STDBUF ? ['stdbuf', ['-oL', 'h2load', ...h2loadArgs]] : ['h2load', h2loadArgs];
  const [cmd, args] = pinned(opts.cpu, inner[0], inner[1]);
  // Hard bound on wall time: the timed run plus generous slack.
  const timeoutMs = opts.durationMs + opts.warmupMs + 20_000;
  let sawStart = false;
  let sawEnd = false;
  const res = await runCommand(cmd, args, {
    timeoutMs,
    onLine(line) {
      // h2load prints these per thread; we use a single thread (-t 1).
      if (!sawStart && line.startsWith('Main benchmark duration is started')) { sawStart = true; opts.onMainStart?.(); }
      if (!sawEnd && line.startsWith('Main benchmark duration is over')) { sawEnd = true; opts.onMainEnd?.(); }
    },
  });
  const raw = res.stdout + res.stderr;
  if (res.timedOut) return { ok: false, error: `h2load killed after ${timeoutMs} ms`, raw };
  if (res.error) return { ok: false, error: `cannot run h2load: ${res.error.message}`, raw };
  let report;
  try {
    report = parseReport(res.stdout);
  } catch (err) {
    return { ok: false, error: `${err.message} (exit ${res.code}): ${raw.trim().split('\n').slice(-3).join(' | ')}`, raw };
  }
  const problem = checkReport(report);
  if (problem) return { ok: false, error: problem, report, raw };
  // Without both markers (no stdbuf, or another h2load version) the caller
  // must fall back to whole-run CPU accounting.
  return { ok: true, report, raw, sawMarkers: sawStart && sawEnd && HAS_STDBUF };
}

module.exports = { version, run, parseReport, checkReport, HAS_STDBUF };
