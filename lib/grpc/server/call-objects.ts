/* eslint-disable @typescript-eslint/no-unsafe-declaration-merging, @typescript-eslint/no-empty-object-type, @typescript-eslint/no-unused-vars --
   Each call class merges with an interface naming the members install() copies onto its prototype
   (declared once, not per call); `RequestType`/`ResponseType` are grpc-js's call generics and must
   match on both (ResponseType only types what grpc-js users pass, as in grpc-js). */
import { EventEmitter } from 'node:events';
import { Duplex, Readable, Writable } from 'node:stream';
import type { Encoding } from '../compression';
import { isMetadataLike, Metadata, toMetadata } from '../metadata';
import { encodeMessage, LARGE_MESSAGE, MESSAGE_HEADER_LENGTH, messagePrefix } from '../protocol/message-framing';
import { GrpcError, Status, type StatusObject, type ServiceError } from '../status';
import type { AuthContext } from './auth-context';
import type { Deadline } from './call-types';
import type { PerRequestMetricRecorder } from './metrics-recorder';
import type { CallSink, ServerCall } from './server-call';

/** Turns whatever a handler reports as an error into a status (grpc-js's serverErrorToStatus). */
export function errorToStatus(error: unknown, trailer?: Metadata): StatusObject {
  const candidate = (error ?? {}) as ServiceError;
  // Any integer code passes through, as in grpc-js (codes outside 0-16 included).
  const code = Number.isInteger(candidate.code) ? candidate.code! : Status.UNKNOWN;
  const details = typeof candidate.details === 'string' ? candidate.details : typeof candidate.message === 'string' ? candidate.message : 'Unknown Error';
  const metadata = toMetadata(candidate.metadata) ?? toMetadata(trailer) ?? new Metadata();
  return { code, details, metadata };
}

/**
 * What every grpc-js call object offers besides its stream or emitter behaviour. Defined once, on
 * each call class's prototype (see the end of this file), not per call.
 */
class CallMembers {
  declare readonly core: ServerCall;

  /** The request metadata (built on first access). */
  get metadata(): Metadata {
    return this.core.metadata;
  }
  /**
   * True once the call is over: cancelled (client, deadline, lost connection) or, as in grpc-js,
   * ended with a status.
   */
  get cancelled(): boolean {
    const state = this.core.state;
    return state === 'cancelled' || state === 'finished';
  }
  /** Aborted when the call is cancelled (not when it ends with a status). */
  get signal(): AbortSignal {
    return this.core.signal;
  }
  getPeer(): string {
    return this.core.peer;
  }
  sendMetadata(metadata: Metadata): void {
    this.core.sendMetadata(metadata);
  }
  getDeadline(): Deadline {
    return this.core.deadline === Infinity ? Infinity : new Date(this.core.deadline);
  }
  getPath(): string {
    return this.core.method.path;
  }
  getHost(): string {
    return this.core.authority;
  }
  /** How the connection is secured, as grpc-js reports it ({} unless TLS with a verified client certificate). */
  getAuthContext(): AuthContext {
    return this.core.authContext;
  }
  /**
   * Compresses this call's response messages with `encoding` if the client accepts it (its
   * grpc-accept-encoding); must be called before the first message or metadata is sent.
   * Returns whether the encoding will be used.
   */
  setResponseCompression(encoding: Encoding): boolean {
    return this.core.setResponseEncoding(encoding);
  }
  /** This call's ORCA metrics recorder (it records; the report is not sent). */
  getMetricsRecorder(): PerRequestMetricRecorder {
    return this.core.metricsRecorder;
  }
  /** @internal The call ended with a status: 'cancelled' follows on a later tick, as grpc-js emits it on every close. */
  onFinish(): void {
    if ((this as unknown as EventEmitter).listenerCount('cancelled') > 0) process.nextTick(emitFinished, this);
  }
}

