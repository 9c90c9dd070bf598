import { isSupportedEncoding, type Encoding } from '../compression';
import { Metadata, toMetadata } from '../metadata';
import { ClientDuplexStream, ClientReadableStream, ClientUnaryCall, ClientWritableStream, type RequestCallback } from './call-objects';
import { Channel } from './channel';
import type { ChannelOptions } from './channel-options';
import type { ClientCall, ClientCallListener, ClientMethod } from './client-call';
import { ConnectivityState } from './connectivity-state';
import type { ChannelCredentials } from './credentials';

/** grpc-js's CallOptions: what a single call may set. */
export interface CallOptions {
  /** When the call fails with DEADLINE_EXCEEDED: a Date, a Date.now()-based number of ms, or Infinity. */
  deadline?: Date | number;
  /**
   * A server call this call is made for: its deadline applies (if sooner) and its cancellation
   * cancels this call (grpc-js's default propagate_flags).
   */
  parent?: { getDeadline?(): Date | number; on?(event: 'cancelled', listener: () => void): unknown } | null;
  /** Only grpc-js's default (propagate deadline and cancellation) is implemented. */
  propagate_flags?: number;
  [key: string]: unknown;
}

/** grpc-js's ClientOptions: channel options plus client-only ones. */
export type ClientOptions = ChannelOptions;

/** grpc-js's default propagate_flags: deadline | census stats | census tracing | cancellation. */
const DEFAULT_PROPAGATE_FLAGS = 0xffff;
/** The metadata key grpc-js reads a per-call request compression from. */
const CALL_ENCODING_KEY = 'grpc-internal-encoding-request';
const NO_OPTIONS: CallOptions = {};

type Serialize = (value: never) => Buffer;
type Deserialize = (data: Buffer) => unknown;

/**
 * grpc-js's Client: the base of generated service clients (`new pkg.Echo(target, credentials,
 * options)`), and a way to call any method by path with makeUnaryRequest and friends.
 */
export class Client {
  private readonly channel: Channel;
  /** One ClientMethod per path, so a call allocates none. */
  private readonly methods = new Map<string, ClientMethod>();

  constructor(address: string, credentials: ChannelCredentials, options: ClientOptions = {}) {
    this.channel = new Channel(address, credentials, options);
  }

  /** Closes the client's channel: new calls fail, running ones finish. */
  close(): void {
    this.channel.close();
  }

  /** The channel this client makes its calls on. */
  getChannel(): Channel {
    return this.channel;
  }

  /** Calls back once the channel is READY (connecting it if needed), or with an error at `deadline`. */
  waitForReady(deadline: Date | number, callback: (error?: Error) => void): void {
    const check = (error?: Error): void => {
      if (error) {
        callback(new Error('Failed to connect before the deadline'));
        return;
      }
      let state: ConnectivityState;
      try {
        state = this.channel.getConnectivityState(true);
      } catch (failure) {
        callback(failure as Error);
        return;
      }
      if (state === ConnectivityState.READY) callback();
      else if (state === ConnectivityState.SHUTDOWN) callback(new Error('The channel has been closed'));
      else this.channel.watchConnectivityState(state, deadline, check);
    };
    setImmediate(check);
  }

  /** A unary call: one request, one response to `callback`. */
  makeUnaryRequest<Request, Response>(
    method: string,
    serialize: (value: Request) => Buffer,
    deserialize: (data: Buffer) => Response,
    argument: Request,
    metadata?: Metadata | CallOptions | RequestCallback<Response>,
    options?: CallOptions | RequestCallback<Response>,
    callback?: RequestCallback<Response>,
  ): ClientUnaryCall<Response> {
    const args = callbackArguments(metadata, options, callback);
    const call = new ClientUnaryCall<Response>(args.callback);
    const core = this.startCall(call, method, serialize as Serialize, deserialize, args.metadata, args.options);
    core.sendMessage(argument, true);
    return call;
  }

  /** A client-streaming call: write requests, end(), one response to `callback`. */
  makeClientStreamRequest<Request, Response>(
    method: string,
    serialize: (value: Request) => Buffer,
    deserialize: (data: Buffer) => Response,
    metadata?: Metadata | CallOptions | RequestCallback<Response>,
    options?: CallOptions | RequestCallback<Response>,
    callback?: RequestCallback<Response>,
  ): ClientWritableStream<Request, Response> {
    const args = callbackArguments(metadata, options, callback);
    const call = new ClientWritableStream<Request, Response>(args.callback);
    this.startCall(call, method, serialize as Serialize, deserialize, args.metadata, args.options);
    return call;
  }

