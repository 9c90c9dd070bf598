/**
 * The types of grpc-js's client call API that reference each other: CallOptions, the method a call
 * is for, and the client interceptor shapes (call-interface.ts and client-interceptors.ts).
 */
import type { Metadata } from '../metadata';
import type { Status, StatusObject } from '../status';
import type { CallCredentials } from './credentials';

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
  /** Call credentials for this call: their metadata is added before the channel's own call credentials'. */
  credentials?: CallCredentials;
  /** Interceptors for this call; they replace the client's. */
  interceptors?: Interceptor[];
  /** Interceptor providers for this call; they replace the client's. */
  interceptor_providers?: InterceptorProvider[];
  [key: string]: unknown;
}

/** The method a call is for, as interceptors see it (grpc-js's ClientMethodDefinition). */
export interface CallMethodDefinition<Request = unknown, Response = unknown> {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestSerialize(value: Request): Buffer;
  responseDeserialize(data: Buffer): Response;
  originalName?: string;
}

/** grpc-js's MetadataListener: sees the response headers, passes (possibly other) metadata to `next`. */
export type MetadataListener = (metadata: Metadata, next: (metadata: Metadata) => void) => void;
/** Sees each response message (deserialized), passes one on to `next`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type MessageListener = (message: any, next: (message: any) => void) => void;
/** Sees the call's status, passes one on to `next`. */
export type StatusListener = (status: StatusObject, next: (status: StatusObject) => void) => void;

/** A listener with every method (grpc-js's FullListener). */
export interface FullListener {
  onReceiveMetadata: MetadataListener;
  onReceiveMessage: MessageListener;
  onReceiveStatus: StatusListener;
}

/** What an interceptor's requester passes to `next` in start(): missing methods pass through. */
export type Listener = Partial<FullListener>;

/** The listener a call reports to, without `next` (grpc-js's InterceptingListener). */
export interface InterceptingListener {
  onReceiveMetadata(metadata: Metadata): void;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  onReceiveMessage(message: any): void;
  onReceiveStatus(status: StatusObject): void;
}

/** Sees the request metadata and the call's listener; passes them (or others) to `next` to start the call. */
export type MetadataRequester = (
  metadata: Metadata,
  listener: InterceptingListener,
  next: (metadata: Metadata, listener: InterceptingListener | Listener) => void,
) => void;
/** Sees each request message (before serialization); passes one on to `next`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type MessageRequester = (message: any, next: (message: any) => void) => void;
/** Sees the half-close; calls `next` to pass it on. */
export type CloseRequester = (next: () => void) => void;
/** Sees a cancellation; calls `next` to pass it on. */
export type CancelRequester = (next: () => void) => void;

/** A requester with every method (grpc-js's FullRequester). */
export interface FullRequester {
  start: MetadataRequester;
  sendMessage: MessageRequester;
  halfClose: CloseRequester;
  cancel: CancelRequester;
}

/** The outgoing operations an InterceptingCall intercepts: missing methods pass through. */
export type Requester = Partial<FullRequester>;

/** Write callback and flags of one message (grpc-js's MessageContext). */
export interface MessageContext {
  callback?: (error?: Error | null) => void;
  flags?: number;
}

/** A call in an interceptor chain (grpc-js's InterceptingCallInterface). */
export interface InterceptingCallInterface {
  cancelWithStatus(status: Status, details: string): void;
  getPeer(): string;
  start(metadata: Metadata, listener?: Partial<InterceptingListener>): void;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  sendMessageWithContext(context: MessageContext, message: any): void;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  sendMessage(message: any): void;
  startRead(): void;
  halfClose(): void;
  /** Always null: TLS details of the call's connection are not reported. */
  getAuthContext(): null;
}

/** The call options an interceptor gets: the call's CallOptions and the method's definition. */
export interface InterceptorOptions extends CallOptions {
  method_definition: CallMethodDefinition;
}

/** Makes the next call of the chain (the next interceptor's, or the real call at the end). */
export type NextCall = (options: InterceptorOptions) => InterceptingCallInterface;

/** A client interceptor: returns an InterceptingCall wrapping `nextCall(options)`. */
export type Interceptor = (options: InterceptorOptions, nextCall: NextCall) => InterceptingCallInterface;

/** Returns the interceptor for a method (or nothing, for none). */
export type InterceptorProvider = (methodDefinition: CallMethodDefinition) => Interceptor;