function emitFinished(call: CallMembers): void {
  // A cancellation that came meanwhile (or with the status: a library error) was reported already.
  if (call.core.state === 'finished') (call as unknown as EventEmitter).emit('cancelled', 'cancelled');
}

type SharedMembers = Omit<CallMembers, 'core'>;

/** grpc-js's ServerUnaryCall: the request plus call details; emits 'cancelled'. */
export class ServerUnaryCall<RequestType = unknown, ResponseType = unknown> extends EventEmitter {
  request: RequestType = undefined as RequestType;

  constructor(readonly core: ServerCall) {
    super();
  }
}
export interface ServerUnaryCall<RequestType = unknown, ResponseType = unknown> extends SharedMembers {}

/**
 * The request side of client-streaming and bidi calls: messages pushed into an object-mode
 * Readable, paused through the transport's flow control. Installed on both classes' prototypes.
 * The Readable holds at most one message the handler has not taken (highWaterMark 1): the next
 * ones wait as bytes in the transport, whose window is withheld, so a client cannot make a call
 * hold more than that (Node's default would let 16 decoded messages of up to 4 MiB each pile up).
 */
class RequestReaderMembers {
  declare readonly core: ServerCall;
  declare push: (chunk: unknown) => boolean;
  declare iterator: Readable['iterator'];
  declare inRead: boolean;

  _read(): void {
    this.inRead = true;
    this.core.resume();
    this.inRead = false;
  }
  /** `for await (const request of call)` must not destroy the call (and its response side) when the requests end. */
  [Symbol.asyncIterator](): AsyncIterableIterator<unknown> {
    return this.iterator({ destroyOnReturn: false });
  }
  onMessage(message: unknown): void {
    // push(null) would end the requests early (and the next push would throw): a deserializer
    // that yields null is an error of the call, not its end.
    if (message === null) {
      this.core.fail(Status.INTERNAL, 'Request deserializer returned null');
      return;
    }
    if (!this.push(message)) this.core.pause();
  }
  /**
   * The end comes on a later tick when it arrives inside _read(): pushed there, the Readable would
   * emit 'end' right after the message it is delivering, even to a handler that pauses in 'data'
   * to work on it (grpc-js holds 'end' until resume()).
   */
  onHalfClose(): void {
    if (this.inRead) process.nextTick(pushEnd, this);
    else this.push(null);
  }
}

function pushEnd(reader: RequestReaderMembers): void {
  reader.push(null);
}

type RequestReader = Omit<RequestReaderMembers, 'core' | 'push' | 'iterator' | '_read' | 'inRead' | typeof Symbol.asyncIterator>;

/**
 * What a cancelled call's streams are destroyed with. One shared object: Node calls every write
 * still buffered in a destroyed Writable back with the stream's error, and without one it builds a
 * new ERR_STREAM_DESTROYED (stack trace and all) per write — 126 000 of them, 0.8 s of a frozen
 * event loop, for 100 cancelled calls of small messages. It is never emitted as 'error'.
 */
const CALL_CANCELLED = new GrpcError(Status.CANCELLED, 'Call cancelled');

/** grpc-js's ServerReadableStream: request messages as an object-mode Readable (and async iterable). */
export class ServerReadableStream<RequestType = unknown, ResponseType = unknown> extends Readable {
  /** @internal */
  inRead = false;

  constructor(readonly core: ServerCall) {
    super({ objectMode: true, highWaterMark: 1 });
  }

  /** 'cancelled', then the requests end by destruction (no 'error'): nothing more is delivered, reading loops stop. */
  onCancel(): void {
    this.emit('cancelled', 'cancelled');
    this.destroy(CALL_CANCELLED);
  }
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    callback(error === CALL_CANCELLED ? null : error);
  }
  onDrain(): void {}
}
export interface ServerReadableStream<RequestType = unknown, ResponseType = unknown> extends SharedMembers, RequestReader, CallSink {}

