import type * as grpcJs from '@grpc/grpc-js';
import { Channel } from '../grpc/client/channel';
import type { ChannelOptions } from '../grpc/client/channel-options';
import { callCoreOptions } from '../grpc/client/call-options';
import type { ClientCall, ClientCallListener, ClientMethod } from '../grpc/client/client-call';
import type { ConnectivityState } from '../grpc/client/connectivity-state';
import { CallCredentials, ChannelCredentials } from '../grpc/client/credentials';
import { PendingWrites } from '../grpc/client/pending-writes';
import { Metadata, toMetadata } from '../grpc/metadata';
import { Status, type StatusObject } from '../grpc/status';
import type { HeaderList } from '../transport';

/** grpc-js's call interface (what Channel.createCall returns; not exported by grpc-js itself). */
type GrpcJsCall = ReturnType<grpcJs.ChannelInterface['createCall']>;
type GrpcJsListener = Parameters<GrpcJsCall['start']>[1];
type GrpcJsMessageContext = Parameters<GrpcJsCall['sendMessageWithContext']>[0];
type ParentCall = Parameters<grpcJs.ChannelInterface['createCall']>[3];

/** grpc-js's Propagate flags. */
const PROPAGATE_DEADLINE = 1;
const PROPAGATE_CANCELLATION = 8;
const PROPAGATE_DEFAULTS = 0xffff;
/** Response messages buffered here for reads grpc-js has not asked for yet, before the server is held back. */
const HIGH_WATER = 16;

const identity = (data: Buffer): Buffer => data;
let channelIds = 0;
let callNumbers = 0;

/** Our credentials for grpc-js's (insecure only: grpc-js keeps its TLS settings private). */
function fromGrpcJsCredentials(credentials: unknown): ChannelCredentials {
  if (credentials instanceof ChannelCredentials) return credentials;
  const candidate = credentials as { _isSecure?: () => boolean } | null;
  if (candidate === null || candidate === undefined || (typeof candidate._isSecure === 'function' && !candidate._isSecure())) {
    return ChannelCredentials.createInsecure();
  }
  throw new Error("h2grpc/grpc-js-channel: pass h2grpc's credentials (credentials.createSsl) for TLS; grpc-js's secure credentials cannot be read");
}

/** grpc-js (or our) call credentials as ours. */
function fromGrpcJsCallCredentials(credentials: unknown): CallCredentials | null {
  if (credentials instanceof CallCredentials) return credentials;
  const candidate = credentials as { generateMetadata?: (options: object) => Promise<unknown>; constructor?: { name?: string } } | null;
  if (candidate === null || typeof candidate?.generateMetadata !== 'function') throw new TypeError('setCredentials takes CallCredentials');
  if (candidate.constructor?.name === 'EmptyCallCredentials') return null;
  return CallCredentials.createFromMetadataGenerator((options, callback) =>
    candidate.generateMetadata!(options).then(
      (metadata) => callback(null, metadata as Metadata),
      (error: Error) => callback(error),
    ),
  );
}

/**
 * grpc-js's Channel interface on h2grpc's client channel: a grpc-js Client given this channel
 * (`channelOverride`) makes its calls through h2grpc's call core and transport. Channel options
 * are h2grpc's (grpc-js names; see ChannelOptions).
 */
export class GrpcJsChannel implements grpcJs.ChannelInterface {
  /** @internal */
  readonly inner: Channel;
  /** @internal */
  readonly callCredentials: CallCredentials | null;
  private readonly id = ++channelIds;
  private readonly methods = new Map<string, ClientMethod>();

  /** `credentials`: h2grpc's (or grpc-js's insecure credentials). */
  constructor(target: string, credentials: ChannelCredentials | grpcJs.ChannelCredentials, options: ChannelOptions = {}) {
    const ours = fromGrpcJsCredentials(credentials);
    this.inner = new Channel(target, ours, options);
    this.callCredentials = ours.callCredentials;
  }

  close(): void {
    this.inner.close();
  }

  getTarget(): string {
    return this.inner.getTarget();
  }

