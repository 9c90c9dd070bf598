/**
 * Calls through client interceptors: the chain built from the interceptors (grpc-js's
 * getInterceptingCall), the link at its bottom that runs the call core, and the adapter at its top
 * that the call objects drive as they drive a plain call core. Used only when interceptors are
 * configured; a call without them never touches this module.
 */
import type { HeaderList } from '../../transport';
import { Metadata, toMetadata } from '../metadata';
import { Status, type StatusObject } from '../status';
import { type CallMethodDefinition, type CallOptions, callCoreOptions } from './call-options';
import type { Channel } from './channel';
import type { ClientCall, ClientCallListener, ClientMethod } from './client-call';
import type { CallCredentials } from './credentials';
import {
  type Interceptor,
  InterceptorConfigurationError,
  type InterceptingCallInterface,
  type InterceptingListener,
  type InterceptorOptions,
  type InterceptorProvider,
  type MessageContext,
  type NextCall,
} from './interceptors';
import { PendingWrites } from './pending-writes';

/** What the call objects drive: the call core itself, or an InterceptedCall. */
export interface CallCore {
  readonly isDone: boolean;
  readonly peer: string;
  sendMessage(message: unknown, last?: boolean): boolean;
  halfClose(): void;
  cancelWithStatus(code: Status, details: string): void;
  pauseReading(): void;
  resumeReading(): void;
}

/** What a call object hears (ClientCallListener, with metadata already built by the interceptors). */
export interface CallObjectListener {
  onReceiveMetadata(headers: HeaderList | Metadata): void;
  onReceiveMessage(message: unknown): void;
  onReceiveStatus(status: StatusObject): void;
  onDrain(): void;
}

/** The client's and the call's interceptors (grpc-js's InterceptorArguments). */
export interface InterceptorArguments {
  clientInterceptors: readonly Interceptor[];
  clientInterceptorProviders: readonly InterceptorProvider[];
  callInterceptors: readonly Interceptor[];
  callInterceptorProviders: readonly InterceptorProvider[];
}

/** What the bottom of a chain needs to make the real call. */
interface CallFactory {
  readonly channel: Channel;
  readonly method: ClientMethod;
  readonly definition: CallMethodDefinition;
  readonly channelCredentials: CallCredentials | null;
  /** The bottom links made so far (an interceptor may make several calls, e.g. to retry). */
  readonly bottoms: BottomCall[];
}

function deliverStatus(listener: Partial<InterceptingListener>, status: StatusObject): void {
  listener.onReceiveStatus?.(status);
}

/**
 * The end of the chain (grpc-js's BaseInterceptingCall): makes the call core when the chain
 * starts it, with the metadata and options the interceptors settled on; messages go down
 * unserialized (the core serializes them) and come up deserialized. A method with a single
 * response reports a null message before an OK status without one, as grpc-js does.
 */
class BottomCall implements InterceptingCallInterface, ClientCallListener {
  private core: ClientCall | null = null;
  private listener: Partial<InterceptingListener> = {};
  private cancelled: StatusObject | null = null;
  /** Sends and the half-close before start() wait for the core. */
  private readonly writes = new PendingWrites();
  private received = false;
  private paused = false;

  constructor(
    private readonly factory: CallFactory,
    private readonly options: InterceptorOptions,
  ) {}

  start(metadata: Metadata, listener?: Partial<InterceptingListener>): void {
    this.listener = listener ?? {};
    if (this.cancelled !== null) {
      this.writes.discard();
      process.nextTick(deliverStatus, this.listener, this.cancelled);
      return;
    }
    let core: ClientCall;
    try {
      const coreOptions = callCoreOptions(toMetadata(metadata), this.options, this.factory.channelCredentials);
      core = this.factory.channel.createCall(this.factory.method, coreOptions);
    } catch (error) {
      const code = this.factory.channel.isClosed ? Status.UNAVAILABLE : Status.INTERNAL;
      this.writes.discard();
      process.nextTick(deliverStatus, this.listener, { code, details: (error as Error).message, metadata: new Metadata() });
      return;
    }
    this.core = core;
    this.factory.bottoms.push(this);
    if (this.paused) core.pauseReading();
    core.start(this);
    this.writes.attach(core);
  }

  sendMessageWithContext(context: MessageContext, message: unknown): void {
    this.writes.send(context, message);
  }

  sendMessage(message: unknown): void {
    this.sendMessageWithContext({}, message);
  }

  halfClose(): void {
    this.writes.halfClose();
  }

  cancelWithStatus(code: Status, details: string): void {
    if (this.core !== null) this.core.cancelWithStatus(code, details);
    else this.cancelled ??= { code, details, metadata: new Metadata() };
  }

  startRead(): void {
    this.paused = false;
    this.core?.resumeReading();
  }

