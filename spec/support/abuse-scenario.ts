/**
 * The frame of every abuse spec: a fresh server per spec, an attack measured by a ResourceMonitor
 * with a fresh grpc-js call started while it runs, and the common checks afterwards (the call
 * during and a call after succeed, lag < 100 ms, memory growth < 50 MB). Figures are printed one
 * line per spec, before the assertions, so a failing spec still reports what it measured.
 */
import { expect } from 'chai';
import type { Server, ServerOptions, UntypedServiceImplementation } from '../../lib';
import { ErrorCode, errorCodeName, type Http2Connection } from '../../lib/transport';
import type { GoAwayFrame } from '../../lib/transport/frame/frame';
import {
  type CallResult,
  captureConnections,
  flood,
  type FloodResult,
  formatReport,
  freshUnaryCall,
  ResourceMonitor,
  type ResourceReport,
  ServerFrameWatcher,
} from './abuse';
import { startEchoServer } from './echo-server';
import { RawPeer } from './raw-peer';

export const MAX_LAG_MS = 100;
export const MAX_GROWTH_MB = 50;

export interface AttackTarget {
  server: Server;
  port: number;
  /** Connections in the order the server accepted them: the attacker's is [0] when it connects first. */
  connections: Http2Connection[];
  /** A raw attacker connection (destroyed after the spec). */
  connect(): Promise<RawPeer>;
  /** A timer cleared after the spec (for handlers that never finish on their own). */
  timer(callback: () => void, ms: number): NodeJS.Timeout;
}

/** Registers the per-spec cleanup and returns start(), which starts a fresh server for one spec. */
export function attackTargets(): (overrides?: UntypedServiceImplementation, options?: ServerOptions) => Promise<AttackTarget> {
  const servers: Server[] = [];
  const peers: RawPeer[] = [];
  const timers = new Set<NodeJS.Timeout>();
  afterEach(() => {
    for (const peer of peers.splice(0)) peer.destroy();
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
    for (const server of servers.splice(0)) server.forceShutdown();
  });
  return async (overrides = {}, options = {}) => {
    const { server, port } = await startEchoServer(overrides, options);
    servers.push(server);
    const connections = captureConnections(server);
    return {
      server,
      port,
      connections,
      async connect() {
        const peer = await RawPeer.connect(port);
        peers.push(peer);
        return peer;
      },
      timer(callback, ms) {
        const timer = setTimeout(() => {
          timers.delete(timer);
          callback();
        }, ms);
        timer.unref();
        timers.add(timer);
        return timer;
      },
    };
  };
}

export interface AttackOutcome<T> {
  result: T;
  report: ResourceReport;
  /** The fresh call started together with the attack. */
  during: CallResult;
}

/**
 * Runs `attack` with a ResourceMonitor around it and a fresh UnaryEcho call on a new connection
 * started at the same moment (so it is served while the attack runs). The monitor finishes when
 * the attack's promise settles: end the attack while its state is still alive.
 */
export async function underAttack<T>(port: number, attack: (monitor: ResourceMonitor) => Promise<T>): Promise<AttackOutcome<T>> {
  const monitor = ResourceMonitor.start();
  const during = freshUnaryCall(port, 'during the attack', 5000);
  let result: T;
  try {
    result = await attack(monitor);
  } finally {
    monitor.finish();
  }
  return { result, report: monitor.finish(), during: await during };
}

/** Prints one line of figures for the current spec. */
export function note(line: string): void {
  console.log(`        [abuse] ${line}`);
}

/**
 * The checks every attack shares: (c) the call during the attack and a new one after it succeed,
 * (d) event-loop lag under 100 ms, (e) memory growth under 50 MB. Prints the figures first.
 */