  getConnectivityState(tryToConnect: boolean): grpcJs.connectivityState {
    return this.inner.getConnectivityState(tryToConnect) as number as grpcJs.connectivityState;
  }

  watchConnectivityState(currentState: grpcJs.connectivityState, deadline: Date | number, callback: (error?: Error) => void): void {
    this.inner.watchConnectivityState(currentState as number as ConnectivityState, deadline, callback);
  }

  /** A minimal reference: channelz is not implemented. */
  getChannelzRef(): ReturnType<grpcJs.ChannelInterface['getChannelzRef']> {
    return { kind: 'channel', id: this.id, name: this.inner.getTarget() } as ReturnType<grpcJs.ChannelInterface['getChannelzRef']>;
  }

  createCall(
    method: string,
    deadline: Date | number,
    host: string | null | undefined,
    parentCall: ParentCall,
    propagateFlags: number | null | undefined,
  ): GrpcJsCall {
    if (typeof host === 'string' && host !== '')
      throw new Error('h2grpc/grpc-js-channel: a per-call host is not supported (use the grpc.default_authority channel option)');
    if (this.inner.isClosed) throw new Error('Channel has been shut down');
    let definition = this.methods.get(method);
    if (definition === undefined) {
      definition = { path: method, requestSerialize: identity as (value: unknown) => Buffer, responseDeserialize: identity };
      this.methods.set(method, definition);
    }
    let end = deadline instanceof Date ? deadline.getTime() : deadline;
    const flags = propagateFlags ?? PROPAGATE_DEFAULTS;
    if (parentCall !== null && parentCall !== undefined && (flags & PROPAGATE_DEADLINE) !== 0) {
      const parentDeadline = parentCall.getDeadline();
      end = Math.min(end, parentDeadline instanceof Date ? parentDeadline.getTime() : parentDeadline);
    }
    const call = new GrpcJsCallAdapter(this, definition, end);
    if (parentCall !== null && parentCall !== undefined && (flags & PROPAGATE_CANCELLATION) !== 0) {
      parentCall.on('cancelled', () => call.cancelWithStatus(Status.CANCELLED as number as grpcJs.status, 'Cancelled by parent call'));
    }
    return call as unknown as GrpcJsCall;
  }
}

/**
 * grpc-js's Call on h2grpc's call core: messages are the bytes grpc-js serialized; one response
 * message goes up per startRead(), as grpc-js's own call does (up to HIGH_WATER wait here, then
 * the server is held back); an OK status waits for the messages before it to be read.
 */
class GrpcJsCallAdapter implements ClientCallListener {
  private core: ClientCall | null = null;
  private listener: GrpcJsListener | null = null;
  private credentials: CallCredentials | null = null;
  private readonly callNumber = ++callNumbers;
  private reads = 0;
  private readonly unread: Buffer[] = [];
  private paused = false;
  private pendingStatus: StatusObject | null = null;
  private early: StatusObject | null = null;
  /** Sends and the half-close before start() wait for the core (grpc-js starts first, but the interface allows it). */
  private readonly writes = new PendingWrites();

  constructor(
    private readonly channel: GrpcJsChannel,
    private readonly method: ClientMethod,
    private readonly deadline: number,
  ) {}

  start(metadata: grpcJs.Metadata, listener: GrpcJsListener): void {
    this.listener = listener;
    if (this.early !== null) {
      this.writes.discard();
      process.nextTick(() => this.deliverStatus(this.early!));
      return;
    }
    let ours: Metadata | null = null;
    const repr = (metadata as unknown as { internalRepr?: Map<string, unknown> }).internalRepr;
    const options = metadata.getOptions();
    if (repr === undefined || repr.size > 0 || options.waitForReady === true) {
      ours = toMetadata(metadata);
      if (ours !== null && (ours as unknown) !== metadata) ours.setOptions(options);
    }
    const credentials = this.credentials;
    const coreOptions = callCoreOptions(
      ours,
      credentials === null ? { deadline: this.deadline } : { deadline: this.deadline, credentials },
      this.channel.callCredentials,
    );
    const core = this.channel.inner.createCall(this.method, coreOptions);
    this.core = core;
    if (this.reads === 0) {
      this.paused = true;
      core.pauseReading();
    }
    core.start(this);
    this.writes.attach(core);
  }

