import { EventEmitter } from 'node:events';
import { Duplex, Readable, Writable } from 'node:stream';
import type { Encoding } from '../compression';
import { isMetadataLike, Metadata, toMetadata } from '../metadata';
import { isStatusCode, Status, type StatusObject, type ServiceError } from '../status';
import type { CallSink, ServerCall } from './server-call';

/** Turns whatever a handler reports as an error into a status (grpc-js's serverErrorToStatus). */
export function errorToStatus(error: unknown, trailer?: Metadata): StatusObject {
  const candidate = (error ?? {}) as ServiceError;
  const code = isStatusCode(candidate.code) ? candidate.code : Status.UNKNOWN;
  const details =
    typeof candidate.details === 'string' ? candidate.details : typeof candidate.message === 'string' ? candidate.message : 'Unknown Error';
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
    if (!this.push(message)) this.core.pause();
  }
  onHalfClose(): void {
    this.push(null);
  }
}

type RequestReader = Omit<RequestReaderMembers, 'core' | 'push' | 'iterator' | '_read' | typeof Symbol.asyncIterator>;

/** grpc-js's ServerReadableStream: request messages as an object-mode Readable (and async iterable). */
export class ServerReadableStream<Request = unknown> extends Readable {
  constructor(readonly core: ServerCall) {
    super({ objectMode: true });
  }

  onCancel(): void {
    this.emit('cancelled', 'cancelled');
    this.push(null);
  }
  onDrain(): void {}
}
export interface ServerReadableStream<Request = unknown> extends SharedMembers, RequestReader, CallSink {}

/**
 * Shared Writable behaviour for server-streaming and bidi calls: write() sends a message with
 * transport backpressure, end(metadata?) sends OK with trailing metadata, emitting or destroying
 * with an error sends that error's status.
 */
class ResponseWriter {
  private pendingCallback: ((error?: Error | null) => void) | null = null;
  trailer: Metadata | undefined;

  constructor(private readonly core: ServerCall) {}

  write(message: unknown, callback: (error?: Error | null) => void): void {
    if (!this.core.canSend) {
      callback();
      return;
    }
    if (this.core.sendMessage(message)) callback();
    else if (this.core.canSend) this.pendingCallback = callback;
    else callback();
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

/**
 * The response side of server-streaming and bidi calls, installed on both classes' prototypes:
 * Writable plumbing onto the ResponseWriter, and grpc-js's end(metadata?).
 */
class ResponseSideMembers {
  declare readonly writer: ResponseWriter;

  _write(message: unknown, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.writer.write(message, callback);
  }
  _final(callback: (error?: Error | null) => void): void {
    this.writer.final(callback);
  }
  end(...args: unknown[]): this {
    return (Writable.prototype.end as (...rest: unknown[]) => unknown).apply(this, this.writer.takeTrailer(args)) as this;
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
    super({ objectMode: true });
    this.writer = new ResponseWriter(core);
    this.on('error', (error) => this.writer.fail(error));
  }


  onMessage(): void {}
  onHalfClose(): void {}
  onCancel(): void {
    this.emit('cancelled', 'cancelled');
    this.writer.drain();
  }
}
export interface ServerWritableStream<Request = unknown> extends SharedMembers, ResponseSide {}

/** grpc-js's ServerDuplexStream: request messages in, response messages out. */
export class ServerDuplexStream<Request = unknown> extends Duplex {
  /** @internal */
  readonly writer: ResponseWriter;

  constructor(readonly core: ServerCall) {
    super({ objectMode: true });
    this.writer = new ResponseWriter(core);
    this.on('error', (error) => this.writer.fail(error));
  }


  onCancel(): void {
    this.emit('cancelled', 'cancelled');
    this.push(null);
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

/** Resolves when a response stream has room again after write() returned false (or the call is cancelled). */
export function untilWritable(call: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      call.off('drain', done);
      call.off('cancelled', done);
      resolve();
    };
    call.on('drain', done);
    call.on('cancelled', done);
  });
}