export async function expectServerUnharmed(port: number, outcome: AttackOutcome<unknown>, extra = ''): Promise<void> {
  const { report, during } = outcome;
  const after = await freshUnaryCall(port, 'after the attack', 3000);
  note(`${formatReport(report)}; call during ${describeCall(during)}, after ${describeCall(after)}${extra ? `; ${extra}` : ''}`);
  expect(during.ok, `the call started during the attack: ${during.error}`).to.equal(true);
  expect(after.ok, `the call after the attack: ${after.error}`).to.equal(true);
  expect(report.lagMaxMs, 'event-loop lag (ms)').to.be.below(MAX_LAG_MS);
  expect(report.retainedGrowthMB, 'memory growth (heapUsed + arrayBuffers, MB)').to.be.below(MAX_GROWTH_MB);
}

export function describeCall(call: CallResult): string {
  return call.ok ? `ok in ${call.ms.toFixed(0)} ms` : `FAILED after ${call.ms.toFixed(0)} ms (${call.error})`;
}

/** A raw attacker connection with a ServerFrameWatcher attached before any byte arrives. */
export async function connectAttacker(target: AttackTarget): Promise<{ peer: RawPeer; watcher: ServerFrameWatcher }> {
  const peer = await target.connect();
  return { peer, watcher: new ServerFrameWatcher(peer.socket) };
}

export interface FloodToGoAway {
  flood: FloodResult;
  /** The GOAWAY(ENHANCE_YOUR_CALM), or why none came (timeout, another code, socket closed). */
  goAway: GoAwayFrame | Error;
  /** From the flood's first write to the GOAWAY's arrival. */
  msToGoAway: number | null;
  /** The server closed the socket (within 3 s of the flood's end). */
  closed: boolean;
}

/**
 * Floods `batch(i)` until the server answers with GOAWAY (any code ends the flood; the check wants
 * ENHANCE_YOUR_CALM), the socket closes, or the bounds are reached; then waits up to 2 s for a
 * GOAWAY and 3 s for the close.
 */
export async function floodUntilGoAway(
  peer: RawPeer,
  watcher: ServerFrameWatcher,
  monitor: ResourceMonitor,
  batch: (index: number) => Buffer,
  bounds: { maxBatches: number; maxMs: number },
): Promise<FloodToGoAway> {
  const goAwayPromise = peer.expectGoAway(ErrorCode.ENHANCE_YOUR_CALM, bounds.maxMs + 2000).then(
    (frame) => frame,
    (error: Error) => error,
  );
  const started = performance.now();
  const result = await flood(peer.socket, batch, { ...bounds, stop: () => watcher.goAway !== null, onBatch: () => monitor.sample() });
  const goAway = await goAwayPromise;
  const closed = await peer.closed(3000).then(
    () => true,
    () => false,
  );
  return { flood: result, goAway, msToGoAway: watcher.goAwayAt === null ? null : watcher.goAwayAt - started, closed };
}

/** (a)/(b): GOAWAY(ENHANCE_YOUR_CALM) arrived and the server closed the socket. */
export function expectCalmGoAway(outcome: FloodToGoAway): void {
  const { goAway, flood: sent } = outcome;
  const what = `after ${sent.batches} batches (${(sent.bytes / 1024).toFixed(0)} KiB) in ${sent.ms.toFixed(0)} ms, flood ended by ${sent.reason}`;
  if (goAway instanceof Error) expect.fail(`no GOAWAY(ENHANCE_YOUR_CALM) ${what}: ${shorten(goAway.message)}`);
  expect(outcome.closed, 'the server closed the attacker socket after its GOAWAY').to.equal(true);
}

export function describeFlood(outcome: FloodToGoAway, perBatch: number, unit = 'frames'): string {
  const goAway =
    outcome.goAway instanceof Error
      ? `no GOAWAY (${shorten(outcome.goAway.message, 100)})`
      : `GOAWAY ${errorCodeName(outcome.goAway.errorCode)} after ${outcome.msToGoAway?.toFixed(0)} ms`;
  return `${goAway}; ≤${outcome.flood.batches * perBatch} ${unit} written in ${outcome.flood.ms.toFixed(0)} ms (${outcome.flood.reason}); socket closed: ${outcome.closed}`;
}

/** A message cut to `length` characters (RawPeer lists every frame it skipped). */
export function shorten(message: string, length = 300): string {
  return message.length <= length ? message : `${message.slice(0, length)}... (${message.length} chars)`;
}
