/**
 * Client interceptors with grpc-js's API (its client-interceptors.ts and call-interface.ts): an
 * interceptor wraps the next call of the chain in an InterceptingCall whose Requester sees the
 * outgoing operations (start with metadata, each message, half-close, cancel) and whose Listener
 * sees the incoming ones (metadata, each message, status); each may change, delay or drop them.
 */
import type { Metadata } from '../metadata';
import type { Status, StatusObject } from '../status';
import type {
  CancelRequester,
  CloseRequester,
  FullListener,
  FullRequester,
  InterceptingCallInterface,
  InterceptingListener,
  Listener,
  MessageContext,
  MessageListener,
  MessageRequester,
  MetadataListener,
  MetadataRequester,
  Requester,
  StatusListener,
} from './call-types';

export type {
  CancelRequester,
  CloseRequester,
  FullListener,
  FullRequester,
  InterceptingCallInterface,
  InterceptingListener,
  Interceptor,
  InterceptorOptions,
  InterceptorProvider,
  Listener,
  MessageContext,
  MessageListener,
  MessageRequester,
  MetadataListener,
  MetadataRequester,
  NextCall,
  Requester,
  StatusListener,
} from './call-types';

/** Thrown when both `interceptors` and `interceptor_providers` are given (to a client or to a call). */
export class InterceptorConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InterceptorConfigurationError';
  }
}

/** Builds a Listener (grpc-js's ListenerBuilder). */
export class ListenerBuilder {
  private metadata: MetadataListener | undefined = undefined;
  private message: MessageListener | undefined = undefined;
  private status: StatusListener | undefined = undefined;

  withOnReceiveMetadata(onReceiveMetadata: MetadataListener): this {
    this.metadata = onReceiveMetadata;
    return this;
  }

  withOnReceiveMessage(onReceiveMessage: MessageListener): this {
    this.message = onReceiveMessage;
    return this;
  }

  withOnReceiveStatus(onReceiveStatus: StatusListener): this {
    this.status = onReceiveStatus;
    return this;
  }

  build(): Listener {
    return { onReceiveMetadata: this.metadata, onReceiveMessage: this.message, onReceiveStatus: this.status };
  }
}

/** Builds a Requester (grpc-js's RequesterBuilder). */
export class RequesterBuilder {
  private start: MetadataRequester | undefined = undefined;
  private message: MessageRequester | undefined = undefined;
  private halfClose: CloseRequester | undefined = undefined;
  private cancel: CancelRequester | undefined = undefined;

  withStart(start: MetadataRequester): this {
    this.start = start;
    return this;
  }

  withSendMessage(sendMessage: MessageRequester): this {
    this.message = sendMessage;
    return this;
  }

  withHalfClose(halfClose: CloseRequester): this {
    this.halfClose = halfClose;
    return this;
  }

  withCancel(cancel: CancelRequester): this {
    this.cancel = cancel;
    return this;
  }

  build(): Requester {
    return { start: this.start, sendMessage: this.message, halfClose: this.halfClose, cancel: this.cancel };
  }
}

const passMetadata: MetadataListener = (metadata, next) => next(metadata);
const passMessage: MessageListener = (message, next) => next(message);
const passStatus: StatusListener = (status, next) => next(status);
const passStart: MetadataRequester = (metadata, listener, next) => next(metadata, listener);
const passClose: CloseRequester = (next) => next();
const ignore = (): void => {};

/** Whether a listener is an InterceptingListener (grpc-js tells them apart by onReceiveMetadata's arity). */
function isInterceptingListener(listener: InterceptingListener | Listener): listener is InterceptingListener {
  return listener.onReceiveMetadata !== undefined && listener.onReceiveMetadata.length === 1;
}

/**
 * Runs a Listener's methods in front of the next listener, keeping the order grpc-js keeps: a
 * message waits for the metadata's `next`, the status for both.
 */
class InterceptingListenerImpl implements InterceptingListener {
  private processingMetadata = false;
  private hasPendingMessage = false;
  private pendingMessage: unknown = null;
  private processingMessage = false;
  private pendingStatus: StatusObject | null = null;

  constructor(
    private readonly listener: FullListener,
    private readonly nextListener: InterceptingListener,
  ) {}

  private processPendingMessage(): void {
    if (!this.hasPendingMessage) return;
    this.nextListener.onReceiveMessage(this.pendingMessage);
    this.pendingMessage = null;
    this.hasPendingMessage = false;
  }

