/**
 * Runs one call through a server's interceptors: builds the chain over the call (the first
 * interceptor outermost, as grpc-js's reduce does), delivers the client's events through it to the
 * handler side and carries the handler side's output back through it to the call. Only servers
 * with interceptors come here; calls of the others never touch this module.
 */
import type { Metadata } from '../metadata';
import { Status } from '../status';
import type { AuthContext, ConnectionInfo, Deadline, ServerMethodDefinition } from './call-types';
import type { InterceptingServerListener, PartialStatusObject, ServerInterceptingCallInterface, ServerInterceptor } from './interceptors';
import type { PerRequestMetricRecorder } from './metrics-recorder';
import { type CallSink, INTERCEPTORS, type Interception, type ServerCall } from './server-call';

/**
 * Starts `core` behind `interceptors`; `runHandler` starts the handler side once the request
 * metadata has passed all of them (an interceptor that answers instead keeps the handler from
 * ever running).
 */
export function startIntercepted(
  core: ServerCall,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  descriptor: ServerMethodDefinition<any, any>,
  interceptors: readonly ServerInterceptor[],
  runHandler: () => void,
): void {
  const bridge = new Bridge(core);
  core.startIntercepted(bridge);
  let call: ServerInterceptingCallInterface = new BaseCall(core, bridge);
  try {
    for (const interceptor of interceptors) {
      call = interceptor(descriptor, call);
      if (typeof call !== 'object' || call === null || typeof call.start !== 'function') {
        throw new TypeError('a server interceptor must return a ServerInterceptingCall');
      }
    }
    bridge.top = call;
    call.start(new HandlerListener(core, bridge, runHandler));
  } catch (error) {
    // A throwing interceptor fails its call, not the connection (grpc-js would let it escape).
    interceptorFailed(core, error);
  }
}

function interceptorFailed(core: ServerCall, error: unknown): void {
  core.fail(Status.INTERNAL, `Server interceptor failed: ${error instanceof Error ? error.message : String(error)}`);
}

/**
 * Stands between the call and the chain: the call's sink (its events go to the chain's listener)
 * and its interception (the handler side's output goes to the outermost interceptor).
 */
class Bridge implements Interception {
  top: ServerInterceptingCallInterface | null = null;
  /** The chain's innermost listener, once the chain has started. */
  listener: InterceptingServerListener | null = null;
  /** The handler side, once it runs. */
  sink: CallSink | null = null;
  /** The callback of a message the transport has not taken yet (called on drain). */
  private pendingWrite: (() => void) | null = null;
  private ended = false;

  constructor(private readonly core: ServerCall) {}

  attach(sink: CallSink): void {
    this.sink = sink;
  }

  // ---- the handler side's output, into the chain ----

  // A responder hook that throws fails its call INTERNAL (it would otherwise reach the handler's
  // code, leaving the call without a status).
  sendMetadata(metadata: Metadata): void {
    try {
      this.top?.sendMetadata(metadata);
    } catch (error) {
      interceptorFailed(this.core, error);
    }
  }
  sendMessage(message: unknown, callback: () => void): void {
    try {
      this.top?.sendMessage(message, callback);
    } catch (error) {
      interceptorFailed(this.core, error);
    }
  }
  sendStatus(status: PartialStatusObject): void {
    try {
      this.top?.sendStatus(status);
    } catch (error) {
      interceptorFailed(this.core, error);
    }
  }

  // ---- out of the chain, to the call ----

  /** The innermost call's sendMessage: `callback` once the transport has taken the message. */
  write(message: unknown, callback: () => void): void {
    const core = this.core;
    if (!core.canSend) return;
    if (core.sendMessage(message)) callback();
    else if (core.canSend) this.pendingWrite = callback;
  }

  // ---- the call's events, into the chain ----

  /** One message at a time: the next is decoded once this one has reached the handler side. */
  onMessage(message: unknown): void {
    this.core.pause(INTERCEPTORS);
    this.listener?.onReceiveMessage(message);
  }
  onHalfClose(): void {
    this.listener?.onReceiveHalfClose();
  }
  onDrain(): void {
    const callback = this.pendingWrite;
    this.pendingWrite = null;
    if (callback !== null) callback();
    this.sink?.onDrain();
  }
  /** Cancelled: the chain hears it at once. */
  onCancel(): void {
    this.end();
  }
  /** A status was sent: as grpc-js, the chain hears onCancel too, on a later tick. */
  onFinish(): void {
    process.nextTick(endBridge, this);
  }
  end(): void {
    if (this.ended || this.listener === null) return;
    this.ended = true;
    this.pendingWrite = null;
    this.listener.onCancel();
  }
}

function endBridge(bridge: Bridge): void {
  bridge.end();
}

/** The innermost call of the chain: what the interceptors' `next` calls reach. */
class BaseCall implements ServerInterceptingCallInterface {
  constructor(
    private readonly core: ServerCall,
    private readonly bridge: Bridge,
  ) {}

  start(listener: InterceptingServerListener): void {
    // Over before the interceptors started it (a deadline, a reset): nothing to deliver.
    if (!this.core.canSend) return;
    this.bridge.listener = listener;
    listener.onReceiveMetadata(this.core.metadata);
  }
  sendMetadata(metadata: Metadata): void {
    this.core.writeMetadata(metadata);
  }
  sendMessage(message: unknown, callback: () => void): void {
    this.bridge.write(message, callback);
  }
  sendStatus(status: PartialStatusObject): void {
    this.core.writeStatus(status);
  }
  startRead(): void {
    // Reads follow the handler side's demand (its Readable), one message through the chain at a time.
  }
  getPeer(): string {
    return this.core.peer;
  }
  getDeadline(): Deadline {
    return this.core.deadline === Infinity ? Infinity : new Date(this.core.deadline);
  }
  getHost(): string {
    return this.core.authority;
  }
  getAuthContext(): AuthContext {
    return this.core.authContext;
  }
  getConnectionInfo(): ConnectionInfo {
    return this.core.connectionInfo;
  }
  getMetricsRecorder(): PerRequestMetricRecorder {
    return this.core.metricsRecorder;
  }
}

/** The end of the chain: the handler side hears what the interceptors passed on. */
class HandlerListener implements InterceptingServerListener {
  private started = false;

  constructor(
    private readonly core: ServerCall,
    private readonly bridge: Bridge,
    private readonly runHandler: () => void,
  ) {}

  onReceiveMetadata(metadata: Metadata): void {
    if (this.started || !this.core.canSend) return;
    this.started = true;
    this.core.setMetadata(metadata);
    this.runHandler();
    this.core.resume(INTERCEPTORS);
  }
  onReceiveMessage(message: unknown): void {
    const sink = this.bridge.sink;
    if (sink === null) return;
    sink.onMessage(message);
    this.core.resume(INTERCEPTORS);
  }
  onReceiveHalfClose(): void {
    this.bridge.sink?.onHalfClose();
  }
  onCancel(): void {
    const sink = this.bridge.sink;
    if (sink === null) return;
    if (this.core.state === 'cancelled') sink.onCancel();
    else sink.onFinish();
  }
}
