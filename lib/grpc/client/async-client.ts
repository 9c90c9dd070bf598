/**
 * A promise and async-iterator API over the same call core as the grpc-js style client: unary and
 * client-streaming methods return promises, server-streaming and bidi methods return async
 * iterables of responses, request streams are (async) iterables, and an AbortSignal cancels.
 */
import type { HeaderList } from '../../transport';
import { Metadata, toMetadata } from '../metadata';
import { GrpcError, Status, type StatusObject } from '../status';
import type { CallOptions } from './call-options';
import type { Channel } from './channel';
import { CallKind, Client, type ClientOptions } from './client';
import type { ChannelCredentials } from './credentials';
import type { CallCore, CallObjectListener } from './intercepted-call';

/** The error an aborted call rejects (or throws) with: `name` is "AbortError", `cause` the signal's reason. */
export class AbortError extends Error {
  constructor(message = 'The operation was aborted', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AbortError';
  }
}

/** What one call of the async API may set. */
export interface AsyncCallOptions extends Omit<CallOptions, 'parent'> {
  /** Request metadata (ours or grpc-js's). */
  metadata?: Metadata;
  /** Cancels the call: it rejects (or its iteration throws) with an AbortError. */
  signal?: AbortSignal;
  /** Called with the response headers. */
  onMetadata?: (metadata: Metadata) => void;
  /** Called with the final status (OK included) and its trailers. */
  onStatus?: (status: StatusObject) => void;
}

/** A method definition whose kind is known to the type system (what generated or hand-written typings give). */
export interface TypedMethodDefinition<Request, Response, RequestStream extends boolean = boolean, ResponseStream extends boolean = boolean> {
  path: string;
  requestStream: RequestStream;
  responseStream: ResponseStream;
  requestSerialize(value: Request): Buffer;
  responseDeserialize(data: Buffer): Response;
  originalName?: string;
}

/** A service definition: method name → definition. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AsyncServiceDefinition = { [method: string]: TypedMethodDefinition<any, any> };

type RequestOf<D> = D extends { requestSerialize(value: infer Request): Buffer } ? Request : never;
type ResponseOf<D> = D extends { responseDeserialize(data: Buffer): infer Response } ? Response : never;
/** Requests of a streaming call: any iterable or async iterable (an async generator, a Readable in object mode, an array). */
export type RequestStream<Request> = AsyncIterable<Request> | Iterable<Request>;

/** The async signature of one method, from its definition's types. */
export type AsyncMethod<D> = D extends { requestStream: true; responseStream: true }
  ? (requests: RequestStream<RequestOf<D>>, options?: AsyncCallOptions) => AsyncIterable<ResponseOf<D>>
  : D extends { requestStream: true; responseStream: false }
    ? (requests: RequestStream<RequestOf<D>>, options?: AsyncCallOptions) => Promise<ResponseOf<D>>
    : D extends { requestStream: false; responseStream: true }
      ? (request: RequestOf<D>, options?: AsyncCallOptions) => AsyncIterable<ResponseOf<D>>
      : D extends { requestStream: false; responseStream: false }
        ? (request: RequestOf<D>, options?: AsyncCallOptions) => Promise<ResponseOf<D>>
        : // The kind is not known at compile time (e.g. loaded from a .proto at run time).
          // eslint-disable-next-line @typescript-eslint/no-explicit-any
          (requestOrRequests: any, options?: AsyncCallOptions) => any;

/** What every async client has besides its methods. */
export interface AsyncClientBase {
  /** Closes the channel: new calls fail, running ones finish. */
  close(): void;
  /** The channel the calls are made on. */
  getChannel(): Channel;
  /** Resolves once the channel is READY (connecting it), rejects at the deadline. */
  waitForReady(deadline: Date | number): Promise<void>;
}

/** A client with one async method per method of `S`. */
export type AsyncClient<S> = { [Name in keyof S]: AsyncMethod<S[Name]> } & AsyncClientBase;

const RESERVED = new Set(['close', 'getChannel', 'waitForReady']);
/** Response messages a server stream buffers before it holds the server back. */
const HIGH_WATER = 16;

/**
 * A client for `service` (a service definition, or a class from loadPackageDefinition) with one
 * async method per RPC, under its name and its originalName. The calls share the call core with
 * the grpc-js style client (interceptors, call credentials and channel options included).
 */
