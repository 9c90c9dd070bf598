import { ConnectionError, ErrorCode } from '../errors';

/**
 * The timers of one connection (grpc-go's keepalive parameters and enforcement policy, Kestrel's
 * minimum request data rate), with every default in one table. Every timer is unref'd: a
 * connection never keeps the process alive by itself.
 */
export interface LifecycleOptions {
  /** The peer's preface and first SETTINGS must arrive within this (ms); else the socket is closed. */
  handshakeTimeoutMs: number;
  /** A connection with no open stream for this long gets a graceful GOAWAY (grpc.max_connection_idle_ms). */
  maxIdleMs: number;
  /** A connection older than this (±10 % jitter) gets a graceful GOAWAY (grpc.max_connection_age_ms). */
  maxAgeMs: number;
  /** ...and is closed this long after that GOAWAY, whatever still runs (grpc.max_connection_age_grace_ms). */
  maxAgeGraceMs: number;
  /** After this long without reading anything, we PING the peer (grpc.keepalive_time_ms). */
  keepaliveTimeMs: number;
  /** ...and close the connection if its ACK does not come within this (grpc.keepalive_timeout_ms). */
  keepaliveTimeoutMs: number;
  /**
   * grpc.keepalive_permit_without_calls. Server role: peer PINGs are fine while no stream is open.
   * Client role: our keepalive PINGs go out even while no stream is open.
   */
  permitPingsWithoutCalls: boolean;
  /** Peer PINGs closer together than this are strikes (grpc.http2.min_ping_interval_without_data_ms). */
  minPingIntervalMs: number;
  /** Strikes beyond this end the connection with GOAWAY ENHANCE_YOUR_CALM "too_many_pings" (grpc.http2.max_ping_strikes). */
  maxPingStrikes: number;
  /**
   * Bytes per second a peer must keep sending on a stream it has not finished, once the grace
   * period is over (Kestrel's MinRequestBodyDataRate). 0 disables the check. Streams the
   * application exempts (long-lived streams that may idle) and streams whose data waits unread
   * are not checked.
   */
  minDataRate: number;
  /** How long a stream may send below the minimum rate before it is checked (ms). */
  minDataRateGraceMs: number;
  /**
   * A peer that takes none of our bytes for this long while the socket is full (no 'drain') has
   * stopped reading: the connection is closed (ms). It bounds how long a non-reading peer keeps
   * its streams, queued responses and floods of frames alive.
   */
  writeStallTimeoutMs: number;
}

/** grpc-go's defaults (keepalive 2 h / 20 s, ping policy 5 min / 2 strikes), Kestrel's 240 B/s after 5 s. */
export const DEFAULT_LIFECYCLE: Readonly<LifecycleOptions> = {
  handshakeTimeoutMs: 20_000,
  maxIdleMs: Infinity,
  maxAgeMs: Infinity,
  maxAgeGraceMs: Infinity,
  keepaliveTimeMs: 2 * 60 * 60 * 1000,
  keepaliveTimeoutMs: 20_000,
  permitPingsWithoutCalls: false,
  minPingIntervalMs: 5 * 60 * 1000,
  maxPingStrikes: 2,
  minDataRate: 240,
  minDataRateGraceMs: 5_000,
  writeStallTimeoutMs: 30_000,
};

/** grpc-go's defaultPingTimeout: without calls (and without permission) a peer should not ping more often. */
const PING_INTERVAL_WITHOUT_CALLS_MS = 2 * 60 * 60 * 1000;
/** The payload of our keepalive PINGs, to tell their ACKs from those of ping(). */
export const KEEPALIVE_PING_DATA = Buffer.from('h2g-kalv');
/** setTimeout turns longer delays into 1 ms. */
const MAX_TIMER_DELAY = 2 ** 31 - 1;

/** A stream as the data-rate check sees it. */
export interface RateWatchedStream {
  readonly remoteEnded: boolean;
  readonly isClosed: boolean;
  /** Data is waiting for the application: the peer may be held back by our flow control. */
  readonly bufferedBytes: number;
  readonly isPaused: boolean;
  /** DATA bytes received so far. */
  readonly bytesReceived: number;
  /**
   * The check's own marks, kept on the stream so watching costs no allocation per stream:
   * whether it is watched, since when, and bytesReceived then.
   */
  rateWatched: boolean;
  rateSince: number;
  rateBaseline: number;
}

