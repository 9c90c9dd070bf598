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

/** Request messages pushed into an object-mode Readable, paused through the transport's flow control. */
function pushRequest(call: Readable & { readonly core: ServerCall }, message: unknown): void {
  if (!call.push(message)) call.core.pause();
}

/** grpc-js's ServerReadableStream: request messages as an object-mode Readable (and async iterable). */
export class ServerReadableStream<Request = unknown> extends Readable implements CallSink {
  constructor(readonly core: ServerCall) {
    super({ objectMode: true });
  }

  override _read(): void {
    this.core.resume();
  }
  /** `for await (const request of call)` must not destroy the call when the requests end. */
  override [Symbol.asyncIterator](): AsyncIterableIterator<Request> {
    return this.iterator({ destroyOnReturn: false });
  }
  onMessage(message: unknown): void {
    pushRequest(this, message);
  }
  onHalfClose(): void {
    this.push(null);
  }
  onCancel(): void {
    this.emit('cancelled', 'cancelled');
    this.push(null);
  }
  onDrain(): void {}
}
export interface ServerReadableStream<Request = unknown> extends SharedMembers {}

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

/** grpc-js's ServerWritableStream: the request plus an object-mode Writable for responses. */
export class ServerWritableStream<Request = unknown> extends Writable implements CallSink {
  request: Request = undefined as Request;
  private readonly writer: ResponseWriter;

  constructor(readonly core: ServerCall) {
    super({ objectMode: true });
    this.writer = new ResponseWriter(core);
    this.on('error', (error) => this.writer.fail(error));
  }

  override _write(message: unknown, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.writer.write(message, callback);
  }
  override _final(callback: (error?: Error | null) => void): void {
    this.writer.final(callback);
  }
  override end(...args: unknown[]): this {
    return super.end(...(this.writer.takeTrailer(args) as [])) as this;
  }

  onMessage(): void {}
  onHalfClose(): void {}
  onCancel(): void {
    this.emit('cancelled', 'cancelled');
    this.writer.drain();
  }
  onDrain(): void {
    this.writer.drain();
  }
}
export interface ServerWritableStream<Request = unknown> extends SharedMembers {}

/** grpc-js's ServerDuplexStream: request messages in, response messages out. */
export class ServerDuplexStream<Request = unknown> extends Duplex implements CallSink {
  private readonly writer: ResponseWriter;

  constructor(readonly core: ServerCall) {
    super({ objectMode: true });
    this.writer = new ResponseWriter(core);
    this.on('error', (error) => this.writer.fail(error));
  }

  override _read(): void {
    this.core.resume();
  }
  /** Iterating the requests must leave the response side open (Node destroys on return by default). */
  override [Symbol.asyncIterator](): AsyncIterableIterator<Request> {
    return this.iterator({ destroyOnReturn: false });
  }
  override _write(message: unknown, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.writer.write(message, callback);
  }
  override _final(callback: (error?: Error | null) => void): void {
    this.writer.final(callback);
  }
  override end(...args: unknown[]): this {
    return super.end(...(this.writer.takeTrailer(args) as [])) as this;
  }

  onMessage(message: unknown): void {
    pushRequest(this, message);
  }
  onHalfClose(): void {
    this.push(null);
  }
  onCancel(): void {
    this.emit('cancelled', 'cancelled');
    this.push(null);
    this.writer.drain();
  }
  onDrain(): void {
    this.writer.drain();
  }
}
export interface ServerDuplexStream<Request = unknown> extends SharedMembers {}

for (const callClass of [ServerUnaryCall, ServerReadableStream, ServerWritableStream, ServerDuplexStream]) {
  for (const name of Object.getOwnPropertyNames(CallMembers.prototype)) {
    if (name !== 'constructor') Object.defineProperty(callClass.prototype, name, Object.getOwnPropertyDescriptor(CallMembers.prototype, name)!);
  }
}
