/**
 * Measurement and attack helpers for the abuse specs (and, later, the bench):
 *
 * - ResourceMonitor: event-loop lag (perf_hooks.monitorEventLoopDelay) and memory (V8 heap plus
 *   ArrayBuffer memory, where Buffers live) over a window, with a forced GC at both ends when one
 *   can be had (global.gc, or V8's --expose-gc flag switched on at run time).
 * - flood(): writes batches of frames to an attacker socket with its backpressure respected,
 *   bounded by a batch count and a time limit.
 * - ServerFrameWatcher: a second parser on an attacker's socket that counts what the server sends
 *   and tracks the server's flow-control windows, so an attacker can send DATA exactly as fast as
 *   it is allowed to (FlowControlledSender).
 *
 * The attacker and the server run in the same process, so every figure covers both; the attacker
 * side is kept cheap (prebuilt batches, one reused payload Buffer).
 */
import { EventEmitter } from 'node:events';
import type * as net from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import type { Server } from '../../lib';
import type { ConnectionError, Http2Connection, StreamError } from '../../lib/transport';
import type { Frame, GoAwayFrame } from '../../lib/transport/frame/frame';
import { FrameType } from '../../lib/transport/frame/frame-type';
import { FrameReader } from '../../lib/transport/inbound/frame-reader';
import { SettingId } from '../../lib/transport/settings';
import { grpcJsEchoClient, unary } from './echo-client';
import { frames } from './frames';

const MB = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Measurement

/** A full garbage collection, or null when none can be forced. */
export const forceGc: (() => void) | null = (() => {
  const global = globalThis as { gc?: () => void };
  if (typeof global.gc === 'function') return global.gc;
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as () => void) : null;
  } catch {
    return null;
  }
})();

/** Bytes the process holds that a server could pile up: the V8 heap plus ArrayBuffers (Buffers). */
export function memoryInUse(): { heapUsed: number; arrayBuffers: number; total: number } {
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return { heapUsed, arrayBuffers, total: heapUsed + arrayBuffers };
}

export interface ResourceReport {
  durationMs: number;
  /** Worst event-loop delay over the window, in ms (beyond the histogram's own resolution). */
  lagMaxMs: number;
  lagP99Ms: number;
  /** Whether both ends were measured after a forced GC (else retained* equal the raw difference). */
  gcForced: boolean;
  /** Growth of heapUsed + arrayBuffers from the start, after GC at the end, in MB. */
  retainedGrowthMB: number;
  /** ... of which V8 heap (heapUsed). */
  retainedHeapGrowthMB: number;
  /** ... of which ArrayBuffer memory. */
  retainedBufferGrowthMB: number;
  /** Largest heapUsed + arrayBuffers sampled during the window (garbage included) minus the start, in MB. */
  peakGrowthMB: number;
}

const LAG_RESOLUTION_MS = 5;

/**
 * Event-loop lag and memory over a window: start() (after a GC), sample() whenever convenient (a
 * timer also samples every 10 ms), finish() (after a GC). Usable outside mocha.
 */
export class ResourceMonitor {
  private readonly histogram = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
  private readonly startedAt = performance.now();
  private readonly baseline: { heapUsed: number; arrayBuffers: number; total: number };
  private peak: number;
  private readonly timer: NodeJS.Timeout;
  private report: ResourceReport | null = null;

  private constructor() {
    forceGc?.();
    this.baseline = memoryInUse();
    this.peak = this.baseline.total;
    this.histogram.enable();
    this.timer = setInterval(() => this.sample(), 10);
  }

  static start(): ResourceMonitor {
    return new ResourceMonitor();
  }

  /** Records the current memory for the peak. Cheap. */
  sample(): void {
    const { heapUsed, arrayBuffers } = process.memoryUsage();
    if (heapUsed + arrayBuffers > this.peak) this.peak = heapUsed + arrayBuffers;
  }

  get elapsedMs(): number {
    return performance.now() - this.startedAt;
  }

  /** Ends the window (idempotent). Memory is measured now, so call it while the attack's state is still alive. */
  finish(): ResourceReport {
    if (this.report !== null) return this.report;
    this.sample();
    this.histogram.disable();
    clearInterval(this.timer);
    forceGc?.();
    const end = memoryInUse();
    const lag = (ns: number) => Math.max(0, ns / 1e6 - LAG_RESOLUTION_MS);
    this.report = {
      durationMs: this.elapsedMs,
      lagMaxMs: lag(this.histogram.max),
      lagP99Ms: lag(this.histogram.percentile(99)),
      gcForced: forceGc !== null,
      retainedGrowthMB: (end.total - this.baseline.total) / MB,
      retainedHeapGrowthMB: (end.heapUsed - this.baseline.heapUsed) / MB,
      retainedBufferGrowthMB: (end.arrayBuffers - this.baseline.arrayBuffers) / MB,
      peakGrowthMB: (this.peak - this.baseline.total) / MB,
    };
    return this.report;
  }
}