  /** A server-streaming call: one request, responses as a Readable. */
  makeServerStreamRequest<Request, Response>(
    method: string,
    serialize: (value: Request) => Buffer,
    deserialize: (data: Buffer) => Response,
    argument: Request,
    metadata?: Metadata | CallOptions,
    options?: CallOptions,
  ): ClientReadableStream<Response> {
    const args = streamArguments(metadata, options);
    const call = new ClientReadableStream<Response>();
    const core = this.startCall(call, method, serialize as Serialize, deserialize, args.metadata, args.options);
    core.sendMessage(argument, true);
    return call;
  }

  /** A bidi call: requests written and responses read on one Duplex. */
  makeBidiStreamRequest<Request, Response>(
    method: string,
    serialize: (value: Request) => Buffer,
    deserialize: (data: Buffer) => Response,
    metadata?: Metadata | CallOptions,
    options?: CallOptions,
  ): ClientDuplexStream<Request, Response> {
    const args = streamArguments(metadata, options);
    const call = new ClientDuplexStream<Request, Response>();
    this.startCall(call, method, serialize as Serialize, deserialize, args.metadata, args.options);
    return call;
  }

  private startCall(
    call: ClientCallListener & { core: ClientCall; cancel(): void },
    path: string,
    serialize: Serialize,
    deserialize: Deserialize,
    metadata: Metadata | null,
    options: CallOptions,
  ): ClientCall {
    checkCallOptions(options);
    let deadline = toDeadline(options.deadline);
    const parent = options.parent;
    if (parent != null && typeof parent.getDeadline === 'function') deadline = Math.min(deadline, toDeadline(parent.getDeadline()));
    let encoding: Encoding | null = null;
    if (metadata !== null && metadata.size > 0) {
      const requested = metadata.get(CALL_ENCODING_KEY);
      if (requested.length > 0) {
        const name = String(requested[0]);
        if (!isSupportedEncoding(name)) throw new Error(`unsupported request compression "${name}" (identity, deflate, gzip)`);
        encoding = name;
        metadata = metadata.clone();
        metadata.remove(CALL_ENCODING_KEY);
      }
    }
    let method = this.methods.get(path);
    if (method === undefined || method.requestSerialize !== serialize || method.responseDeserialize !== deserialize) {
      method = { path, requestSerialize: serialize as (value: unknown) => Buffer, responseDeserialize: deserialize };
      this.methods.set(path, method);
    }
    const core = this.channel.createCall(method, {
      deadline,
      metadata,
      waitForReady: metadata?.getOptions().waitForReady === true,
      encoding,
    });
    call.core = core;
    core.start(call);
    if (parent != null && typeof parent.on === 'function') parent.on('cancelled', () => call.cancel());
    return core;
  }
}

function checkCallOptions(options: CallOptions): void {
  for (const key of Object.keys(options)) {
    if (options[key] === undefined) continue;
    switch (key) {
      case 'deadline':
      case 'parent':
        break;
      case 'propagate_flags':
        if (options.propagate_flags !== DEFAULT_PROPAGATE_FLAGS) throw new Error('CallOptions.propagate_flags: only the default is supported yet');
        break;
      case 'host':
        throw new Error('CallOptions.host is not supported yet (use the grpc.default_authority channel option)');
      case 'credentials':
        throw new Error('CallOptions.credentials: call credentials are not supported yet');
      case 'interceptors':
      case 'interceptor_providers':
        throw new Error(`CallOptions.${key}: client interceptors are not supported yet`);
      default:
        throw new Error(`CallOptions.${key} is not supported`);
    }
  }
}

function toDeadline(deadline: Date | number | undefined): number {
  if (deadline === undefined || deadline === null) return Infinity;
  const value = deadline instanceof Date ? deadline.getTime() : deadline;
  if (typeof value !== 'number' || Number.isNaN(value)) throw new TypeError('CallOptions.deadline must be a Date or a number');
  return value;
}

function isMetadataArgument(value: unknown): boolean {
  return toMetadata(value) !== null;
}

function metadataOf(value: unknown): Metadata | null {
  const metadata = toMetadata(value);
  return metadata === null || metadata.size === 0 ? (metadata?.getOptions().waitForReady ? metadata : null) : metadata;
}

