import { EventEmitter } from 'node:events';
import { Duplex, Readable, Writable } from 'node:stream';
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

/** The part every grpc-js call object shares. */
interface CallCommon {
  readonly metadata: Metadata;
  cancelled: boolean;
  getPeer(): string;
  sendMetadata(metadata: Metadata): void;
  getDeadline(): Date | number;
  getPath(): string;
  getHost(): string;
}

/** `cancelled` and `signal` read through to the call, defined once on each class's prototype. */
function defineCommonGetters(prototype: object): void {
  Object.defineProperty(prototype, 'cancelled', {
    get(this: { core: ServerCall }) {
      return this.core.cancelled;
    },
    configurable: true,
  });
  Object.defineProperty(prototype, 'signal', {
    get(this: { core: ServerCall }) {
      return this.core.signal;
    },
    configurable: true,
  });
}

function deadlineOf(core: ServerCall): Date | number {
  return core.deadline === Infinity ? Infinity : new Date(core.deadline);
}

/** grpc-js's ServerUnaryCall: the request plus call details; emits 'cancelled'. */
export class ServerUnaryCall<Request = unknown> extends EventEmitter implements CallCommon {
  declare cancelled: boolean;
  declare readonly signal: AbortSignal;
  request: Request = undefined as Request;
  readonly metadata: Metadata;

  constructor(readonly core: ServerCall) {
    super();
    this.metadata = core.metadata;
  }

  getPeer(): string {
    return this.core.peer;
  }
  sendMetadata(metadata: Metadata): void {
    this.core.sendMetadata(metadata);
  }
  getDeadline(): Date | number {
    return deadlineOf(this.core);
  }
  getPath(): string {
    return this.core.method.path;
  }
  getHost(): string {
    return this.core.authority;
  }
}

/** grpc-js's ServerReadableStream: request messages as an object-mode Readable (and async iterable). */
export class ServerReadableStream<Request = unknown> extends Readable implements CallCommon, CallSink {
  declare cancelled: boolean;
  declare readonly signal: AbortSignal;
  readonly metadata: Metadata;

  constructor(readonly core: ServerCall) {
    super({ objectMode: true });
    this.metadata = core.metadata;
  }

  override _read(): void {
    this.core.resume();
  }
  /** `for await (const request of call)` must not destroy the call when the requests end. */
  override [Symbol.asyncIterator](): AsyncIterableIterator<Request> {
    return this.iterator({ destroyOnReturn: false });
  }
  onMessage(message: unknown): void {
    if (!this.push(message as Request)) this.core.pause();
  }
  onHalfClose(): void {
    this.push(null);
  }
  onCancel(): void {
    this.emit('cancelled', 'cancelled');
    this.push(null);
  }
  onDrain(): void {}

  getPeer(): string {
    return this.core.peer;
  }
  sendMetadata(metadata: Metadata): void {
    this.core.sendMetadata(metadata);
  }
  getDeadline(): Date | number {
    return deadlineOf(this.core);
  }
  getPath(): string {
    return this.core.method.path;
  }
  getHost(): string {
    return this.core.authority;
  }
}

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
}

/** grpc-js's ServerWritableStream: the request plus an object-mode Writable for responses. */
export class ServerWritableStream<Request = unknown> extends Writable implements CallCommon, CallSink {
  declare cancelled: boolean;
  declare readonly signal: AbortSignal;
  request: Request = undefined as Request;
  readonly metadata: Metadata;
  private readonly writer: ResponseWriter;

  constructor(readonly core: ServerCall) {
    super({ objectMode: true });
    this.metadata = core.metadata;
    this.writer = new ResponseWriter(core);
    this.on('error', (error) => this.writer.fail(error));
  }

  override _write(message: unknown, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.writer.write(message, callback);
  }
  override _final(callback: (error?: Error | null) => void): void {
    this.writer.final(callback);
  }
  /** end(metadata?) as in grpc-js: the metadata becomes the trailers. */
  override end(...args: unknown[]): this {
    if (isMetadataLike(args[0])) {
      this.writer.trailer = toMetadata(args[0])!;
      args.shift();
    }
    return super.end(...(args as [])) as this;
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

  getPeer(): string {
    return this.core.peer;
  }
  sendMetadata(metadata: Metadata): void {
    this.core.sendMetadata(metadata);
  }
  getDeadline(): Date | number {
    return deadlineOf(this.core);
  }
  getPath(): string {
    return this.core.method.path;
  }
  getHost(): string {
    return this.core.authority;
  }
}

/** grpc-js's ServerDuplexStream: request messages in, response messages out. */
export class ServerDuplexStream<Request = unknown> extends Duplex implements CallCommon, CallSink {
  declare cancelled: boolean;
  declare readonly signal: AbortSignal;
  readonly metadata: Metadata;
  private readonly writer: ResponseWriter;

  constructor(readonly core: ServerCall) {
    super({ objectMode: true });
    this.metadata = core.metadata;
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
    if (isMetadataLike(args[0])) {
      this.writer.trailer = toMetadata(args[0])!;
      args.shift();
    }
    return super.end(...(args as [])) as this;
  }

  onMessage(message: unknown): void {
    if (!this.push(message as Request)) this.core.pause();
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

  getPeer(): string {
    return this.core.peer;
  }
  sendMetadata(metadata: Metadata): void {
    this.core.sendMetadata(metadata);
  }
  getDeadline(): Date | number {
    return deadlineOf(this.core);
  }
  getPath(): string {
    return this.core.method.path;
  }
  getHost(): string {
    return this.core.authority;
  }
}

for (const callClass of [ServerUnaryCall, ServerReadableStream, ServerWritableStream, ServerDuplexStream]) {
  defineCommonGetters(callClass.prototype);
}
