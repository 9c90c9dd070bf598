'use strict';
// Process plumbing shared by the bench servers: announce the port as one JSON
// line on stdout, and exit promptly on SIGTERM/SIGINT or when the runner goes
// away (stdin is a pipe from the runner; EOF means it died, so no strays).

function announce(port) {
  process.stdout.write(JSON.stringify({ port, pid: process.pid }) + '\n');
}

/**
 * V8's share of the process, for the runner's memory breakdown: sampled every 100 ms (cheap, and the
 * same in every server), reported as one JSON line on stdout when the runner sends SIGUSR2.
 * youngGen is what V8 committed for new space (it grows under sustained load, whatever the server
 * does, and is not given back while the load lasts); arrayBuffers is Buffer memory outside the heap
 * not yet collected.
 */
function reportMemoryOnSignal() {
  const v8 = require('node:v8');
  const peaks = { youngGenMiB: 0, arrayBuffersMiB: 0, heapTotalMiB: 0 };
  const MiB = 1024 * 1024;
  const sample = () => {
    let young = 0;
    for (const space of v8.getHeapSpaceStatistics()) {
      if (space.space_name === 'new_space' || space.space_name === 'new_large_object_space') young += space.space_size;
    }
    const usage = process.memoryUsage();
    peaks.youngGenMiB = Math.max(peaks.youngGenMiB, young / MiB);
    peaks.arrayBuffersMiB = Math.max(peaks.arrayBuffersMiB, usage.arrayBuffers / MiB);
    peaks.heapTotalMiB = Math.max(peaks.heapTotalMiB, usage.heapTotal / MiB);
  };
  setInterval(sample, 100).unref();
  process.on('SIGUSR2', () => {
    sample();
    process.stdout.write(JSON.stringify({ memory: peaks }) + '\n');
  });
}

function exitOnShutdown(close) {
  reportMemoryOnSignal();
  let closing = false;
  const shutdown = (reason) => {
    if (closing) return;
    closing = true;
    process.stderr.write(`bench server: shutting down (${reason})\n`);
    // Don't wait for graceful drain: the bench only needs the process gone.
    try { close(); } catch { /* ignore */ }
    process.exit(0);
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  if (!process.stdin.isTTY) {
    process.stdin.on('end', () => shutdown('stdin closed: runner went away'));
    process.stdin.on('error', (err) => shutdown(`stdin error: ${err.message}`));
    process.stdin.resume();
  }
  // Diagnostics for exits nobody asked for (the runner reports stderr).
  process.on('beforeExit', () => process.stderr.write('bench server: event loop drained (server closed itself?)\n'));
}

function fail(err) {
  process.stderr.write(`bench server failed: ${err && err.stack || err}\n`);
  process.exit(1);
}

module.exports = { announce, exitOnShutdown, fail };
