import { type Http2Connection, prepareHeaders, type PreparedHeaders } from '../../transport';
import { ACCEPT_ENCODING_VALUE, type Encoding } from '../compression';
import { CONTENT_TYPE, GRPC_ACCEPT_ENCODING } from '../protocol/headers';
import { Status } from '../status';
import { ConnectionBackoff } from './backoff';
import { type ChannelOptions, type ResolvedChannelOptions, resolveChannelOptions } from './channel-options';
import { ClientCall, type ClientCallOptions, type ClientMethod } from './client-call';
import { ConnectivityState } from './connectivity-state';
import { ChannelCredentials } from './credentials';
import { type ConnectSettings, Subchannel } from './subchannel';
import { parseTarget, resolveTarget, type Target } from './target';

interface StateWatcher {
  state: ConnectivityState;
  callback: (error?: Error) => void;
  timer: NodeJS.Timeout | null;
}

/**
 * A virtual connection to a target (grpc-js's Channel): resolves the target, keeps connections
 * through its load-balancing policy (pick_first by default, round_robin by option), reports
 * connectivity states, reconnects with backoff and goes IDLE after a while without calls. Calls
 * are made through a Client; this class is what `client.getChannel()` returns.
 */
export class Channel {
  private readonly parsedTarget: Target;
  /** @internal */
  readonly options: ResolvedChannelOptions;
  private readonly connectSettings: ConnectSettings;
  /** @internal The :scheme of requests: https with TLS credentials, else http. */
  readonly scheme: 'http' | 'https';
  /** @internal The default :authority (grpc.default_authority, or the target's host:port). */
  readonly authority: string;
  private state = ConnectivityState.IDLE;
  private subchannels: Subchannel[] = [];
  private resolving = false;
  private resolveTimer: NodeJS.Timeout | null = null;
  private readonly resolveBackoff: ConnectionBackoff;
  private lastError = '';
  /** Calls waiting for a READY connection. */
  private pending: ClientCall[] = [];
  private watchers: StateWatcher[] = [];
  private nextPick = 0;
  private activeCalls = 0;
  private idleTimer: NodeJS.Timeout | null = null;
  private idleSince = 0;
  private closed = false;
  private readonly headerCache = new Map<string, PreparedHeaders>();
  /** The encodings the server listed in grpc-accept-encoding (null until it says). */
  private acceptedEncodings: Set<string> | null = null;
  private lastAcceptEncoding = '';
  private readonly onIdleTimer = (): void => this.checkIdle();

  constructor(
    /** The target as given ("host:port", "dns:///host:port", "unix:path", ...). */
    readonly target: string,
    credentials: ChannelCredentials,
    options: ChannelOptions = {},
  ) {
    if (!(credentials instanceof ChannelCredentials))
      throw new TypeError('Channel credentials must be a ChannelCredentials object (credentials.createInsecure() or createSsl())');
    this.parsedTarget = parseTarget(target);
    this.options = resolveChannelOptions(options);
    this.authority = this.options.defaultAuthority ?? this.parsedTarget.authority;
    this.scheme = credentials._isSecure() ? 'https' : 'http';
    const serverName =
      this.options.sslTargetNameOverride ?? (this.parsedTarget.scheme === 'dns' ? this.parsedTarget.host : this.authority.replace(/:\d+$/, ''));
    this.connectSettings = { options: this.options, secure: credentials.secureContext, serverName };
    this.resolveBackoff = new ConnectionBackoff({
      initialBackoffMs: this.options.initialBackoffMs,
      maxBackoffMs: this.options.maxBackoffMs,
      minConnectTimeoutMs: 0,
    });
  }

  /** The target string the channel was created with. */
  getTarget(): string {
    return this.target;
  }

  /** The current connectivity state; with `tryToConnect`, an IDLE channel starts connecting. */
  getConnectivityState(tryToConnect: boolean): ConnectivityState {
    if (tryToConnect && this.state === ConnectivityState.IDLE && !this.closed) this.exitIdle();
    return this.state;
  }

  /** Calls back once the state differs from `currentState`, or with an error once `deadline` passes. */
  watchConnectivityState(currentState: ConnectivityState, deadline: Date | number, callback: (error?: Error) => void): void {
    if (this.state !== currentState) {
      process.nextTick(callback);
      return;
    }
    const watcher: StateWatcher = { state: currentState, callback, timer: null };
    const wait = (deadline instanceof Date ? deadline.getTime() : deadline) - Date.now();
    if (wait !== Infinity) {
      watcher.timer = setTimeout(
        () => {
          this.watchers = this.watchers.filter((other) => other !== watcher);
          callback(new Error('Deadline passed without connectivity state change'));
        },
        Math.max(0, Math.min(wait, 2 ** 31 - 1)),
      );
    }
    this.watchers.push(watcher);
  }