/** Runs `work` inside a ResourceMonitor window (for the bench: `const { result, report } = await measureResources(run)`). */
export async function measureResources<T>(work: (monitor: ResourceMonitor) => Promise<T>): Promise<{ result: T; report: ResourceReport }> {
  const monitor = ResourceMonitor.start();
  try {
    const result = await work(monitor);
    return { result, report: monitor.finish() };
  } finally {
    monitor.finish();
  }
}

export function formatReport(report: ResourceReport): string {
  const mb = (value: number) => `${value.toFixed(1)} MB`;
  return (
    `lag max ${report.lagMaxMs.toFixed(1)} ms (p99 ${report.lagP99Ms.toFixed(1)}), ` +
    `retained ${mb(report.retainedGrowthMB)} (heap ${mb(report.retainedHeapGrowthMB)}, buffers ${mb(report.retainedBufferGrowthMB)})${report.gcForced ? '' : ' [no GC]'}, ` +
    `peak ${mb(report.peakGrowthMB)}, ${report.durationMs.toFixed(0)} ms`
  );
}

// ---------------------------------------------------------------------------------------------
// Attacking

export interface FloodOptions {
  /** Upper bound on batches written. */
  maxBatches: number;
  /** Upper bound on the flood's duration. */
  maxMs: number;
  /** Stops the flood when it returns true (checked before each batch and while blocked). */
  stop?: () => boolean;
  /** Called after each batch (e.g. monitor.sample()). */
  onBatch?: () => void;
}

export interface FloodResult {
  batches: number;
  bytes: number;
  ms: number;
  /** Why it ended. 'blocked': the server stopped reading and the time ran out while waiting for drain. */
  reason: 'stop' | 'closed' | 'batches' | 'time' | 'blocked';
}

/**
 * Writes `batch(i)` for i = 0, 1, ... to `socket`: one batch per event-loop turn, and after a write
 * returns false nothing more until 'drain' (or the time limit, or stop()).
 */
export async function flood(socket: net.Socket, batch: (index: number) => Buffer, options: FloodOptions): Promise<FloodResult> {
  const started = performance.now();
  const deadline = started + options.maxMs;
  let batches = 0;
  let bytes = 0;
  const result = (reason: FloodResult['reason']): FloodResult => ({ batches, bytes, ms: performance.now() - started, reason });
  for (;;) {
    if (options.stop?.()) return result('stop');
    if (socket.destroyed || !socket.writable) return result('closed');
    if (batches >= options.maxBatches) return result('batches');
    if (performance.now() >= deadline) return result('time');
    const chunk = batch(batches);
    const flowing = socket.write(chunk);
    batches++;
    bytes += chunk.length;
    options.onBatch?.();
    if (flowing) {
      await new Promise((resolve) => setImmediate(resolve));
      continue;
    }
    const drained = await waitForDrain(socket, deadline, options.stop);
    if (!drained) {
      if (options.stop?.()) return result('stop');
      if (socket.destroyed || !socket.writable) return result('closed');
      return result('blocked');
    }
  }
}

/** Resolves true on 'drain'; false on close, at the deadline, or once stop() holds (polled every 10 ms). */
function waitForDrain(socket: net.Socket, deadline: number, stop?: () => boolean): Promise<boolean> {
  return new Promise((resolve) => {
    const finish = (drained: boolean) => {
      clearInterval(poll);
      socket.off('drain', onDrain);
      socket.off('close', onClose);
      resolve(drained);
    };
    const onDrain = () => finish(true);
    const onClose = () => finish(false);
    const poll = setInterval(() => {
      if (performance.now() >= deadline || stop?.()) finish(false);
    }, 10);
    socket.on('drain', onDrain);
    socket.on('close', onClose);
  });
}

/** Repeats one frame `count` times in one Buffer (a flood batch). */
export function repeated(frame: Buffer, count: number): Buffer {
  return Buffer.concat(Array.from({ length: count }, () => frame));
}

/**
 * `count` copies of `template` (whole frames, all on one stream) with the stream id of every frame
 * set to firstId, firstId + 2, ...: a batch of per-stream frames without encoding each one (the
 * attacker runs in the measured process, so its batches must be cheap).
 */