/**
 * The Writable side's byte high-water mark: write() returns false once this much waits behind a
 * full transport. Small, so a call holds about one message above the transport's quota: with
 * 1 KiB, 100 streams of 8-byte messages buffered 7 800 messages whenever their transport was full,
 * all serialized in one event-loop turn (the unread-streams attack: 130-200 ms of lag).
 */
const RESPONSE_HIGH_WATER_MARK = 16;
/**
 * With interceptors the Writable holds messages (they are serialized after the interceptors):
 * write() returns false past this many, and a handler that ignores that past
 * INTERCEPTED_BACKLOG_MESSAGES ends its call with RESOURCE_EXHAUSTED.
 */
const INTERCEPTED_HIGH_WATER_MARK = 16;
const INTERCEPTED_BACKLOG_MESSAGES = 1024;
const EMPTY = Buffer.alloc(0);

type WriteCallback = (error?: Error | null) => void;

/**
 * Shared Writable behaviour for server-streaming and bidi calls: write() sends a message with
 * transport backpressure, end(metadata?) sends OK with trailing metadata, emitting or destroying
 * with an error sends that error's status.
 *
 * Messages are serialized and framed in write(), so the Writable buffers bytes and the call knows
 * its response backlog: bytes in the Writable plus bytes queued in the transport. A handler that
 * keeps writing after write() returned false (before 'drain') past the backlog limit ends the
 * call with RESOURCE_EXHAUSTED instead of buffering without bound.
 */
class ResponseWriter {
  private pendingCallback: WriteCallback | null = null;
  /** Size of the chunk whose callback waits for the transport (counted in its queuedBytes already). */
  private pendingBytes = 0;
  trailer: Metadata | undefined;

  constructor(private readonly core: ServerCall) {}

  /** With interceptors, the Writable's _write: the message goes through them; the callback waits until the transport takes it. */
  writeThrough(message: unknown, callback: WriteCallback): void {
    this.pendingCallback = callback;
    this.pendingBytes = 0;
    this.core.sendThroughInterceptors(message, (this.drainer ??= () => this.drain()));
  }
  private drainer: (() => void) | null = null;

  /** The Writable's _write: hands framed bytes to the transport, holding the callback while its quota is used up. */
  write(bytes: Buffer, callback: WriteCallback): void {
    if (!this.core.canSend || this.core.sendFramed(bytes)) {
      callback();
      return;
    }
    this.pendingCallback = callback;
    this.pendingBytes = bytes.length;
  }

  /** Response bytes not yet on the wire: in the Writable (less the chunk the transport holds) plus in the transport. */
  backlog(writableLength: number): number {
    return writableLength - (this.pendingCallback === null ? 0 : this.pendingBytes) + this.core.queuedBytes;
  }

  drain(): void {
    const callback = this.pendingCallback;
    this.pendingCallback = null;
    if (callback !== null) callback();
  }

  final(callback: (error?: Error | null) => void): void {
    this.core.sendStatus({ code: Status.OK, details: 'OK', metadata: this.trailer });
    callback();
  }

  fail(error: unknown): void {
    this.core.sendStatus(errorToStatus(error));
    this.drain();
  }

  /** grpc-js's end(metadata?): a leading metadata argument becomes the trailers. */
  takeTrailer(args: unknown[]): unknown[] {
    if (isMetadataLike(args[0])) {
      this.trailer = toMetadata(args[0])!;
      return args.slice(1);
    }
    return args;
  }
}

const writableWrite = Writable.prototype.write as (this: Writable, chunk: unknown, callback?: WriteCallback) => boolean;
const writableEnd = Writable.prototype.end as (this: Writable, ...args: unknown[]) => Writable;

/**
 * The response side of server-streaming and bidi calls, installed on both classes' prototypes:
 * write(message) serializes and frames, the Writable (in byte mode) carries the frames to the
 * ResponseWriter; grpc-js's end(metadata?). On cancellation the Writable is destroyed, so write()
 * returns false and 'drain' never comes: loops driven by write()/'drain' stop instead of spinning.
 */
