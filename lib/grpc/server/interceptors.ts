/**
 * Server interceptors with grpc-js's API (1.10+): a `ServerInterceptor` wraps the call it is given
 * in a `ServerInterceptingCall`, whose `Responder` sees what the handler side sends (metadata,
 * messages, status) and whose `ServerListener` sees what the client sends (metadata, messages,
 * half-close) and the end of the call (onCancel). Each hook passes its value on with `next`, after
 * changing it or not, now or later; one that does not call `next` stops that event there (an auth
 * interceptor answers with `call.sendStatus()` instead of passing the metadata on).
 *
 * With `interceptors: [a, b]` in the Server options, `a` is the outermost: it hears the client's
 * events first and the handler's output last.
 */
import { Metadata } from '../metadata';
import type { Status } from '../status';
import type { PerRequestMetricRecorder } from './metrics-recorder';
import type { AuthContext, ConnectionInfo, Deadline, ServerMethodDefinition } from './call-types';

/** A status as interceptors and handlers send it (grpc-js's PartialStatusObject). */
export interface PartialStatusObject {
  code: Status;
  details: string;
  metadata?: Metadata | null;
}

/** Sees the request metadata; passes it (or another) on with `next`. */
export type ServerMetadataListener = (metadata: Metadata, next: (metadata: Metadata) => void) => void;
/** Sees each request message; passes it (or another) on with `next`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ServerMessageListener = (message: any, next: (message: any) => void) => void;
/** Sees the client's half-close; passes it on with `next`. */
export type ServerHalfCloseListener = (next: () => void) => void;
/** Told when the call ends: cancelled by the client or a deadline, and also after any status is sent (as grpc-js). */
export type ServerCancelListener = () => void;

/** Every hook of a server listener. */
export interface FullServerListener {
  onReceiveMetadata: ServerMetadataListener;
  onReceiveMessage: ServerMessageListener;
  onReceiveHalfClose: ServerHalfCloseListener;
  onCancel: ServerCancelListener;
}

/** The hooks an interceptor wants; the others pass events on unchanged. */
export type ServerListener = Partial<FullServerListener>;

/** What a call's `start()` is given: the next listener, which takes events without a `next`. */
export interface InterceptingServerListener {
  onReceiveMetadata(metadata: Metadata): void;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  onReceiveMessage(message: any): void;
  onReceiveHalfClose(): void;
  onCancel(): void;
}

/** Builds a ServerListener hook by hook. */
export class ServerListenerBuilder {
  private metadata: ServerMetadataListener | undefined = undefined;
  private message: ServerMessageListener | undefined = undefined;
  private halfClose: ServerHalfCloseListener | undefined = undefined;
  private cancel: ServerCancelListener | undefined = undefined;

  withOnReceiveMetadata(onReceiveMetadata: ServerMetadataListener): this {
    this.metadata = onReceiveMetadata;
    return this;
  }

  withOnReceiveMessage(onReceiveMessage: ServerMessageListener): this {
    this.message = onReceiveMessage;
    return this;
  }

  withOnReceiveHalfClose(onReceiveHalfClose: ServerHalfCloseListener): this {
    this.halfClose = onReceiveHalfClose;
    return this;
  }

  withOnCancel(onCancel: ServerCancelListener): this {
    this.cancel = onCancel;
    return this;
  }

  build(): ServerListener {
    return { onReceiveMetadata: this.metadata, onReceiveMessage: this.message, onReceiveHalfClose: this.halfClose, onCancel: this.cancel };
  }
}

/** Called when the handler side starts the call; `next(listener)` starts the inner call with this interceptor's listener. */
export type StartResponder = (next: (listener?: ServerListener) => void) => void;
/** Sees the response metadata; passes it (or another) on with `next`. */
export type MetadataResponder = (metadata: Metadata, next: (metadata: Metadata) => void) => void;
/** Sees each response message; passes it (or another) on with `next`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type MessageResponder = (message: any, next: (message: any) => void) => void;
/** Sees the status; passes it (or another) on with `next`. */
export type StatusResponder = (status: PartialStatusObject, next: (status: PartialStatusObject) => void) => void;

/** Every hook of a responder. */
export interface FullResponder {
  start: StartResponder;
  sendMetadata: MetadataResponder;
  sendMessage: MessageResponder;
  sendStatus: StatusResponder;
}