/** grpc-js's checkOptionalUnaryResponseArguments: (metadata?, options?, callback). */
function callbackArguments<Response>(
  first: unknown,
  second: unknown,
  third: unknown,
): { metadata: Metadata | null; options: CallOptions; callback: RequestCallback<Response> } {
  if (typeof first === 'function') return { metadata: null, options: NO_OPTIONS, callback: first as RequestCallback<Response> };
  if (typeof second === 'function') {
    if (isMetadataArgument(first)) return { metadata: metadataOf(first), options: NO_OPTIONS, callback: second as RequestCallback<Response> };
    return { metadata: null, options: (first ?? NO_OPTIONS) as CallOptions, callback: second as RequestCallback<Response> };
  }
  if (typeof third !== 'function') throw new Error('Incorrect arguments passed: a callback is required');
  if (first != null && !isMetadataArgument(first)) throw new Error('Incorrect arguments passed: metadata must be a Metadata object');
  return { metadata: metadataOf(first), options: (second ?? NO_OPTIONS) as CallOptions, callback: third as RequestCallback<Response> };
}

/** (metadata?, options?) of streaming-response calls. */
function streamArguments(first: unknown, second: unknown): { metadata: Metadata | null; options: CallOptions } {
  if (first != null && !isMetadataArgument(first)) return { metadata: null, options: first as CallOptions };
  return { metadata: metadataOf(first), options: (second ?? NO_OPTIONS) as CallOptions };
}

/** A method as grpc-js's service definitions describe it (what makeGenericClientConstructor takes). */
export interface ClientMethodDefinition {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestSerialize(value: unknown): Buffer;
  requestDeserialize(data: Buffer): unknown;
  responseSerialize(value: unknown): Buffer;
  responseDeserialize(data: Buffer): unknown;
  originalName?: string;
}

/** A service definition: method name → definition. */
export type ClientServiceDefinition = { [methodName: string]: ClientMethodDefinition };

/** A generated client class (grpc-js's ServiceClientConstructor). */
export interface ServiceClientConstructor {
  new (address: string, credentials: ChannelCredentials, options?: ClientOptions): Client & { [method: string]: unknown };
  /** The service definition (what Server.addService takes). */
  service: ClientServiceDefinition;
  serviceName: string;
}

const CLIENT_MEMBERS = new Set(Object.getOwnPropertyNames(Client.prototype));

/**
 * Builds a client class for a service definition (grpc-js's makeGenericClientConstructor): one
 * method per RPC, under its name and its originalName (camelCase), taking grpc-js's arguments.
 */
export function makeGenericClientConstructor(methods: ClientServiceDefinition, serviceName: string, _classOptions?: object): ServiceClientConstructor {
  class ServiceClient extends Client {
    static service: ClientServiceDefinition = methods;
    static serviceName: string = serviceName;
  }
  const prototype = ServiceClient.prototype as unknown as { [name: string]: unknown };
  for (const [name, definition] of Object.entries(methods)) {
    if (CLIENT_MEMBERS.has(name)) throw new Error(`Method names cannot reserve names from the Client class: ${name}`);
    const { path, requestSerialize, responseDeserialize } = definition;
    let invoke: (this: Client, ...args: unknown[]) => unknown;
    if (definition.requestStream && definition.responseStream) {
      invoke = function (this: Client, metadata?: unknown, options?: unknown) {
        return this.makeBidiStreamRequest(path, requestSerialize, responseDeserialize, metadata as Metadata, options as CallOptions);
      };
    } else if (definition.requestStream) {
      invoke = function (this: Client, metadata?: unknown, options?: unknown, callback?: unknown) {
        return this.makeClientStreamRequest(
          path,
          requestSerialize,
          responseDeserialize,
          metadata as Metadata,
          options as CallOptions,
          callback as RequestCallback<unknown>,
        );
      };
    } else if (definition.responseStream) {
      invoke = function (this: Client, argument: unknown, metadata?: unknown, options?: unknown) {
        return this.makeServerStreamRequest(path, requestSerialize, responseDeserialize, argument, metadata as Metadata, options as CallOptions);
      };
    } else {
      invoke = function (this: Client, argument: unknown, metadata?: unknown, options?: unknown, callback?: unknown) {
        return this.makeUnaryRequest(
          path,
          requestSerialize,
          responseDeserialize,
          argument,
          metadata as Metadata,
          options as CallOptions,
          callback as RequestCallback<unknown>,
        );
      };
    }
    prototype[name] = invoke;
    const original = definition.originalName;
    if (original !== undefined && original !== name && prototype[original] === undefined && !CLIENT_MEMBERS.has(original)) prototype[original] = invoke;
  }
  return ServiceClient as unknown as ServiceClientConstructor;
}

/** grpc-js's alias of makeGenericClientConstructor. */
export const makeClientConstructor = makeGenericClientConstructor;