export function perStreamBatch(template: Buffer, count: number, firstId: number): Buffer {
  const headers: number[] = [];
  for (let offset = 0; offset < template.length; offset += 9 + template.readUIntBE(offset, 3)) headers.push(offset);
  const out = Buffer.allocUnsafe(template.length * count);
  for (let index = 0; index < count; index++) {
    const base = index * template.length;
    template.copy(out, base);
    for (const offset of headers) out.writeUInt32BE((firstId + 2 * index) & 0x7fffffff, base + offset + 5);
  }
  return out;
}

/** Resolves after `ms` (not keeping the process alive). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** Resolves true as soon as `predicate` holds (polled every 5 ms), false after `timeoutMs`. */
export async function waitUntil(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!predicate()) {
    if (performance.now() >= deadline) return false;
    await sleep(5);
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// The server side, as the specs observe it

/** Every Http2Connection the server accepts from now on, in order (wraps server.accept). */
export function captureConnections(server: Server): Http2Connection[] {
  const accepted: Http2Connection[] = [];
  const accept = server.accept.bind(server);
  server.accept = (socket: net.Socket) => {
    const connection = accept(socket);
    if (connection !== null) accepted.push(connection);
    return connection;
  };
  return accepted;
}

export interface CallResult {
  ok: boolean;
  /** Time from start to the answer (or the failure). */
  ms: number;
  error?: string;
}

/** One UnaryEcho call with @grpc/grpc-js on a new connection, within `deadlineMs`. Never rejects. */
export async function freshUnaryCall(port: number, message: string, deadlineMs = 3000): Promise<CallResult> {
  const started = performance.now();
  const client = grpcJsEchoClient(port);
  try {
    const response = await unary(client, message, undefined, { deadline: Date.now() + deadlineMs });
    if (response.message !== message) return { ok: false, ms: performance.now() - started, error: `echoed ${JSON.stringify(response.message)}` };
    return { ok: true, ms: performance.now() - started };
  } catch (error) {
    return { ok: false, ms: performance.now() - started, error: (error as Error).message };
  } finally {
    client.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Requests and payloads

export const ECHO_SERVICE = '/grpc.examples.echo.Echo';
export const SERVER_STREAMING_PATH = `${ECHO_SERVICE}/ServerStreamingEcho`;
export const CLIENT_STREAMING_PATH = `${ECHO_SERVICE}/ClientStreamingEcho`;
export const BIDI_PATH = `${ECHO_SERVICE}/BidirectionalStreamingEcho`;

/** A gRPC length-prefixed EchoRequest { message: text } of any size. */
export function echoRequest(text: string | Buffer): Buffer {
  const value = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const varint: number[] = [];
  let length = value.length;
  do {
    let byte = length & 0x7f;
    length = Math.floor(length / 128);
    if (length > 0) byte |= 0x80;
    varint.push(byte);
  } while (length > 0);
  const protoLength = 1 + varint.length + value.length;
  const out = Buffer.allocUnsafe(5 + protoLength);
  out[0] = 0;
  out.writeUInt32BE(protoLength, 1);
  out[5] = 0x0a;
  Buffer.from(varint).copy(out, 6);
  value.copy(out, 6 + varint.length);
  return out;
}

/** A message prefix announcing `declaredLength` bytes, followed by only `sent` bytes of it. */
export function truncatedMessage(declaredLength: number, sent: number): Buffer {
  const out = Buffer.alloc(5 + sent, 0x61);
  out[0] = 0;
  out.writeUInt32BE(declaredLength, 1);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Watching what the server sends on an attacker's connection

/**
 * Parses the server's side of a raw connection a second time (RawPeer keeps its own queue): counts
 * frames and RST_STREAM codes, notes the first GOAWAY, and tracks the windows the server grants.
 * Emits 'window' whenever a window grows and 'goaway'.
 */
export class ServerFrameWatcher extends EventEmitter {
  readonly frameCounts = new Map<number | 'unknown', number>();
  readonly resetCodes = new Map<number, number>();
  goAway: GoAwayFrame | null = null;
  goAwayAt: number | null = null;
  settingsReceived = false;
  /** What we may still send: the server's connection window and each stream's window. */
  connectionWindow = 65535;
  initialStreamWindow = 65535;
  private readonly streamWindows = new Map<number, number>();
  readonly startedAt = performance.now();

  constructor(socket: net.Socket) {
    super();
    this.setMaxListeners(0); // one 'window' waiter per stream a FlowControlledSender is blocked on
    const reader = new FrameReader(
      {
        onFrame: (frame) => this.receive(frame),
        onStreamError: (_error: StreamError) => {},
        onConnectionError: (_error: ConnectionError) => {},
      },
      { expectPreface: false, maxFrameSize: 16384 },
    );
    socket.on('data', (chunk: Buffer) => reader.push(chunk));
  }

  count(type: number | 'unknown'): number {
    return this.frameCounts.get(type) ?? 0;
  }

  resets(code: number): number {
    return this.resetCodes.get(code) ?? 0;
  }

  /** Milliseconds from the watcher's creation to the GOAWAY, or null. */
  get msToGoAway(): number | null {
    return this.goAwayAt === null ? null : this.goAwayAt - this.startedAt;
  }

  streamWindow(streamId: number): number {
    return this.streamWindows.get(streamId) ?? this.initialStreamWindow;
  }

  /** Records DATA we sent (it uses up both windows). */
  consume(streamId: number, bytes: number): void {
    this.connectionWindow -= bytes;
    this.streamWindows.set(streamId, this.streamWindow(streamId) - bytes);
  }

  private receive(frame: Frame): void {
    this.frameCounts.set(frame.type, (this.frameCounts.get(frame.type) ?? 0) + 1);
    switch (frame.type) {
      case FrameType.RST_STREAM:
        this.resetCodes.set(frame.errorCode, (this.resetCodes.get(frame.errorCode) ?? 0) + 1);
        break;
      case FrameType.GOAWAY:
        if (this.goAway === null) {
          this.goAway = frame;
          this.goAwayAt = performance.now();
          this.emit('goaway', frame);
        }
        break;
      case FrameType.SETTINGS:
        if (frame.ack) break;
        for (const entry of frame.entries) {
          if (entry.id !== SettingId.INITIAL_WINDOW_SIZE) continue;
          const delta = entry.value - this.initialStreamWindow;
          this.initialStreamWindow = entry.value;
          for (const [id, window] of this.streamWindows) this.streamWindows.set(id, window + delta);
        }
        this.settingsReceived = true;
        this.emit('window');
        break;
      case FrameType.WINDOW_UPDATE:
        if (frame.streamId === 0) this.connectionWindow += frame.increment;
        else this.streamWindows.set(frame.streamId, this.streamWindow(frame.streamId) + frame.increment);
        this.emit('window');
        break;
      default:
        break; // other frames are only counted
    }
  }
}

/**
 * Sends DATA on a raw connection no faster than the server's flow-control windows allow (as a
 * well-behaved client would), waiting for WINDOW_UPDATEs, bounded by a deadline.
 */
export class FlowControlledSender {
  constructor(
    private readonly socket: net.Socket,
    private readonly watcher: ServerFrameWatcher,
  ) {}

  /** Sends `payload` on `streamId` in DATA frames of at most 16 KiB; resolves with the bytes sent before the deadline or stop(). */
  async send(streamId: number, payload: Buffer, deadline: number, stop: () => boolean = () => false, endStream = false): Promise<number> {
    let offset = 0;
    while (offset < payload.length) {
      if (stop() || this.socket.destroyed || !this.socket.writable) return offset;
      const allowed = Math.min(16384, this.watcher.connectionWindow, this.watcher.streamWindow(streamId), payload.length - offset);
      if (allowed <= 0) {
        if (!(await this.waitForWindow(deadline, stop))) return offset;
        continue;
      }
      const last = offset + allowed === payload.length;
      const flowing = this.socket.write(frames.data(streamId, payload.subarray(offset, offset + allowed), { endStream: endStream && last }));
      this.watcher.consume(streamId, allowed);
      offset += allowed;
      if (!flowing) {
        if (!(await waitForDrain(this.socket, deadline, stop))) return offset;
      } else if (offset % (256 * 1024) < allowed) {
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    return offset;
  }

  /** Resolves true when a window grows, false at the deadline, once stop() holds, or on close. */
  private waitForWindow(deadline: number, stop: () => boolean): Promise<boolean> {
    return new Promise((resolve) => {
      const finish = (grew: boolean) => {
        clearInterval(poll);
        this.watcher.off('window', onWindow);
        resolve(grew);
      };
      const onWindow = () => finish(true);
      const poll = setInterval(() => {
        if (performance.now() >= deadline || stop() || this.socket.destroyed) finish(false);
      }, 10);
      this.watcher.on('window', onWindow);
    });
  }
}