/** The hooks an interceptor wants; the others pass output on unchanged. */
export type Responder = Partial<FullResponder>;

/** Builds a Responder hook by hook. */
export class ResponderBuilder {
  private start: StartResponder | undefined = undefined;
  private metadata: MetadataResponder | undefined = undefined;
  private message: MessageResponder | undefined = undefined;
  private status: StatusResponder | undefined = undefined;

  withStart(start: StartResponder): this {
    this.start = start;
    return this;
  }

  withSendMetadata(sendMetadata: MetadataResponder): this {
    this.metadata = sendMetadata;
    return this;
  }

  withSendMessage(sendMessage: MessageResponder): this {
    this.message = sendMessage;
    return this;
  }

  withSendStatus(sendStatus: StatusResponder): this {
    this.status = sendStatus;
    return this;
  }

  build(): Responder {
    return { start: this.start, sendMetadata: this.metadata, sendMessage: this.message, sendStatus: this.status };
  }
}

/** The call an interceptor is given (the next one towards the client) and the one it returns. */
export interface ServerInterceptingCallInterface {
  /** Registers the listener for the client's events (and starts the call). */
  start(listener: InterceptingServerListener): void;
  /** Sends response metadata (once; later calls are ignored). */
  sendMetadata(metadata: Metadata): void;
  /** Sends a response message; `callback` runs once it is handed on (not at all if the call is over). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  sendMessage(message: any, callback: () => void): void;
  /** Ends the call with this status. */
  sendStatus(status: PartialStatusObject): void;
  /** Asks for the next request message (reads are driven by the handler side; kept for grpc-js code). */
  startRead(): void;
  /** The client's address ("host:port"), or "unknown". */
  getPeer(): string;
  /** The client's deadline, or Infinity. */
  getDeadline(): Deadline;
  /** The request's :authority. */
  getHost(): string;
  /** The connection's security ({} on insecure connections). */
  getAuthContext(): AuthContext;
  /** The connection's local and remote addresses. */
  getConnectionInfo(): ConnectionInfo;
  /** This call's ORCA metrics recorder. */
  getMetricsRecorder(): PerRequestMetricRecorder;
}

/** Wraps the next call: what passes through its Responder goes on to that call. */
export class ServerInterceptingCall implements ServerInterceptingCallInterface {
  private readonly responder: FullResponder;
  /** Between sendMetadata() and its `next`: a message or status waits behind it. */
  private processingMetadata = false;
  private sentMetadata = false;
  /** Between sendMessage() and its `next`: a status waits behind it. */
  private processingMessage = false;
  private pendingMessage: unknown = null;
  private pendingMessageCallback: (() => void) | null = null;
  private pendingStatus: PartialStatusObject | null = null;

  constructor(
    private readonly nextCall: ServerInterceptingCallInterface,
    responder?: Responder,
  ) {
    this.responder = {
      start: responder?.start ?? passStart,
      sendMetadata: responder?.sendMetadata ?? passOn,
      sendMessage: responder?.sendMessage ?? passOn,
      sendStatus: responder?.sendStatus ?? passOn,
    };
  }

  start(listener: InterceptingServerListener): void {
    this.responder.start((interceptorListener) => {
      this.nextCall.start(new ListenerLink(interceptorListener, listener));
    });
  }

  sendMetadata(metadata: Metadata): void {
    this.processingMetadata = true;
    this.sentMetadata = true;
    this.responder.sendMetadata(metadata, (passed) => {
      this.processingMetadata = false;
      this.nextCall.sendMetadata(passed);
      if (this.pendingMessageCallback !== null) {
        const callback = this.pendingMessageCallback;
        this.pendingMessageCallback = null;
        const message = this.pendingMessage;
        this.pendingMessage = null;
        this.nextCall.sendMessage(message, callback);
      }
      this.flushStatus();
    });
  }

  sendMessage(message: unknown, callback: () => void): void {
    this.processingMessage = true;
    // Response metadata goes first, through this interceptor too.
    if (!this.sentMetadata) this.sendMetadata(new Metadata());
    this.responder.sendMessage(message, (passed) => {
      this.processingMessage = false;
      if (this.processingMetadata) {
        this.pendingMessage = passed;
        this.pendingMessageCallback = callback;
      } else {
        this.nextCall.sendMessage(passed, callback);
        this.flushStatus();
      }
    });
  }

