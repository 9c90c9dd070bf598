'use strict';
// Child-process plumbing for the runner: CPU pinning, server start-up,
// bounded command execution, /proc sampling, and "no strays" cleanup.

const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');

// ---------------------------------------------------------------- cleanup --

const live = new Set();

function track(child) {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

function killAll(signal = 'SIGTERM') {
  for (const child of live) {
    try { child.kill(signal); } catch { /* already gone */ }
  }
}

let cleanupInstalled = false;
/** Kill every tracked child on normal exit, Ctrl-C, SIGTERM or a crash. */
function installCleanup(onSignal) {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.on('exit', () => killAll('SIGKILL'));
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      if (onSignal) onSignal(sig);
      killAll('SIGTERM');
      process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
    });
  }
}

// ---------------------------------------------------------------- pinning --

const HAS_TASKSET = spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0;

/** [cmd, args] that run `cmd args` pinned to `cpu` (taskset execs, so the pid is cmd's). */
function pinned(cpu, cmd, args) {
  if (!HAS_TASKSET) return [cmd, args];
  return ['taskset', ['-c', String(cpu), cmd, ...args]];
}

/**
 * Pins this process (all its threads) to `cpu`, so the runner's own work
 * (reading h2load output, polling /proc) never lands on the server core.
 * Children inherit it unless started via pinned(). Returns true on success.
 */
function pinSelf(cpu) {
  if (!HAS_TASKSET) return false;
  return spawnSync('taskset', ['-a', '-p', '-c', String(cpu), String(process.pid)], { stdio: 'ignore' }).status === 0;
}

// ------------------------------------------------------------ run command --

/**
 * Runs a command to completion, bounded by timeoutMs (SIGKILL on expiry).
 * onLine(line) sees stdout lines as they arrive. Resolves (never rejects) with
 * { code, signal, stdout, stderr, timedOut, error }.
 */
function runCommand(cmd, args, { timeoutMs = 60_000, onLine, env, cwd } = {}) {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let partial = '';
    let timedOut = false;
    let child;
    try {
      child = track(spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env, cwd }));
    } catch (error) {
      resolve({ code: null, signal: null, stdout, stderr, timedOut, error });
      return;
    }
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      if (!onLine) return;
      partial += chunk;
      const lines = partial.split('\n');
      partial = lines.pop();
      for (const line of lines) onLine(line);
    });
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    let spawnError;
    child.on('error', (err) => { spawnError = err; });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (onLine && partial) onLine(partial);
      resolve({ code, signal, stdout, stderr, timedOut, error: spawnError });
    });
  });
}

// ---------------------------------------------------------------- servers --

/**
 * Starts a bench server pinned to `cpu` and waits for its {"port":N} line.
 * The server's stdin stays a pipe from us, so it exits if we die.
 * Resolves { name, pid, port, child, exited, exitInfo, stderrTail() }.
 * onUnexpectedExit(server) fires if it dies after announcing, unless stopServer() was called.
 */
