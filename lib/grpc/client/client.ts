import { Metadata, toMetadata } from '../metadata';
import { ClientDuplexStream, ClientReadableStream, ClientUnaryCall, ClientWritableStream, type RequestCallback } from './call-objects';
import { type CallMethodDefinition, type CallOptions, callCoreOptions, checkCallOptions } from './call-options';
import { Channel } from './channel';
import type { ChannelOptions } from './channel-options';
import type { ClientMethod } from './client-call';
import { ConnectivityState } from './connectivity-state';
import type { CallCredentials, ChannelCredentials } from './credentials';
import { type CallCore, type CallObjectListener, InterceptedCall, selectInterceptors } from './intercepted-call';
import { type Interceptor, InterceptorConfigurationError, type InterceptorProvider } from './interceptors';

export type { CallOptions } from './call-options';

/** grpc-js's ClientOptions: channel options plus client-only ones. */
export interface ClientOptions extends ChannelOptions {
  /** Interceptors for every call of this client (unless a call gives its own). */
  interceptors?: Interceptor[];
  /** Interceptor providers (method definition → interceptor) for every call of this client. */
  interceptor_providers?: InterceptorProvider[];
}

const NO_OPTIONS: CallOptions = {};
const NO_INTERCEPTORS: readonly Interceptor[] = [];
const NO_PROVIDERS: readonly InterceptorProvider[] = [];

/** @internal The four call kinds. */
export enum CallKind {
  Unary,
  ClientStream,
  ServerStream,
  Bidi,
}

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
  private readonly interceptors: readonly Interceptor[];
  private readonly interceptorProviders: readonly InterceptorProvider[];
  /** The channel credentials' call credentials (combineChannelCredentials), or null. */
  private readonly callCredentials: CallCredentials | null;

  constructor(address: string, credentials: ChannelCredentials, options: ClientOptions = {}) {
    const { interceptors, interceptor_providers: providers, ...channelOptions } = options;
    if (interceptors !== undefined && !Array.isArray(interceptors)) throw new TypeError('client option "interceptors" must be an array');
    if (providers !== undefined && !Array.isArray(providers)) throw new TypeError('client option "interceptor_providers" must be an array');
    this.interceptors = interceptors ?? NO_INTERCEPTORS;
    this.interceptorProviders = providers ?? NO_PROVIDERS;
    if (this.interceptors.length > 0 && this.interceptorProviders.length > 0) {
      throw new InterceptorConfigurationError(
        'Both interceptors and interceptor_providers were passed as options to the client constructor. Only one of these is allowed.',
      );
    }
    this.channel = new Channel(address, credentials, channelOptions);
    this.callCredentials = credentials.callCredentials;
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
    const core = this.startCall(CallKind.Unary, call, method, serialize as Serialize, deserialize, args.metadata, args.options);
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
    this.startCall(CallKind.ClientStream, call, method, serialize as Serialize, deserialize, args.metadata, args.options);
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
    const core = this.startCall(CallKind.ServerStream, call, method, serialize as Serialize, deserialize, args.metadata, args.options);
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
    this.startCall(CallKind.Bidi, call, method, serialize as Serialize, deserialize, args.metadata, args.options);
    return call;
  }

  /** @internal Starts a call of any kind for a call object (or the async client's listeners). */
  startCall(
    kind: CallKind,
    call: CallObjectListener & { core: CallCore; cancel(): void },
    path: string,
    serialize: Serialize,
    deserialize: Deserialize,
    metadata: Metadata | null,
    options: CallOptions,
  ): CallCore {
    checkCallOptions(options);
    let method = this.methods.get(path);
    if (method === undefined || method.requestSerialize !== serialize || method.responseDeserialize !== deserialize) {
      method = { path, requestSerialize: serialize as (value: unknown) => Buffer, responseDeserialize: deserialize };
      this.methods.set(path, method);
    }
    let core: CallCore;
    if (
      this.interceptors.length === 0 &&
      this.interceptorProviders.length === 0 &&
      options.interceptors === undefined &&
      options.interceptor_providers === undefined
    ) {
      const plain = this.channel.createCall(method, callCoreOptions(metadata, options, this.callCredentials));
      call.core = core = plain;
      plain.start(call);
    } else {
      core = this.startIntercepted(kind, call, method, metadata, options);
    }
    const parent = options.parent;
    if (parent != null && typeof parent.on === 'function') parent.on('cancelled', () => call.cancel());
    return core;
  }

  /** A call through interceptors (only when some are configured). */
  private startIntercepted(
    kind: CallKind,
    call: CallObjectListener & { core: CallCore },
    method: ClientMethod,
    metadata: Metadata | null,
    options: CallOptions,
  ): CallCore {
    const definition: CallMethodDefinition = {
      path: method.path,
      requestStream: kind === CallKind.ClientStream || kind === CallKind.Bidi,
      responseStream: kind === CallKind.ServerStream || kind === CallKind.Bidi,
      requestSerialize: method.requestSerialize,
      responseDeserialize: method.responseDeserialize,
    };
    const interceptors = selectInterceptors(
      {
        clientInterceptors: this.interceptors,
        clientInterceptorProviders: this.interceptorProviders,
        callInterceptors: options.interceptors ?? NO_INTERCEPTORS,
        callInterceptorProviders: options.interceptor_providers ?? NO_PROVIDERS,
      },
      definition,
    );
    const intercepted = new InterceptedCall(this.channel, method, definition, this.callCredentials, interceptors, options, call);
    call.core = intercepted;
    intercepted.start(metadata ?? new Metadata());
    return intercepted;
  }
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