export function createAsyncClient<S extends AsyncServiceDefinition>(
  service: S | { service: S },
  target: string,
  credentials: ChannelCredentials,
  options: ClientOptions = {},
): AsyncClient<S> {
  const definition = (typeof service === 'function' || 'service' in service ? (service as { service: S }).service : service) as S;
  if (definition === null || typeof definition !== 'object') throw new TypeError('createAsyncClient takes a service definition or a client class');
  const client = new Client(target, credentials, options);
  const result: { [name: string]: unknown } = {
    close: () => client.close(),
    getChannel: () => client.getChannel(),
    waitForReady: (deadline: Date | number) =>
      new Promise<void>((resolve, reject) => client.waitForReady(deadline, (error) => (error ? reject(error) : resolve()))),
  };
  for (const [name, method] of Object.entries(definition)) {
    if (RESERVED.has(name)) throw new Error(`Method names cannot reserve names from the async client: ${name}`);
    const invoke = asyncMethod(client, method);
    result[name] = invoke;
    const original = method.originalName;
    if (original !== undefined && original !== name && !(original in result) && !RESERVED.has(original)) result[original] = invoke;
  }
  return result as AsyncClient<S>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function asyncMethod(client: Client, method: TypedMethodDefinition<any, any>): (argument: unknown, options?: AsyncCallOptions) => unknown {
  const { path, requestSerialize, responseDeserialize } = method;
  const kind = method.requestStream
    ? method.responseStream
      ? CallKind.Bidi
      : CallKind.ClientStream
    : method.responseStream
      ? CallKind.ServerStream
      : CallKind.Unary;
  const start = (listener: AsyncListener, options: AsyncCallOptions | undefined): CallCore => {
    const { metadata, signal: _signal, onMetadata: _onMetadata, onStatus: _onStatus, ...callOptions } = options ?? {};
    let callMetadata: Metadata | null = null;
    if (metadata !== undefined && metadata !== null) {
      callMetadata = toMetadata(metadata);
      if (callMetadata === null) throw new TypeError('AsyncCallOptions.metadata must be Metadata');
    }
    return client.startCall(kind, listener, path, requestSerialize, responseDeserialize, callMetadata, callOptions);
  };
  switch (kind) {
    case CallKind.Unary:
      return (request, options) => {
        const listener = new UnaryListener(options);
        return listener.run(() => start(listener, options), request, null);
      };
    case CallKind.ClientStream:
      return (requests, options) => {
        const listener = new UnaryListener(options);
        return listener.run(() => start(listener, options), undefined, requests as RequestStream<unknown>);
      };
    default:
      return (argument, options) => {
        const listener = new StreamListener(options);
        listener.begin(
          () => start(listener, options),
          kind === CallKind.ServerStream ? { request: argument } : { requests: argument as RequestStream<unknown> },
        );
        return listener;
      };
  }
}

/** Shared by both listener kinds: metadata and status callbacks, abort, and the request pump. */
abstract class AsyncListener implements CallObjectListener {
  core!: CallCore;
  protected status: StatusObject | null = null;
  protected aborted = false;
  protected failure: unknown = null;
  private drainWaiter: (() => void) | null = null;
  private readonly signal: AbortSignal | undefined;
  private readonly onAbort = (): void => {
    this.aborted = true;
    this.core.cancelWithStatus(Status.CANCELLED, 'Cancelled on client (aborted)');
  };

  constructor(protected readonly options: AsyncCallOptions | undefined) {
    this.signal = options?.signal;
  }

  /** Starts the call; false (and the failure recorded) when the signal was already aborted. */
  protected open(start: () => CallCore): boolean {
    const signal = this.signal;
    if (signal?.aborted) {
      this.aborted = true;
      return false;
    }
    this.core = start();
    signal?.addEventListener('abort', this.onAbort, { once: true });
    return true;
  }

  /** The error a failed call ends with. */
  protected error(): unknown {
    if (this.aborted) return new AbortError('The call was aborted', { cause: this.signal?.reason });
    if (this.failure !== null) return this.failure;
    const status = this.status!;
    return new GrpcError(status.code, status.details, status.metadata);
  }

  /** Sends every request, waiting for room, then half-closes; a failing iterable cancels the call with its error. */
  protected async pump(requests: RequestStream<unknown>): Promise<void> {
    try {
      for await (const request of requests) {
        if (this.core.isDone) return;
        if (!this.core.sendMessage(request)) await new Promise<void>((resolve) => (this.drainWaiter = resolve));
      }
      this.core.halfClose();
    } catch (error) {
      if (this.core.isDone) return;
      this.failure = error;
      this.core.cancelWithStatus(Status.CANCELLED, `The request stream failed: ${(error as Error)?.message ?? String(error)}`);
    }
  }

  cancel(): void {
    this.core.cancelWithStatus(Status.CANCELLED, 'Cancelled on client');
  }

  onReceiveMetadata(headers: HeaderList | Metadata): void {
    const onMetadata = this.options?.onMetadata;
    if (onMetadata !== undefined) onMetadata(headers instanceof Metadata ? headers : Metadata.fromHeaders(headers));
  }

  abstract onReceiveMessage(message: unknown): void;

  onReceiveStatus(status: StatusObject): void {
    this.status = status;
    this.signal?.removeEventListener('abort', this.onAbort);
    this.onDrain();
    this.options?.onStatus?.(status);
    this.settle();
  }

  onDrain(): void {
    const waiter = this.drainWaiter;
    if (waiter === null) return;
    this.drainWaiter = null;
    waiter();
  }

  protected abstract settle(): void;
}

/** A unary or client-streaming call: one response, as a promise. */
class UnaryListener extends AsyncListener {
  private response: unknown = undefined;
  private received = 0;
  private resolve: ((value: unknown) => void) | null = null;
  private reject: ((error: unknown) => void) | null = null;

  run(start: () => CallCore, request: unknown, requests: RequestStream<unknown> | null): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      if (!this.open(start)) {
        reject(this.error());
        return;
      }
      if (requests === null) this.core.sendMessage(request, true);
      else void this.pump(requests);
    });
  }

  onReceiveMessage(message: unknown): void {
    if (++this.received > 1) {
      this.core.cancelWithStatus(Status.UNIMPLEMENTED, 'Too many responses received');
      return;
    }
    this.response = message;
  }

  protected settle(): void {
    const status = this.status!;
    if (status.code === Status.OK && this.received === 1 && !this.aborted) this.resolve!(this.response);
    else if (status.code === Status.OK && !this.aborted) this.reject!(new GrpcError(Status.UNIMPLEMENTED, 'No message received', status.metadata));
    else this.reject!(this.error());
  }
}