  sendStatus(status: PartialStatusObject): void {
    this.responder.sendStatus(status, (passed) => {
      if (this.processingMetadata || this.processingMessage) this.pendingStatus = passed;
      else this.nextCall.sendStatus(passed);
    });
  }

  private flushStatus(): void {
    if (this.pendingStatus === null || this.processingMessage) return;
    const status = this.pendingStatus;
    this.pendingStatus = null;
    this.nextCall.sendStatus(status);
  }

  startRead(): void {
    this.nextCall.startRead();
  }
  getPeer(): string {
    return this.nextCall.getPeer();
  }
  getDeadline(): Deadline {
    return this.nextCall.getDeadline();
  }
  getHost(): string {
    return this.nextCall.getHost();
  }
  getAuthContext(): AuthContext {
    return this.nextCall.getAuthContext();
  }
  getConnectionInfo(): ConnectionInfo {
    return this.nextCall.getConnectionInfo();
  }
  getMetricsRecorder(): PerRequestMetricRecorder {
    return this.nextCall.getMetricsRecorder();
  }
}

/** An interceptor: wraps `call` (the next call towards the client) for one call of `methodDescriptor`. */
export type ServerInterceptor = (
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  methodDescriptor: ServerMethodDefinition<any, any>,
  call: ServerInterceptingCallInterface,
) => ServerInterceptingCall;

const passStart: StartResponder = (next) => next();
const passOn = <T>(value: T, next: (value: T) => void): void => next(value);

/**
 * Links an interceptor's listener to the next listener (towards the handler): holds a message or
 * the half-close that arrives while the interceptor still works on the metadata (or a message), so
 * the handler side hears them in order; after onCancel it passes nothing more on.
 */
class ListenerLink implements InterceptingServerListener {
  private readonly hooks: FullServerListener;
  private cancelled = false;
  private processingMetadata = false;
  private processingMessage = false;
  private hasPendingMessage = false;
  private pendingMessage: unknown = null;
  private hasPendingHalfClose = false;

  constructor(
    listener: ServerListener | undefined,
    private readonly next: InterceptingServerListener,
  ) {
    this.hooks = {
      onReceiveMetadata: listener?.onReceiveMetadata ?? passOn,
      onReceiveMessage: listener?.onReceiveMessage ?? passOn,
      onReceiveHalfClose: listener?.onReceiveHalfClose ?? passHalfClose,
      onCancel: listener?.onCancel ?? noop,
    };
  }

  onReceiveMetadata(metadata: Metadata): void {
    if (this.cancelled) return;
    this.processingMetadata = true;
    this.hooks.onReceiveMetadata(metadata, (passed) => {
      this.processingMetadata = false;
      if (this.cancelled) return;
      this.next.onReceiveMetadata(passed);
      if (this.hasPendingMessage) {
        const message = this.pendingMessage;
        this.hasPendingMessage = false;
        this.pendingMessage = null;
        this.next.onReceiveMessage(message);
      }
      this.flushHalfClose();
    });
  }

  onReceiveMessage(message: unknown): void {
    if (this.cancelled) return;
    this.processingMessage = true;
    this.hooks.onReceiveMessage(message, (passed) => {
      this.processingMessage = false;
      if (this.cancelled) return;
      if (this.processingMetadata) {
        this.pendingMessage = passed;
        this.hasPendingMessage = true;
        return;
      }
      this.next.onReceiveMessage(passed);
      this.flushHalfClose();
    });
  }

  onReceiveHalfClose(): void {
    if (this.cancelled) return;
    this.hooks.onReceiveHalfClose(() => {
      if (this.cancelled) return;
      if (this.processingMetadata || this.processingMessage) this.hasPendingHalfClose = true;
      else this.next.onReceiveHalfClose();
    });
  }

  private flushHalfClose(): void {
    if (!this.hasPendingHalfClose || this.processingMessage) return;
    this.hasPendingHalfClose = false;
    this.next.onReceiveHalfClose();
  }

  onCancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.hooks.onCancel();
    this.next.onCancel();
  }
}

const passHalfClose: ServerHalfCloseListener = (next) => next();
const noop = (): void => {};