  /**
   * Closes the channel: calls waiting for a connection fail with UNAVAILABLE, running calls
   * finish, then the connections close (GOAWAY). New calls fail.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.resolveTimer !== null) clearTimeout(this.resolveTimer);
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    const subchannels = this.subchannels;
    this.subchannels = [];
    for (const subchannel of subchannels) subchannel.shutdown(true);
    this.failPending(true, 'Channel has been shut down');
    this.setState(ConnectivityState.SHUTDOWN);
  }

  /** Whether close() was called. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** @internal Creates a call on this channel (the Client's request methods use it). */
  createCall(method: ClientMethod, options: ClientCallOptions): ClientCall {
    if (this.closed) throw new Error('Channel has been shut down');
    this.activeCalls++;
    return new ClientCall(this, method, options);
  }

  // ---- CallHost ----

  /** @internal */
  get maxReceiveMessageSize(): number {
    return this.options.maxReceiveMessageSize;
  }

  /** @internal */
  get maxSendMessageSize(): number {
    return this.options.maxSendMessageSize;
  }

  /** @internal */
  get requestEncoding(): Encoding {
    const preferred = this.options.compression;
    if (preferred === 'identity' || this.acceptedEncodings === null || this.acceptedEncodings.has(preferred)) return preferred;
    return 'identity';
  }

  /** @internal */
  pick(call: ClientCall): void {
    if (this.closed) {
      call.failPick(Status.UNAVAILABLE, 'Channel has been shut down');
      return;
    }
    const connection = this.readyConnection();
    if (connection !== null) {
      call.assignConnection(connection);
      connection.openStream(call);
      return;
    }
    if (this.state === ConnectivityState.IDLE) this.exitIdle();
    if (this.state === ConnectivityState.TRANSIENT_FAILURE && !call.waitForReady) {
      call.failPick(Status.UNAVAILABLE, this.unavailableDetails());
      return;
    }
    this.pending.push(call);
    // A subchannel that lost its connection reconnects when a call needs it.
    for (const subchannel of this.subchannels) subchannel.connect();
  }

  /** @internal */
  cancelPick(call: ClientCall): void {
    const index = this.pending.indexOf(call);
    if (index !== -1) this.pending.splice(index, 1);
  }

  /** @internal */
  requestHeaders(path: string): PreparedHeaders {
    let prepared = this.headerCache.get(path);
    if (prepared === undefined) {
      prepared = prepareHeaders([
        ':method',
        'POST',
        ':scheme',
        this.scheme,
        ':path',
        path,
        ':authority',
        this.authority,
        'content-type',
        CONTENT_TYPE,
        'te',
        'trailers',
        GRPC_ACCEPT_ENCODING,
        ACCEPT_ENCODING_VALUE,
        'user-agent',
        this.options.userAgent,
      ]);
      this.headerCache.set(path, prepared);
    }
    return prepared;
  }

  /** @internal */
  learnAcceptEncoding(value: string): void {
    if (value === this.lastAcceptEncoding) return;
    this.lastAcceptEncoding = value;
    // Entries are separated by commas with optional spaces (PROTOCOL-HTTP2.md): trimmed here.
    this.acceptedEncodings = new Set(value.split(',').map((entry) => entry.trim()));
  }

  /** @internal */
  callEnded(): void {
    if (--this.activeCalls > 0 || this.closed) return;
    this.idleSince = Date.now();
    if (this.idleTimer === null && this.options.idleTimeoutMs <= 2 ** 31 - 1) {
      this.idleTimer = setTimeout(this.onIdleTimer, this.options.idleTimeoutMs);
      this.idleTimer.unref();
    }
  }

  // ---- SubchannelHost ----

  /** @internal */
  subchannelStateChanged(subchannel: Subchannel): void {
    if (!this.subchannels.includes(subchannel)) return;
    if (subchannel.state === ConnectivityState.IDLE && (this.pending.length > 0 || this.options.lbPolicy === 'round_robin')) subchannel.connect();
    if (subchannel.state === ConnectivityState.TRANSIENT_FAILURE) this.lastError = subchannel.lastError;
    this.updateState();
  }

  // ---- internals ----