  private processPendingStatus(): void {
    if (this.pendingStatus !== null) this.nextListener.onReceiveStatus(this.pendingStatus);
  }

  onReceiveMetadata(metadata: Metadata): void {
    this.processingMetadata = true;
    this.listener.onReceiveMetadata(metadata, (next) => {
      this.processingMetadata = false;
      this.nextListener.onReceiveMetadata(next);
      this.processPendingMessage();
      this.processPendingStatus();
    });
  }

  onReceiveMessage(message: unknown): void {
    this.processingMessage = true;
    this.listener.onReceiveMessage(message, (next) => {
      this.processingMessage = false;
      if (this.processingMetadata) {
        this.pendingMessage = next;
        this.hasPendingMessage = true;
      } else {
        this.nextListener.onReceiveMessage(next);
        this.processPendingStatus();
      }
    });
  }

  onReceiveStatus(status: StatusObject): void {
    this.listener.onReceiveStatus(status, (next) => {
      if (this.processingMetadata || this.processingMessage) this.pendingStatus = next;
      else this.nextListener.onReceiveStatus(next);
    });
  }
}

/**
 * One link of an interceptor chain (grpc-js's InterceptingCall): passes each operation through the
 * Requester to the next call, and the next call's events through the Listener given to start()'s
 * `next`. A message sent while the start is still being processed waits for it, and the half-close
 * waits for both.
 */
export class InterceptingCall implements InterceptingCallInterface {
  private readonly requester: FullRequester;
  private processingMetadata = false;
  private pendingMessageContext: MessageContext | null = null;
  private pendingMessage: unknown = null;
  private processingMessage = false;
  private pendingHalfClose = false;

  constructor(
    private readonly nextCall: InterceptingCallInterface,
    requester?: Requester,
  ) {
    this.requester = {
      start: requester?.start ?? passStart,
      sendMessage: requester?.sendMessage ?? passMessage,
      halfClose: requester?.halfClose ?? passClose,
      cancel: requester?.cancel ?? passClose,
    };
  }

  cancelWithStatus(status: Status, details: string): void {
    this.requester.cancel(() => this.nextCall.cancelWithStatus(status, details));
  }

  getPeer(): string {
    return this.nextCall.getPeer();
  }

  private processPendingMessage(): void {
    if (this.pendingMessageContext === null) return;
    this.nextCall.sendMessageWithContext(this.pendingMessageContext, this.pendingMessage);
    this.pendingMessageContext = null;
    this.pendingMessage = null;
  }

  private processPendingHalfClose(): void {
    if (this.pendingHalfClose) this.nextCall.halfClose();
  }

  start(metadata: Metadata, interceptingListener?: Partial<InterceptingListener>): void {
    const full: InterceptingListener = {
      onReceiveMetadata: interceptingListener?.onReceiveMetadata?.bind(interceptingListener) ?? ignore,
      onReceiveMessage: interceptingListener?.onReceiveMessage?.bind(interceptingListener) ?? ignore,
      onReceiveStatus: interceptingListener?.onReceiveStatus?.bind(interceptingListener) ?? ignore,
    };
    this.processingMetadata = true;
    this.requester.start(metadata, full, (nextMetadata, listener) => {
      this.processingMetadata = false;
      const next = isInterceptingListener(listener)
        ? listener
        : new InterceptingListenerImpl(
            {
              onReceiveMetadata: listener.onReceiveMetadata ?? passMetadata,
              onReceiveMessage: listener.onReceiveMessage ?? passMessage,
              onReceiveStatus: listener.onReceiveStatus ?? passStatus,
            },
            full,
          );
      this.nextCall.start(nextMetadata, next);
      this.processPendingMessage();
      this.processPendingHalfClose();
    });
  }

  sendMessageWithContext(context: MessageContext, message: unknown): void {
    this.processingMessage = true;
    this.requester.sendMessage(message, (finalMessage) => {
      this.processingMessage = false;
      if (this.processingMetadata) {
        this.pendingMessageContext = context;
        this.pendingMessage = finalMessage;
      } else {
        this.nextCall.sendMessageWithContext(context, finalMessage);
        this.processPendingHalfClose();
      }
    });
  }

  sendMessage(message: unknown): void {
    this.sendMessageWithContext({}, message);
  }

  startRead(): void {
    this.nextCall.startRead();
  }

  halfClose(): void {
    this.requester.halfClose(() => {
      if (this.processingMetadata || this.processingMessage) this.pendingHalfClose = true;
      else this.nextCall.halfClose();
    });
  }

  getAuthContext(): null {
    return null;
  }
}
