'use strict';
// Process plumbing shared by the bench servers: announce the port as one JSON
// line on stdout, and exit promptly on SIGTERM/SIGINT or when the runner goes
// away (stdin is a pipe from the runner; EOF means it died, so no strays).

function announce(port) {
  process.stdout.write(JSON.stringify({ port, pid: process.pid }) + '\n');
}

function exitOnShutdown(close) {
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