/**
 * A server-streaming or bidi call: the responses as an async iterator. Up to HIGH_WATER responses
 * wait here; beyond that the server is held back by flow control. Leaving the loop early (break,
 * return, throw) cancels the call.
 */
class StreamListener extends AsyncListener implements AsyncIterableIterator<unknown> {
  private readonly buffer: unknown[] = [];
  private head = 0;
  private paused = false;
  private waiting: { resolve(result: IteratorResult<unknown>): void; reject(error: unknown): void } | null = null;
  private notStarted = false;

  begin(start: () => CallCore, argument: { request: unknown } | { requests: RequestStream<unknown> }): void {
    if (!this.open(start)) {
      this.notStarted = true;
      return;
    }
    if ('request' in argument) this.core.sendMessage(argument.request, true);
    else void this.pump(argument.requests);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<unknown> {
    return this;
  }

  next(): Promise<IteratorResult<unknown>> {
    if (this.notStarted) return Promise.reject(this.error());
    if (this.head < this.buffer.length) {
      const value = this.buffer[this.head];
      this.buffer[this.head++] = undefined;
      if (this.head === this.buffer.length) {
        this.buffer.length = 0;
        this.head = 0;
        if (this.paused) {
          this.paused = false;
          this.core.resumeReading();
        }
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.status !== null)
      return this.status.code === Status.OK && !this.aborted ? Promise.resolve({ value: undefined, done: true }) : Promise.reject(this.error());
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  return(): Promise<IteratorResult<unknown>> {
    if (!this.notStarted && this.status === null) this.cancel();
    return Promise.resolve({ value: undefined, done: true });
  }

  onReceiveMessage(message: unknown): void {
    const waiting = this.waiting;
    if (waiting !== null) {
      this.waiting = null;
      waiting.resolve({ value: message, done: false });
      return;
    }
    this.buffer.push(message);
    if (this.buffer.length - this.head >= HIGH_WATER && !this.paused) {
      this.paused = true;
      this.core.pauseReading();
    }
  }

  protected settle(): void {
    const waiting = this.waiting;
    if (waiting === null) return;
    this.waiting = null;
    if (this.status!.code === Status.OK && !this.aborted) waiting.resolve({ value: undefined, done: true });
    else waiting.reject(this.error());
  }
}