/** What the lifecycle asks of its connection. */
export interface LifecycleHost {
  readonly openStreams: number;
  /** The open streams (the data-rate check looks at the watched ones among them). */
  openStreamList(): Iterable<RateWatchedStream>;
  /** Sends a PING with `data`. */
  ping(data: Buffer): void;
  /** Graceful GOAWAY: running streams finish, new ones are refused. */
  drain(debug: string): void;
  /** Ends the connection now: GOAWAY with `error`'s code, then close. */
  fail(error: ConnectionError): void;
  /** Closes the socket without a word (a peer that never spoke HTTP/2). */
  destroy(): void;
  /** Resets a stream that sends too slowly. */
  resetSlowStream(stream: RateWatchedStream): void;
}

function unrefTimer(callback: () => void, delay: number): NodeJS.Timeout | null {
  if (!(delay <= MAX_TIMER_DELAY)) return null; // Infinity (or more than ~24.8 days): never
  const timer = setTimeout(callback, Math.max(0, delay));
  timer.unref();
  return timer;
}

/**
 * Handshake timeout, idle and age limits, keepalive pings, ping enforcement and the minimum data
 * rate of one connection. The connection reports events; the lifecycle answers through its host.
 */
export class ConnectionLifecycle {
  /** Set by the connection whenever bytes arrive; the keepalive timer looks and clears it (grpc-go's lastRead). */
  readActivity = false;
  private handshakeTimer: NodeJS.Timeout | null;
  private keepaliveTimer: NodeJS.Timeout | null = null;
  private keepaliveAckTimer: NodeJS.Timeout | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private idleSince: number;
  private ageTimer: NodeJS.Timeout | null;
  private rateTimer: NodeJS.Timeout | null = null;
  private stallTimer: NodeJS.Timeout | null = null;
  private lastPeerPingAt = -Infinity;
  private pingStrikes = 0;
  private resetStrikes = false;
  private stopped = false;

  constructor(
    private readonly host: LifecycleHost,
    private readonly options: LifecycleOptions,
    /** Whether the peer's PINGs are policed (a server's enforcement policy). */
    private readonly enforcePings = true,
  ) {
    this.handshakeTimer = unrefTimer(() => this.host.destroy(), options.handshakeTimeoutMs);
    this.idleSince = Date.now();
    const jitter = 1 + (Math.random() * 0.2 - 0.1);
    this.ageTimer = unrefTimer(() => this.onMaxAge(), options.maxAgeMs * jitter);
    this.armIdle(options.maxIdleMs);
  }

  /** The peer's first SETTINGS arrived: the connection is established. */
  handshakeDone(): void {
    if (this.handshakeTimer === null || this.stopped) return;
    clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
    this.keepaliveTimer = unrefTimer(() => this.onKeepalive(), this.options.keepaliveTimeMs);
  }

  /** We sent HEADERS or DATA: the peer's next ping is not counted against it (grpc-go resets strikes). */
  dataSent(): void {
    this.resetStrikes = true;
  }