  sendMessageWithContext(context: GrpcJsMessageContext, message: Buffer): void {
    this.writes.send(context, message);
  }

  startRead(): void {
    if (this.unread.length > 0) {
      const message = this.unread.shift()!;
      if (this.unread.length === 0 && this.paused && this.pendingStatus === null) this.resume();
      this.listener!.onReceiveMessage(message);
      if (this.unread.length === 0 && this.pendingStatus !== null) this.deliverStatus(this.pendingStatus);
      return;
    }
    this.reads++;
    if (this.paused) this.resume();
  }

  private resume(): void {
    this.paused = false;
    this.core?.resumeReading();
  }

  halfClose(): void {
    this.writes.halfClose();
  }

  cancelWithStatus(status: grpcJs.status, details: string): void {
    // The core reports a cancellation's status on a later tick, as grpc-js does.
    if (this.core !== null) this.core.cancelWithStatus(status as number as Status, details);
    else this.early ??= { code: status as number as Status, details, metadata: new Metadata() };
  }

  getPeer(): string {
    return this.core?.peer ?? this.channel.getTarget();
  }

  getCallNumber(): number {
    return this.callNumber;
  }

  setCredentials(credentials: grpcJs.CallCredentials): void {
    this.credentials = fromGrpcJsCallCredentials(credentials);
  }

  getAuthContext(): null {
    return null;
  }

  // ---- ClientCallListener (from the call core) ----

  onReceiveMetadata(headers: HeaderList): void {
    this.listener!.onReceiveMetadata(Metadata.fromHeaders(headers) as unknown as grpcJs.Metadata);
  }

  onReceiveMessage(message: unknown): void {
    if (this.reads > 0) {
      // Once nothing more is asked for, later messages wait in `unread` (then hold the server back).
      this.reads--;
      this.listener!.onReceiveMessage(message);
      return;
    }
    this.unread.push(message as Buffer);
    if (this.unread.length >= HIGH_WATER && !this.paused) {
      this.paused = true;
      this.core!.pauseReading();
    }
  }

  onReceiveStatus(status: StatusObject): void {
    this.writes.drain();
    // grpc-js: an error status goes up at once; OK after every message has been read.
    if (status.code === Status.OK && this.unread.length > 0) this.pendingStatus = status;
    else this.deliverStatus(status);
  }

  onDrain(): void {
    this.writes.drain();
  }

  private deliverStatus(status: StatusObject): void {
    this.pendingStatus = null;
    this.unread.length = 0;
    this.listener!.onReceiveStatus(status as unknown as Parameters<GrpcJsListener['onReceiveStatus']>[0]);
  }
}

/**
 * A `channelFactoryOverride` for grpc-js clients: each client gets a GrpcJsChannel for its
 * address, with `credentials` (h2grpc's; default: grpc-js's insecure credentials the client was
 * given) and the client's channel options.
 */
export function grpcJsChannelFactory(
  credentials?: ChannelCredentials,
): (address: string, clientCredentials: grpcJs.ChannelCredentials, options: ChannelOptions) => GrpcJsChannel {
  return (address, clientCredentials, options) => new GrpcJsChannel(address, credentials ?? clientCredentials, options);
}

/**
 * nice-grpc's createChannel on h2grpc: `address` as "host:port" or "http://host[:port]" (plain
 * text, port 80 by default) or "https://host[:port]" (TLS with the default roots, port 443).
 */
export function createChannel(address: string, credentials?: ChannelCredentials, options: ChannelOptions = {}): GrpcJsChannel {
  const match = /^(https?):\/\/(.*)$/.exec(address);
  let target = address;
  let chosen = credentials;
  if (match !== null) {
    const secure = match[1] === 'https';
    target = /:\d+$/.test(match[2]) ? match[2] : `${match[2]}:${secure ? 443 : 80}`;
    chosen ??= secure ? ChannelCredentials.createSsl() : ChannelCredentials.createInsecure();
  }
  return new GrpcJsChannel(target, chosen ?? ChannelCredentials.createInsecure(), options);
}