class ResponseSideMembers {
  declare readonly writer: ResponseWriter;
  declare readonly core: ServerCall;
  declare readonly writableLength: number;
  declare readonly writableNeedDrain: boolean;
  declare readonly writableEnded: boolean;
  declare readonly destroyed: boolean;
  declare destroy: (error?: Error) => this;

  write(message: unknown, encodingOrCallback?: unknown, maybeCallback?: WriteCallback): boolean {
    const callback = typeof encodingOrCallback === 'function' ? (encodingOrCallback as WriteCallback) : maybeCallback;
    const writable = this as unknown as Writable;
    const core = this.core;
    if (core.intercepted) return this.writeIntercepted(message, callback);
    // Let the Writable report a write after end or destruction its usual way.
    if (this.destroyed || this.writableEnded) return writableWrite.call(writable, EMPTY, callback);
    const compressed = core.responseMessageEncoding !== 'identity';
    const payload = core.encodeResponse(message, compressed);
    if (payload === null) {
      // The call is over (a status was sent, here or before): stop the handler's writing.
      this.destroy();
      return writableWrite.call(writable, EMPTY, callback);
    }
    const size = MESSAGE_HEADER_LENGTH + payload.length;
    const backlog = this.writer.backlog(this.writableLength);
    // Only a handler ignoring backpressure gets here; one message is always accepted when nothing waits.
    if (backlog > 0 && this.writableNeedDrain && backlog + size > core.maxResponseBacklog) {
      core.exhaustBacklog(`${backlog + size} bytes waiting vs. a limit of ${core.maxResponseBacklog}`);
      return writableWrite.call(writable, EMPTY, callback);
    }
    if (payload.length < LARGE_MESSAGE) return writableWrite.call(writable, encodeMessage(payload, compressed), callback);
    // Large messages: the prefix is its own chunk instead of copying the payload behind it.
    writableWrite.call(writable, messagePrefix(payload.length, compressed));
    return writableWrite.call(writable, payload, callback);
  }
  /** With interceptors: the Writable (in object mode) queues messages, _write sends them through the interceptors one at a time. */
  private writeIntercepted(message: unknown, callback: WriteCallback | undefined): boolean {
    const writable = this as unknown as Writable;
    if (!this.destroyed && !this.writableEnded) {
      if (!this.core.canSend) {
        this.destroy();
      } else if (this.writableNeedDrain && this.writableLength >= INTERCEPTED_BACKLOG_MESSAGES) {
        this.core.exhaustBacklog(`${this.writableLength} messages waiting vs. a limit of ${INTERCEPTED_BACKLOG_MESSAGES}`);
      }
    }
    return writableWrite.call(writable, message, callback);
  }
  _write(chunk: unknown, _encoding: BufferEncoding, callback: WriteCallback): void {
    if (this.core.intercepted) this.writer.writeThrough(chunk, callback);
    else this.writer.write(chunk as Buffer, callback);
  }
  _final(callback: WriteCallback): void {
    this.writer.final(callback);
  }
  /**
   * Destroyed by us on cancellation, or by the handler: with an error its status is sent (the
   * 'error' listener); without one the client gets CANCELLED rather than a call that never ends.
   * Either way the handler is done with the stream.
   */
  _destroy(error: Error | null, callback: WriteCallback): void {
    if (error === null && this.core.canSend) this.core.sendStatus({ code: Status.CANCELLED, details: 'Call destroyed by the server handler' });
    callback(error === CALL_CANCELLED ? null : error);
  }
  /** grpc-js's end(metadata?, message?, callback?): a message goes through write() (it needs serializing). */
  end(...args: unknown[]): this {
    const rest = this.writer.takeTrailer(args);
    if (rest.length > 0 && typeof rest[0] !== 'function') {
      const message = rest.shift();
      if (message !== null && message !== undefined) this.write(message);
      // An encoding argument means nothing for messages; left in place the Writable would write it.
      if (typeof rest[0] === 'string') rest.shift();
    }
    return writableEnd.apply(this as unknown as Writable, rest) as unknown as this;
  }
  onDrain(): void {
    this.writer.drain();
  }
}

