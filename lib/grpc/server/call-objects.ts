/* eslint-disable @typescript-eslint/no-unsafe-declaration-merging, @typescript-eslint/no-empty-object-type, @typescript-eslint/no-unused-vars --
   Each call class merges with an interface naming the members install() copies onto its prototype
   (declared once, not per call); `Request` is grpc-js's call generic and must match on both. */
import { EventEmitter } from 'node:events';
import { Duplex, Readable, Writable } from 'node:stream';
import type { Encoding } from '../compression';
import { isMetadataLike, Metadata, toMetadata } from '../metadata';
import { encodeMessage, LARGE_MESSAGE, MESSAGE_HEADER_LENGTH, messagePrefix } from '../protocol/message-framing';
import { GrpcError, isStatusCode, Status, type StatusObject, type ServiceError } from '../status';
import type { CallSink, ServerCall } from './server-call';

/** Turns whatever a handler reports as an error into a status (grpc-js's serverErrorToStatus). */
export function errorToStatus(error: unknown, trailer?: Metadata): StatusObject {
  const candidate = (error ?? {}) as ServiceError;
  const code = isStatusCode(candidate.code) ? candidate.code : Status.UNKNOWN;
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
  get cancelled(): boolean {
    return this.core.cancelled;
  }
  /** Aborted when the call is cancelled. */
  get signal(): AbortSignal {
    return this.core.signal;
  }
  getPeer(): string {
    return this.core.peer;
  }
  sendMetadata(metadata: Metadata): void {
    this.core.sendMetadata(metadata);
  }
  getDeadline(): Date | number {
    return this.core.deadline === Infinity ? Infinity : new Date(this.core.deadline);
  }
  getPath(): string {
    return this.core.method.path;
  }
  getHost(): string {
    return this.core.authority;
  }
  /**
   * Compresses this call's response messages with `encoding` if the client accepts it (its
   * grpc-accept-encoding); must be called before the first message or metadata is sent.
   * Returns whether the encoding will be used.
   */
  setResponseCompression(encoding: Encoding): boolean {
    return this.core.setResponseEncoding(encoding);
  }
}

type SharedMembers = Omit<CallMembers, 'core'>;

/** grpc-js's ServerUnaryCall: the request plus call details; emits 'cancelled'. */
export class ServerUnaryCall<Request = unknown> extends EventEmitter {
  request: Request = undefined as Request;

  constructor(readonly core: ServerCall) {
    super();
  }
}
export interface ServerUnaryCall<Request = unknown> extends SharedMembers {}

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

  _read(): void {
    this.core.resume();
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
  onHalfClose(): void {
    this.push(null);
  }
}

type RequestReader = Omit<RequestReaderMembers, 'core' | 'push' | 'iterator' | '_read' | typeof Symbol.asyncIterator>;

/**
 * What a cancelled call's streams are destroyed with. One shared object: Node calls every write
 * still buffered in a destroyed Writable back with the stream's error, and without one it builds a
 * new ERR_STREAM_DESTROYED (stack trace and all) per write — 126 000 of them, 0.8 s of a frozen
 * event loop, for 100 cancelled calls of small messages. It is never emitted as 'error'.
 */
const CALL_CANCELLED = new GrpcError(Status.CANCELLED, 'Call cancelled');

/** grpc-js's ServerReadableStream: request messages as an object-mode Readable (and async iterable). */
export class ServerReadableStream<Request = unknown> extends Readable {
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
export interface ServerReadableStream<Request = unknown> extends SharedMembers, RequestReader, CallSink {}

/**
 * The Writable side's byte high-water mark: write() returns false once this much waits behind a
 * full transport. Small, so a call holds about one message above the transport's quota: with
 * 1 KiB, 100 streams of 8-byte messages buffered 7 800 messages whenever their transport was full,
 * all serialized in one event-loop turn (the unread-streams attack: 130-200 ms of lag).
 */
const RESPONSE_HIGH_WATER_MARK = 16;
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
    this.core.sendStatus({ code: Status.OK, details: '', metadata: this.trailer });
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
    // Let the Writable report a write after end or destruction its usual way.
    if (this.destroyed || this.writableEnded) return writableWrite.call(writable, EMPTY, callback);
    const core = this.core;
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
      core.exhaustBacklog(backlog + size);
      return writableWrite.call(writable, EMPTY, callback);
    }
    if (payload.length < LARGE_MESSAGE) return writableWrite.call(writable, encodeMessage(payload, compressed), callback);
    // Large messages: the prefix is its own chunk instead of copying the payload behind it.
    writableWrite.call(writable, messagePrefix(payload.length, compressed));
    return writableWrite.call(writable, payload, callback);
  }
  _write(bytes: Buffer, _encoding: BufferEncoding, callback: WriteCallback): void {
    this.writer.write(bytes, callback);
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
    this.core.releaseStream();
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

/** grpc-js's ServerWritableStream: the request plus an object-mode Writable for responses. */
export class ServerWritableStream<Request = unknown> extends Writable implements CallSink {
  request: Request = undefined as Request;
  /** @internal */
  readonly writer: ResponseWriter;

  constructor(readonly core: ServerCall) {
    super({ highWaterMark: RESPONSE_HIGH_WATER_MARK });
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
export interface ServerWritableStream<Request = unknown> extends SharedMembers, ResponseSide {}

/** grpc-js's ServerDuplexStream: request messages in, response messages out. */
export class ServerDuplexStream<Request = unknown> extends Duplex {
  /** @internal */
  readonly writer: ResponseWriter;

  constructor(readonly core: ServerCall) {
    super({ readableObjectMode: true, readableHighWaterMark: 1, writableHighWaterMark: RESPONSE_HIGH_WATER_MARK });
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
export interface ServerDuplexStream<Request = unknown> extends SharedMembers, RequestReader, ResponseSide, CallSink {}

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