  /** @internal Holds response messages back (flow control from the call object). */
  pauseReading(): void {
    this.paused = true;
    this.core?.pauseReading();
  }

  getPeer(): string {
    return this.core?.peer ?? this.factory.channel.target;
  }

  getAuthContext(): null {
    return null;
  }

  // ---- ClientCallListener (from the core) ----

  onReceiveMetadata(headers: HeaderList): void {
    this.listener.onReceiveMetadata?.(Metadata.fromHeaders(headers));
  }

  onReceiveMessage(message: unknown): void {
    this.received = true;
    this.listener.onReceiveMessage?.(message);
  }

  onReceiveStatus(status: StatusObject): void {
    this.onDrain();
    if (!this.factory.definition.responseStream && !this.received) this.listener.onReceiveMessage?.(null);
    this.listener.onReceiveStatus?.(status);
  }

  onDrain(): void {
    this.writes.drain();
  }
}

/**
 * The top of a chain, driven by a call object as it drives a call core: writes report room once
 * the chain's write callback runs, reads pause and resume the real calls below.
 */
export class InterceptedCall implements CallCore, InterceptingListener, CallFactory {
  readonly bottoms: BottomCall[] = [];
  private readonly top: InterceptingCallInterface;
  private done = false;
  private sending = false;
  private accepted = false;
  private waitingForWrite = false;
  private readonly writeDone = (): void => {
    if (this.sending) {
      this.accepted = true;
    } else if (this.waitingForWrite) {
      this.waitingForWrite = false;
      this.target.onDrain();
    }
  };

  constructor(
    readonly channel: Channel,
    readonly method: ClientMethod,
    readonly definition: CallMethodDefinition,
    readonly channelCredentials: CallCredentials | null,
    interceptors: readonly Interceptor[],
    options: CallOptions,
    private readonly target: CallObjectListener,
  ) {
    const interceptorOptions: InterceptorOptions = { ...options, method_definition: definition };
    const bottom: NextCall = (finalOptions) => new BottomCall(this, finalOptions);
    const nextCall = interceptors.reduceRight<NextCall>((next, interceptor) => (current) => interceptor(current, next), bottom);
    this.top = nextCall(interceptorOptions);
  }

  /** Starts the chain with the call's metadata. */
  start(metadata: Metadata): void {
    this.top.start(metadata, this);
  }

  // ---- CallCore ----

  get isDone(): boolean {
    return this.done;
  }

  get peer(): string {
    return this.top.getPeer();
  }

  sendMessage(message: unknown, last = false): boolean {
    if (this.done) return false;
    this.sending = true;
    this.accepted = false;
    this.top.sendMessageWithContext({ callback: this.writeDone }, message);
    this.sending = false;
    if (last) this.top.halfClose();
    if (this.accepted) return true;
    this.waitingForWrite = true;
    return false;
  }

  halfClose(): void {
    this.top.halfClose();
  }

  cancelWithStatus(code: Status, details: string): void {
    this.top.cancelWithStatus(code, details);
  }

  pauseReading(): void {
    for (const bottom of this.bottoms) bottom.pauseReading();
  }

  resumeReading(): void {
    this.top.startRead();
  }

  // ---- InterceptingListener (from the top of the chain) ----

  onReceiveMetadata(metadata: Metadata): void {
    if (!this.done) this.target.onReceiveMetadata(toMetadata(metadata) ?? new Metadata());
  }

  onReceiveMessage(message: unknown): void {
    // A single-response method's "no message" marker (see BottomCall).
    if (this.done || (message === null && !this.definition.responseStream)) return;
    this.target.onReceiveMessage(message);
  }

  onReceiveStatus(status: StatusObject): void {
    if (this.done) return;
    this.done = true;
    if (this.waitingForWrite) this.writeDone();
    this.target.onReceiveStatus({ code: status.code, details: status.details, metadata: toMetadata(status.metadata) ?? new Metadata() });
  }
}

/**
 * The interceptors a call goes through (grpc-js's rules): the call's own replace the client's; a
 * client or a call may give interceptors or providers, not both; providers returning nothing are
 * skipped. An empty list means the call needs no chain.
 */
export function selectInterceptors(args: InterceptorArguments, definition: CallMethodDefinition): Interceptor[] {
  if (args.callInterceptors.length > 0 && args.callInterceptorProviders.length > 0) {
    throw new InterceptorConfigurationError('Both interceptors and interceptor_providers were passed as call options. Only one of these is allowed.');
  }
  const useCall = args.callInterceptors.length > 0 || args.callInterceptorProviders.length > 0;
  const interceptors = useCall ? args.callInterceptors : args.clientInterceptors;
  const providers = useCall ? args.callInterceptorProviders : args.clientInterceptorProviders;
  return [...interceptors, ...providers.map((provider) => provider(definition))].filter((interceptor) => typeof interceptor === 'function');
}