type ResponseSide = Pick<ResponseSideMembers, 'onDrain'>;

const PLAIN_WRITABLE = { highWaterMark: RESPONSE_HIGH_WATER_MARK };
const INTERCEPTED_WRITABLE = { objectMode: true, highWaterMark: INTERCEPTED_HIGH_WATER_MARK };
const PLAIN_DUPLEX = { readableObjectMode: true, readableHighWaterMark: 1, writableHighWaterMark: RESPONSE_HIGH_WATER_MARK };
const INTERCEPTED_DUPLEX = { readableObjectMode: true, readableHighWaterMark: 1, writableObjectMode: true, writableHighWaterMark: INTERCEPTED_HIGH_WATER_MARK };

/** grpc-js's ServerWritableStream: the request plus an object-mode Writable for responses. */
export class ServerWritableStream<RequestType = unknown, ResponseType = unknown> extends Writable {
  request: RequestType = undefined as RequestType;
  /** @internal */
  readonly writer: ResponseWriter;

  constructor(readonly core: ServerCall) {
    super(core.intercepted ? INTERCEPTED_WRITABLE : PLAIN_WRITABLE);
    this.writer = new ResponseWriter(core);
    this.on('error', (error) => this.writer.fail(error));
  }

  onMessage(): void {}
  onHalfClose(): void {}
  /** 'cancelled', then destruction (no 'error'); a write waiting for the transport is called back. */
  onCancel(): void {
    this.emit('cancelled', 'cancelled');
    this.destroy(CALL_CANCELLED);
    this.writer.drain();
  }
}
export interface ServerWritableStream<RequestType = unknown, ResponseType = unknown> extends SharedMembers, ResponseSide {}

/** grpc-js's ServerDuplexStream: request messages in, response messages out. */
export class ServerDuplexStream<RequestType = unknown, ResponseType = unknown> extends Duplex {
  /** @internal */
  readonly writer: ResponseWriter;
  /** @internal */
  inRead = false;

  constructor(readonly core: ServerCall) {
    super(core.intercepted ? INTERCEPTED_DUPLEX : PLAIN_DUPLEX);
    this.writer = new ResponseWriter(core);
    this.on('error', (error) => this.writer.fail(error));
  }

  /** 'cancelled', then both sides end by destruction (no 'error'). */
  onCancel(): void {
    this.emit('cancelled', 'cancelled');
    this.destroy(CALL_CANCELLED);
    this.writer.drain();
  }
}
export interface ServerDuplexStream<RequestType = unknown, ResponseType = unknown> extends SharedMembers, RequestReader, ResponseSide {}

/** Copies a members class's methods and accessors onto other classes' prototypes. */
function install(members: { prototype: object }, targets: { prototype: object }[]): void {
  for (const target of targets) {
    for (const key of Reflect.ownKeys(members.prototype)) {
      if (key !== 'constructor') Object.defineProperty(target.prototype, key, Object.getOwnPropertyDescriptor(members.prototype, key)!);
    }
  }
}

install(CallMembers, [ServerUnaryCall, ServerReadableStream, ServerWritableStream, ServerDuplexStream]);
install(RequestReaderMembers, [ServerReadableStream, ServerDuplexStream]);
install(ResponseSideMembers, [ServerWritableStream, ServerDuplexStream]);

/** Resolves when a response stream has room again after write() returned false (or the call is cancelled or destroyed). */
export function untilWritable(call: Writable): Promise<void> {
  if (call.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      call.off('drain', done);
      call.off('cancelled', done);
      call.off('close', done);
      resolve();
    };
    call.on('drain', done);
    call.on('cancelled', done);
    call.on('close', done);
  });
}