  /** The peer sent a PING (not an ACK). Throws ConnectionError(ENHANCE_YOUR_CALM, "too_many_pings") past the strikes. */
  peerPing(): void {
    if (!this.enforcePings) return;
    const now = Date.now();
    const last = this.lastPeerPingAt;
    this.lastPeerPingAt = now;
    if (this.resetStrikes) {
      this.resetStrikes = false;
      this.pingStrikes = 0;
      return;
    }
    const interval = this.host.openStreams === 0 && !this.options.permitPingsWithoutCalls ? PING_INTERVAL_WITHOUT_CALLS_MS : this.options.minPingIntervalMs;
    if (now - last < interval) this.pingStrikes++;
    if (this.pingStrikes > this.options.maxPingStrikes) throw new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, 'too_many_pings');
  }

  /** A PING ACK arrived; true if it answered our keepalive PING. */
  pingAck(data: Buffer): boolean {
    if (!data.equals(KEEPALIVE_PING_DATA)) return false;
    if (this.keepaliveAckTimer !== null) {
      clearTimeout(this.keepaliveAckTimer);
      this.keepaliveAckTimer = null;
      this.keepaliveTimer = unrefTimer(() => this.onKeepalive(), this.options.keepaliveTimeMs);
    }
    return true;
  }

  /** The number of open streams changed. */
  streamsChanged(open: number): void {
    if (open === 0) {
      this.idleSince = Date.now();
      if (this.idleTimer === null) this.armIdle(this.options.maxIdleMs);
    }
  }

  /** Checks that the peer keeps sending `stream`'s data at the minimum rate until it ends it. */
  watchDataRate(stream: RateWatchedStream): void {
    if (this.options.minDataRate <= 0 || this.stopped) return;
    stream.rateWatched = true;
    stream.rateSince = Date.now();
    stream.rateBaseline = stream.bytesReceived;
    this.rateTimer ??= unrefTimer(() => this.checkDataRates(), this.rateCheckInterval);
  }

  /** The stream no longer needs the check (the application expects it to idle). */
  unwatchDataRate(stream: RateWatchedStream): void {
    stream.rateWatched = false;
  }

  /** The socket is full (true) or drained again (false). */
  writeBlocked(blocked: boolean): void {
    if (this.stopped) return;
    if (!blocked) {
      if (this.stallTimer !== null) clearTimeout(this.stallTimer);
      this.stallTimer = null;
      return;
    }
    this.stallTimer ??= unrefTimer(() => {
      this.stallTimer = null;
      if (!this.stopped) this.host.destroy();
    }, this.options.writeStallTimeoutMs);
  }

  /** The connection is closing: no timer fires after this. */
  stop(): void {
    this.stopped = true;
    for (const timer of [this.handshakeTimer, this.keepaliveTimer, this.keepaliveAckTimer, this.idleTimer, this.ageTimer, this.rateTimer, this.stallTimer]) {
      if (timer !== null) clearTimeout(timer);
    }
    this.handshakeTimer = this.keepaliveTimer = this.keepaliveAckTimer = this.idleTimer = this.ageTimer = this.rateTimer = this.stallTimer = null;
  }

  private onKeepalive(): void {
    this.keepaliveTimer = null;
    if (this.stopped) return;
    if (this.readActivity) {
      // Something arrived since the last look: the peer is alive, look again later.
      this.readActivity = false;
      this.keepaliveTimer = unrefTimer(() => this.onKeepalive(), this.options.keepaliveTimeMs);
      return;
    }
    if (!this.enforcePings && this.host.openStreams === 0 && !this.options.permitPingsWithoutCalls) {
      // A client pings an idle connection only when allowed to (grpc.keepalive_permit_without_calls).
      this.keepaliveTimer = unrefTimer(() => this.onKeepalive(), this.options.keepaliveTimeMs);
      return;
    }
    this.host.ping(KEEPALIVE_PING_DATA);
    this.keepaliveAckTimer = unrefTimer(() => {
      this.keepaliveAckTimer = null;
      if (!this.stopped) this.host.fail(new ConnectionError(ErrorCode.NO_ERROR, 'keepalive ping not acknowledged'));
    }, this.options.keepaliveTimeoutMs);
  }

  private armIdle(delay: number): void {
    this.idleTimer = unrefTimer(() => {
      this.idleTimer = null;
      if (this.stopped || this.host.openStreams > 0) return;
      const idleFor = Date.now() - this.idleSince;
      if (idleFor >= this.options.maxIdleMs) this.host.drain('max_idle');
      else this.armIdle(this.options.maxIdleMs - idleFor);
    }, delay);
  }

  private onMaxAge(): void {
    this.ageTimer = null;
    if (this.stopped) return;
    this.host.drain('max_age');
    this.ageTimer = unrefTimer(() => {
      this.ageTimer = null;
      if (!this.stopped) this.host.fail(new ConnectionError(ErrorCode.NO_ERROR, 'max_age_grace'));
    }, this.options.maxAgeGraceMs);
  }

  /** Once a second, or more often with a short grace period. */
  private get rateCheckInterval(): number {
    return Math.max(10, Math.min(1000, this.options.minDataRateGraceMs / 2));
  }

  private checkDataRates(): void {
    this.rateTimer = null;
    if (this.stopped) return;
    const now = Date.now();
    const { minDataRate, minDataRateGraceMs } = this.options;
    const slow: RateWatchedStream[] = [];
    let watching = false;
    for (const stream of this.host.openStreamList()) {
      if (!stream.rateWatched) continue;
      if (stream.remoteEnded || stream.isClosed) {
        stream.rateWatched = false;
        continue;
      }
      watching = true;
      if (stream.isPaused || stream.bufferedBytes > 0) {
        // Our side holds the peer back: measure afresh once the data is taken.
        stream.rateSince = now;
        stream.rateBaseline = stream.bytesReceived;
        continue;
      }
      const elapsed = now - stream.rateSince;
      if (elapsed < minDataRateGraceMs) continue;
      if (stream.bytesReceived - stream.rateBaseline < (minDataRate * elapsed) / 1000) {
        stream.rateWatched = false;
        slow.push(stream);
      }
    }
    // Reset after the walk: a reset removes the stream from the list being walked.
    for (const stream of slow) this.host.resetSlowStream(stream);
    if (watching) this.rateTimer = unrefTimer(() => this.checkDataRates(), this.rateCheckInterval);
  }
}