  private readyConnection(): Http2Connection | null {
    const subchannels = this.subchannels;
    for (let tried = 0; tried < subchannels.length; tried++) {
      const subchannel = subchannels[this.nextPick++ % subchannels.length];
      const connection = subchannel.connection;
      if (subchannel.state === ConnectivityState.READY && connection !== null && !connection.isDraining) return connection;
    }
    return null;
  }

  private exitIdle(): void {
    if (this.closed) return;
    if (this.subchannels.length === 0) {
      this.resolve();
      return;
    }
    for (const subchannel of this.subchannels) subchannel.connect();
  }

  private resolve(): void {
    if (this.resolving || this.resolveTimer !== null) return;
    this.resolving = true;
    this.setState(ConnectivityState.CONNECTING);
    resolveTarget(this.parsedTarget).then(
      (addresses) => {
        this.resolving = false;
        if (this.closed) return;
        this.resolveBackoff.reset();
        const groups = this.options.lbPolicy === 'round_robin' ? addresses.map((address) => [address]) : [addresses];
        this.subchannels = groups.map((group) => new Subchannel(group, this.connectSettings, this));
        for (const subchannel of this.subchannels) subchannel.connect();
        this.updateState();
      },
      (error: Error) => {
        this.resolving = false;
        if (this.closed) return;
        this.lastError = `name resolution failed: ${error.message}`;
        this.setState(ConnectivityState.TRANSIENT_FAILURE);
        this.failPending(false, this.unavailableDetails());
        this.resolveBackoff.startAttempt();
        this.resolveTimer = setTimeout(() => {
          this.resolveTimer = null;
          if (this.pending.length > 0) this.resolve();
          else this.setState(ConnectivityState.IDLE);
        }, this.resolveBackoff.failed());
        this.resolveTimer.unref();
      },
    );
  }

  private updateState(): void {
    if (this.closed) return;
    let ready = false;
    let connecting = false;
    let failing = false;
    for (const subchannel of this.subchannels) {
      if (subchannel.state === ConnectivityState.READY) ready = true;
      else if (subchannel.state === ConnectivityState.CONNECTING) connecting = true;
      else if (subchannel.state === ConnectivityState.TRANSIENT_FAILURE) failing = true;
    }
    const state = ready
      ? ConnectivityState.READY
      : connecting
        ? ConnectivityState.CONNECTING
        : failing
          ? ConnectivityState.TRANSIENT_FAILURE
          : this.resolving
            ? ConnectivityState.CONNECTING
            : ConnectivityState.IDLE;
    this.setState(state);
    if (state === ConnectivityState.READY && this.pending.length > 0) {
      const waiting = this.pending;
      this.pending = [];
      for (const call of waiting) if (!call.isDone) this.pick(call);
    } else if (state === ConnectivityState.TRANSIENT_FAILURE) {
      this.failPending(false, this.unavailableDetails());
    }
  }

  private unavailableDetails(): string {
    return `No connection established. Last error: ${this.lastError || 'unknown'}`;
  }

  /** Fails waiting calls with UNAVAILABLE: all of them, or those that do not wait for ready. */
  private failPending(all: boolean, details: string): void {
    if (this.pending.length === 0) return;
    const waiting = this.pending;
    this.pending = [];
    for (const call of waiting) {
      if (all || !call.waitForReady) call.failPick(Status.UNAVAILABLE, details);
      else this.pending.push(call);
    }
  }

  private setState(state: ConnectivityState): void {
    if (this.state === state) return;
    this.state = state;
    if (this.watchers.length === 0) return;
    const watchers = this.watchers;
    this.watchers = [];
    for (const watcher of watchers) {
      if (watcher.state === state) {
        this.watchers.push(watcher);
        continue;
      }
      if (watcher.timer !== null) clearTimeout(watcher.timer);
      process.nextTick(watcher.callback);
    }
  }

  private checkIdle(): void {
    this.idleTimer = null;
    if (this.closed || this.activeCalls > 0) return;
    const idleFor = Date.now() - this.idleSince;
    if (idleFor < this.options.idleTimeoutMs) {
      this.idleTimer = setTimeout(this.onIdleTimer, this.options.idleTimeoutMs - idleFor);
      this.idleTimer.unref();
      return;
    }
    // No call for the whole idle timeout: drop the connections; the next call resolves afresh.
    const subchannels = this.subchannels;
    this.subchannels = [];
    for (const subchannel of subchannels) subchannel.shutdown(true);
    this.setState(ConnectivityState.IDLE);
  }
}