function startServer(name, script, { cpu = 1, env = {}, timeoutMs = 20_000, onUnexpectedExit, nodeArgs = [] } = {}) {
  return new Promise((resolve, reject) => {
    const [cmd, args] = pinned(cpu, process.execPath, [...nodeArgs, script]);
    const child = track(spawn(cmd, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    }));
    let stderr = '';
    let buffered = '';
    const server = {
      name, pid: child.pid, port: 0, child, exited: false, exitInfo: null, onMemory: null,
      stderrTail: (n = 15) => stderr.trim().split('\n').slice(-n).join('\n'),
      /** The server's V8 peaks (bench/servers/lifecycle.js): { youngGenMiB, arrayBuffersMiB, heapTotalMiB }, or null within 2 s. */
      memoryReport() {
        if (server.exited) return Promise.resolve(null);
        return new Promise((done) => {
          const timer = setTimeout(() => { server.onMemory = null; done(null); }, 2000);
          server.onMemory = (memory) => { clearTimeout(timer); server.onMemory = null; done(memory); };
          child.kill('SIGUSR2');
        });
      },
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name}: no port announced within ${timeoutMs} ms\n${server.stderrTail()}`));
    }, timeoutMs);
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => { stderr = (stderr + chunk).slice(-20_000); });
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      buffered += chunk;
      if (server.port) {
        // Later lines: answers to memoryReport().
        let nl;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          let memory = null;
          try { memory = JSON.parse(line).memory ?? null; } catch { /* not a report */ }
          if (memory && server.onMemory) server.onMemory(memory);
        }
        return;
      }
      const nl = buffered.indexOf('\n');
      if (nl < 0) return;
      try {
        server.port = JSON.parse(buffered.slice(0, nl)).port;
      } catch { /* handled below */ }
      buffered = buffered.slice(nl + 1);
      clearTimeout(timer);
      if (!Number.isInteger(server.port) || server.port <= 0) {
        child.kill('SIGKILL');
        reject(new Error(`${name}: bad announce line ${JSON.stringify(buffered.slice(0, nl))}`));
      } else {
        resolve(server);
      }
    });
    child.on('error', (err) => { clearTimeout(timer); reject(err); });
    child.on('exit', (code, signal) => {
      server.exited = true;
      server.exitInfo = { code, signal, stderrTail: server.stderrTail() };
      clearTimeout(timer);
      if (server.port && !server.stopping && onUnexpectedExit) onUnexpectedExit(server);
      if (!server.port) reject(new Error(`${name} exited (code ${code}, signal ${signal}) before announcing a port\n${server.stderrTail()}`));
    });
  });
}

/** SIGTERM a server and wait (bounded) for it to go; SIGKILL if it lingers. */
function stopServer(server, graceMs = 3000) {
  server.stopping = true;
  if (server.exited) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => { server.child.kill('SIGKILL'); }, graceMs);
    server.child.once('exit', () => { clearTimeout(timer); resolve(); });
    server.child.kill('SIGTERM');
  });
}

// ------------------------------------------------------------------ /proc --

const CLK_TCK = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number.parseInt(r.stdout, 10);
  return Number.isFinite(n) && n > 0 ? n : 100;
})();

/** utime+stime of a process (all threads) in seconds, or null if it is gone. */
function cpuSeconds(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may contain spaces; fields after the last ')' start at field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // fields 14 and 15
  } catch {
    return null;
  }
}

/**
 * Busy seconds summed over all CPUs, from /proc/stat: user + nice + system +
 * steal. irq/softirq are left out on purpose: loopback TCP processing of our
 * own traffic lands there and is not charged to any process.
 */
function systemBusySeconds() {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]; // "cpu  user nice system idle iowait irq softirq steal ..."
    const [user, nice, system, , , , , steal] = line.trim().split(/\s+/).slice(1).map(Number);
    return (user + nice + system + (steal || 0)) / CLK_TCK;
  } catch {
    return null;
  }
}

/** CPU seconds of this process plus its already-reaped children (utime+stime+cutime+cstime). */
function selfAndReapedChildrenSeconds() {
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / CLK_TCK; // fields 14-17
  } catch {
    return null;
  }
}

/**
 * Measures how busy the machine was with work that is NOT ours (other users'
 * processes) while a run took place: system busy time minus the server's,
 * the runner's and the finished load generator's CPU. Call before a run;
 * the returned stop() gives the foreign share of total CPU capacity (0..1).
 */
function foreignLoad(serverPid) {
  const t0 = performance.now();
  const sys0 = systemBusySeconds();
  const own0 = selfAndReapedChildrenSeconds();
  const srv0 = cpuSeconds(serverPid);
  return {
    stop() {
      const wall = (performance.now() - t0) / 1000;
      const sys1 = systemBusySeconds();
      const own1 = selfAndReapedChildrenSeconds();
      const srv1 = cpuSeconds(serverPid);
      if ([sys0, own0, srv0, sys1, own1, srv1].includes(null) || wall <= 0) return null;
      const foreign = (sys1 - sys0) - (own1 - own0) - (srv1 - srv0);
      return Math.min(1, Math.max(0, foreign / (wall * os.cpus().length)));
    },
  };
}

/** A field (kB) of /proc/<pid>/status, e.g. VmRSS or VmHWM; null if gone. */
function statusKB(pid, field) {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Polls VmRSS every intervalMs until stop(), which returns the peak in kB. */
function sampleRss(pid, intervalMs = 50) {
  let peak = statusKB(pid, 'VmRSS') ?? 0;
  const timer = setInterval(() => {
    const rss = statusKB(pid, 'VmRSS');
    if (rss !== null && rss > peak) peak = rss;
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      const rss = statusKB(pid, 'VmRSS');
      if (rss !== null && rss > peak) peak = rss;
      return peak;
    },
  };
}

module.exports = {
  HAS_TASKSET, CLK_TCK,
  installCleanup, killAll, pinned, pinSelf, runCommand, startServer, stopServer, track,
  cpuSeconds, statusKB, sampleRss, foreignLoad,
};
