import { EventEmitter } from 'node:events';
import { ConnectionError, ErrorCode, HeaderListTooLargeError, type Initiator, StreamError, UserError } from '../errors';
import { ReceiveWindow } from '../flow-control';
import type { GoAwayFrame } from '../frame/frame';
import { CLIENT_PREFACE } from '../frame/frame-type';
import { HeaderBlockDecoder, HeaderBlockEncoder, type HeaderList, headerListSize, type PreparedHeaders } from '../hpack/header-block';
import type { RequestHead, ResponseHead } from '../http/message-head';
import { FrameReader } from '../inbound/frame-reader';
import { ReaderLoop } from '../inbound/reader-loop';
import { ControlBuffer } from '../outbound/control-buffer';
import { type ControlItem, cleanupStreamItem, outgoingWindowUpdateItem } from '../outbound/control-item';
import { FrameWriter } from '../outbound/frame-writer';
import { LoopyWriter } from '../outbound/loopy-writer';
import { registerStream } from '../outbound/outbound-stream';
import { DEFAULT_CONNECTION_LIMITS, TokenBucket } from '../limits';
import { CLIENT_PEER, type Peer, SERVER_PEER } from './peer';
import { ConnectionLifecycle, DEFAULT_LIFECYCLE } from './lifecycle';
import { type ConnectionEvents, type ConnectionOptions, type ConnectionStats, DEFAULT_LOCAL_SETTINGS, type TransportSocket } from './connection-options';
import { StreamQuota, type StreamRequest } from './stream-quota';
import { PingWaiters } from './pings';
import { WriteTurns } from './write-turns';
import { defaultSettings, DEFAULT_WINDOW_SIZE, type Settings, settingsToEntries } from '../settings';
import { Http2Stream } from '../stream/http2-stream';
import { openedState } from '../stream/stream-state';
import { StreamRegistry } from '../stream/stream-registry';

export { DEFAULT_LOCAL_SETTINGS } from './connection-options';
export type { ConnectionEvents, ConnectionOptions, ConnectionStats, TransportSocket } from './connection-options';

/** Which end of the connection we are. */
export type ConnectionRole = 'server' | 'client';

/**
 * Resets are cheap to cause and each can cost a handler: past the budget the peer is abusive
 * (rapid reset CVE-2023-44487, MadeYouReset CVE-2025-8671), as nghttp2 and Node decide too.
 */
const TOO_MANY_RESETS = () => new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, 'too many stream resets');

/** The first GOAWAY of a graceful shutdown names the highest stream id there can be. */
const MAX_STREAM_ID = 2 ** 31 - 1;
/** The PING that follows it; its ACK means the client has seen the first GOAWAY. */
const SHUTDOWN_PING_DATA = Buffer.from('h2g-shut');
/** How long to wait for that ACK before sending the final GOAWAY anyway. */
const HEADS_UP_TIMEOUT_MS = 1000;

/** Serves HTTP/2 on a connected socket (or any Duplex): the peer opens streams ('stream' event). */
export function createServerConnection(socket: TransportSocket, options?: ConnectionOptions): Http2Connection {
  return new Http2Connection(socket, 'server', options);
}

/** Speaks HTTP/2 as a client over a connected socket (or any Duplex): open streams with request(). */
export function createClientConnection(socket: TransportSocket, options?: ConnectionOptions): Http2Connection {
  return new Http2Connection(socket, 'client', options);
}

/**
 * One HTTP/2 connection over a socket: wires the read path (socket → FrameReader → ReaderLoop →
 * streams) to the write path (streams → ControlBuffer → LoopyWriter → FrameWriter → socket).
 *
 * Events: 'stream' (server: a peer opened a stream), 'goaway' (GoAwayFrame), 'connectionError'
 * (ConnectionError we sent a GOAWAY for), 'close'.
 */
export class Http2Connection extends EventEmitter<ConnectionEvents> {
  /** What differs between the roles (stream ids, preface, GOAWAY); the code paths are shared. */
  readonly peer: Peer;
  /** @internal */
  readonly registry: StreamRegistry;
  /** @internal */
  readonly decoder = new HeaderBlockDecoder();
  /** The SETTINGS we advertise. */
  readonly localSettings: Settings;
  /** The peer's SETTINGS as received so far (RFC 9113 defaults until its first SETTINGS frame). */
  readonly peerSettings: Settings = defaultSettings();
  /** @internal */
  readonly connectionReceiveWindow: ReceiveWindow;
  private readonly controlBuffer: ControlBuffer;
  private readonly framer: FrameWriter;
  private readonly writer: LoopyWriter;
  private readonly reader: FrameReader;
  private readonly writeQuota: number;
  private queued = 0;
  /** Streams closed on the wire whose application has not released them yet. */
  private retainedClosed = 0;
  private closed = false;
  /** The final GOAWAY was sent: new streams are refused, the connection closes when idle. */
  private goingAway = false;
  /** The first of a graceful shutdown's two GOAWAYs was sent; the second waits for the PING ACK. */
  private headsUpTimer: NodeJS.Timeout | null = null;
  /** Destroys the socket if a closing connection's last writes do not finish; cleared once it closes. */
  private destroyTimer: NodeJS.Timeout | null = null;
  private drainDebug = '';
  private peerGoAway: GoAwayFrame | null = null;
  /** ping() callers by the counter in their PING payload. */
  private readonly pingWaiters = new PingWaiters();
  /** Requests waiting for a stream slot under the peer's SETTINGS_MAX_CONCURRENT_STREAMS (client role). */
  private readonly streamQuota = new StreamQuota(this);
  private handshakeDone = false;
  private drainingEmitted = false;
  private readonly readyPromise: Promise<void>;
  private settleReady: ((error: Error | null) => void) | null = null;
  private readonly lifecycle: ConnectionLifecycle;
  /** Resets the peer sends or causes (RST_STREAM, stream errors, refused streams). */
  private readonly resetBudget: TokenBucket;
  private readonly maxSendHeaderListCap: number;
  /**
   * The highest peer stream id we accepted: GOAWAY's last-stream-id. Refused streams do not
   * count, so a later GOAWAY never names a higher id than an earlier one (RFC 9113 §6.8).
   */
  private lastAcceptedStreamId = 0;
  private readonly gracefulCloseMs: number;
  private readonly writeTurns: WriteTurns;
  /** Frames that do nothing useful (PRIORITY, unknown types, empty DATA). */
  private readonly invalidFrameBudget: TokenBucket;
  private readonly onSocketData = (chunk: Buffer) => {
    this.lifecycle.readActivity = true;
    this.reader.push(chunk);
  };

  /** Prefer createServerConnection()/createClientConnection(). The connection starts at once (preface, SETTINGS). */
  constructor(
    /** The socket (any Duplex) the connection runs over. */
    readonly socket: TransportSocket,
    role: ConnectionRole,
    options: ConnectionOptions = {},
  ) {
    super();
    this.readyPromise = new Promise<void>((resolve, reject) => {
      this.settleReady = (error) => (error === null ? resolve() : reject(error));
    });
    // Nobody may wait on it: a failed handshake must not be an unhandled rejection.
    this.readyPromise.catch(() => {});
    this.peer = role === 'server' ? SERVER_PEER : CLIENT_PEER;
    this.registry = new StreamRegistry(this.peer);
    this.localSettings = { ...defaultSettings(), ...DEFAULT_LOCAL_SETTINGS, ...options.settings };
    this.writeQuota = options.writeQuota ?? 64 * 1024;
    this.connectionReceiveWindow = new ReceiveWindow(DEFAULT_WINDOW_SIZE);
    const limits = { ...DEFAULT_CONNECTION_LIMITS, ...options.limits };
    this.maxSendHeaderListCap = limits.maxSendHeaderListSize;
    this.writeTurns = new WriteTurns(limits.writesPerTurn, (error) => this.writerFailed(error));
    this.resetBudget = new TokenBucket(limits.resetBurst, limits.resetsPerSecond);
    this.invalidFrameBudget = new TokenBucket(limits.invalidFrameBurst, limits.invalidFramesPerSecond);
    this.controlBuffer = new ControlBuffer({
      onThrottle: (throttled) => this.onThrottle(throttled),
      throttleThreshold: options.throttleThreshold,
      maxItems: limits.maxQueuedControlItems,
      maxBytes: limits.maxQueuedControlBytes,
      onOverflow: () => this.connectionError(new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, 'too much queued for a peer that does not read')),
    });
    this.framer = new FrameWriter(socket);
    this.writer = new LoopyWriter(this.controlBuffer, this.framer, new HeaderBlockEncoder(), this);
    this.reader = new FrameReader(new ReaderLoop(this), {
      expectPreface: this.peer.expectsPreface,
      maxFrameSize: this.localSettings.maxFrameSize,
      maxHeaderBlockSize: limits.maxHeaderBlockSize,
      maxContinuationFrames: limits.maxContinuationFrames,
    });
    const lifecycle = { ...DEFAULT_LIFECYCLE, ...options.lifecycle };
    this.gracefulCloseMs = lifecycle.writeStallTimeoutMs;
    this.lifecycle = new ConnectionLifecycle(this, lifecycle, this.peer.enforcesPingPolicy);
    // A larger table than the default applies at once (the peer may use less); a smaller one
    // waits for the SETTINGS ACK.
    if (this.localSettings.headerTableSize > 4096) this.decoder.setMaxTableSize(this.localSettings.headerTableSize);

    // Frames are batched per writer turn already; Nagle would only add latency.
    if (typeof socket.setNoDelay === 'function') socket.setNoDelay(true);
    socket.on('data', this.onSocketData);
    socket.on('error', () => {}); // 'close' follows and does the cleanup
    socket.on('close', () => this.onSocketClose());
    socket.on('end', () => this.onSocketEnd());

    // Connection preface (RFC 9113 §3.4): the client's magic, then each side's SETTINGS first.
    if (this.peer.sendsPreface) this.controlBuffer.put({ kind: 'rawFrames', bytes: CLIENT_PREFACE });
    this.controlBuffer.put({ kind: 'outgoingSettings', entries: settingsToEntries(this.localSettings) });
    const increment = this.connectionReceiveWindow.growTo(options.connectionWindowSize ?? 1024 * 1024);
    if (increment > 0) this.controlBuffer.put({ kind: 'outgoingWindowUpdate', streamId: 0, increment });
    void this.writer.run();
  }

  /** Counters for tests and monitoring. */
  get stats(): ConnectionStats {
    let streamBufferedBytes = 0;
    for (const stream of this.registry.values()) streamBufferedBytes += stream.bufferedBytes;
    return {
      streams: this.registry.size,
      retainedStreams: this.retainedClosed,
      writerStreams: this.writer.trackedStreams,
      queuedBytes: this.queued,
      controlItems: this.controlBuffer.size,
      readerBufferedBytes: this.reader.bufferedBytes,
      streamBufferedBytes,
      throttled: this.controlBuffer.isThrottled,
      bytesWritten: this.framer.bytesWritten,
    };
  }

  /** Whether the connection has closed (or is closing after a GOAWAY with an error or close()). */
  get isClosed(): boolean {
    return this.closed;
  }

  /** @internal Whether new streams are out of the question (StreamQuotaHost). */
  get refusesStreams(): boolean {
    return this.closed || this.isDraining;
  }

  /** Whether a GOAWAY was sent or received (or our stream ids ran out): no new streams. */
  get isDraining(): boolean {
    return this.goingAway || this.headsUpTimer !== null || this.peerGoAway !== null || this.registry.nextLocalStreamId > MAX_STREAM_ID;
  }

  /** Whether the peer's first SETTINGS arrived (the handshake is done). */
  get isReady(): boolean {
    return this.handshakeDone;
  }

  /**
   * Resolves once the peer's first SETTINGS arrive; rejects if the connection closes first (the
   * handshake timeout, a first frame other than SETTINGS, a refused socket).
   */
  whenReady(): Promise<void> {
    return this.readyPromise;
  }

  /** The GOAWAY the peer sent, if any (its last stream id, error code and debug data). */
  get receivedGoAway(): GoAwayFrame | null {
    return this.peerGoAway;
  }

  // ---- client side ----

  /**
   * Opens a stream with request headers now (client side), whatever the peer's concurrency limit
   * (a stream beyond it is refused by the peer); openStream() waits for a free slot instead.
   * `prepared` fields (prepareHeaders()) are sent first, through the HPACK table.
   */
  request(headers: HeaderList, endStream = false, prepared: PreparedHeaders | null = null): Http2Stream {
    if (this.peer.role !== 'client') throw new UserError('request() is for client connections');
    if (this.closed || this.isDraining) throw new UserError('connection is closing');
    // Checked before an id is taken, so a refused request leaves nothing behind.
    const size = headerListSize(headers) + (prepared === null ? 0 : headerListSize(prepared.fields));
    if (size > this.maxSendHeaderListSize) throw new HeaderListTooLargeError(size, this.maxSendHeaderListSize);
    const id = this.registry.allocateLocalId();
    // 'open' until our END_STREAM is written (then half-closed), as for any stream we end.
    const stream = new Http2Stream(id, this, new ReceiveWindow(this.localSettings.initialWindowSize), this.writeQuota, {
      state: openedState(false, 'local'),
      by: 'local',
      headers,
    });
    this.registry.add(stream);
    stream.sendHeaders(headers, endStream, prepared);
    if (this.registry.nextLocalStreamId > MAX_STREAM_ID) this.startDraining();
    return stream;
  }

  /**
   * Opens a stream for `request` as soon as the peer's SETTINGS_MAX_CONCURRENT_STREAMS allows
   * (client side, grpc-go's stream quota): at once when a slot is free (onStreamOpened is called
   * before this returns), otherwise when a stream closes or the peer raises its limit. A request
   * the connection cannot take (draining, closed, out of stream ids) gets onStreamFailed with
   * `unprocessed` true. A header list over the peer's limit fails at once (not unprocessed).
   */
  openStream(request: StreamRequest): void {
    if (this.peer.role !== 'client') throw new UserError('openStream() is for client connections');
    this.streamQuota.open(request);
  }

  /** Withdraws a request openStream() still holds; true if it was waiting (nothing was sent). */
  cancelStreamRequest(request: StreamRequest): boolean {
    return this.streamQuota.withdraw(request);
  }

  /** Requests waiting for a stream slot. */
  get waitingStreamRequests(): number {
    return this.streamQuota.size;
  }

  /** No new streams from now on: tell the owner (once), and move waiting requests elsewhere. */
  private startDraining(): void {
    if (!this.drainingEmitted) {
      this.drainingEmitted = true;
      this.emit('draining');
    }
    this.streamQuota.schedule();
  }

  /** The peer's SETTINGS_MAX_CONCURRENT_STREAMS minus the streams open now. */
  get availableStreams(): number {
    return this.peerSettings.maxConcurrentStreams - this.registry.size;
  }

  /**
   * Sends a PING and resolves with the round-trip time in ms; its ACK is matched by payload.
   * With `timeoutMs`, rejects with PingTimeoutError when no ACK comes within it.
   */
  ping(timeoutMs?: number): Promise<number>;
  /** @internal Sends a PING with this payload (keepalive). */
  ping(data: Buffer): void;
  ping(data?: Buffer | number): Promise<number> | void {
    if (Buffer.isBuffer(data)) {
      this.put({ kind: 'ping', ack: false, data });
      return;
    }
    if (this.closed) return Promise.reject(new UserError('connection closed'));
    const { payload, roundTrip } = this.pingWaiters.start(data);
    this.put({ kind: 'ping', ack: false, data: payload });
    return roundTrip;
  }

  // ---- shutdown ----

  /**
   * Graceful shutdown: streams already open finish, newer ones are refused, and the connection
   * closes by itself once no stream is left. A server sends two GOAWAYs (grpc-go, RFC 9113 §6.8):
   * first with the highest possible id and a PING, so requests already on their way are still
   * served, then, once the PING ACK shows the client has seen the first, with the last stream id
   * it processed. An error code other than NO_ERROR skips the first step.
   */
  goAway(errorCode: number = ErrorCode.NO_ERROR, debug = ''): void {
    if (this.closed || this.goingAway || this.headsUpTimer !== null) return;
    this.startDraining();
    if (!this.peer.twoStepGoAway || errorCode !== ErrorCode.NO_ERROR) {
      this.finalGoAway(errorCode, debug);
      return;
    }
    this.drainDebug = debug;
    this.put({ kind: 'goAway', lastStreamId: MAX_STREAM_ID, errorCode, debugData: Buffer.from(debug), closeConnection: false });
    this.put({ kind: 'ping', ack: false, data: SHUTDOWN_PING_DATA });
    // A peer that does not answer PINGs still gets the final GOAWAY.
    this.headsUpTimer = setTimeout(() => this.finalGoAway(errorCode, debug), HEADS_UP_TIMEOUT_MS);
    this.headsUpTimer.unref();
  }

  private finalGoAway(errorCode: number, debug: string): void {
    if (this.headsUpTimer !== null) {
      clearTimeout(this.headsUpTimer);
      this.headsUpTimer = null;
    }
    if (this.closed || this.goingAway) return;
    this.goingAway = true;
    this.put({ kind: 'goAway', lastStreamId: this.lastAcceptedStreamId, errorCode, debugData: Buffer.from(debug), closeConnection: false });
    this.closeIfIdle();
  }

  /**
   * Closes at once: every open stream gets RST_STREAM(CANCEL), then GOAWAY; the socket closes
   * once they are written (or after a second, for a peer that does not read).
   */
  close(errorCode: number = ErrorCode.NO_ERROR, debug = ''): void {
    if (this.closed) return;
    for (const stream of this.registry.values()) this.put({ kind: 'cleanupStream', streamId: stream.id, rstCode: ErrorCode.CANCEL, responseToPeer: false });
    this.terminate(errorCode, debug, 'user');
  }

  private closeIfIdle(): void {
    if (this.goingAway && !this.closed && this.registry.size === 0) this.terminate(ErrorCode.NO_ERROR, '', 'user');
  }

  private terminate(errorCode: number, debug: string, initiator: Initiator): void {
    this.closed = true;
    this.goingAway = true;
    this.startDraining();
    this.streamQuota.failAll();
    this.failHandshake();
    if (this.headsUpTimer !== null) clearTimeout(this.headsUpTimer);
    this.lifecycle.stop();
    this.reader.stop();
    this.socket.off('data', this.onSocketData);
    this.controlBuffer.put({
      kind: 'goAway',
      lastStreamId: this.lastAcceptedStreamId,
      errorCode,
      debugData: Buffer.from(debug),
      closeConnection: true,
    });
    this.failStreams(errorCode === ErrorCode.NO_ERROR ? ErrorCode.CANCEL : errorCode, initiator);
    // A peer that does not read must not keep the socket open: after an error give the GOAWAY a
    // moment, then destroy; after a graceful end give it as long as any write may stall, so a slow
    // reader still gets the tail of its last response.
    this.destroyTimer = setTimeout(() => this.socket.destroy(), errorCode === ErrorCode.NO_ERROR ? this.gracefulCloseMs : 1000);
    this.destroyTimer.unref();
  }

  /** The connection ends before the peer's SETTINGS came: whenReady() rejects. */
  private failHandshake(): void {
    if (!this.handshakeDone) this.settleReady?.(new UserError('connection closed before the handshake completed'));
    this.settleReady = null;
  }

  private failStreams(errorCode: number, initiator: Initiator): void {
    this.streamQuota.failAll();
    for (const stream of [...this.registry.values()]) stream.receiveReset(errorCode, initiator);
    this.pingWaiters.failAll();
  }

  private onSocketEnd(): void {
    // The peer closed its side: nothing more will arrive; finish writing, then close.
    if (!this.closed) this.terminate(ErrorCode.NO_ERROR, '', 'remote');
  }

  private onSocketClose(): void {
    const wasClosed = this.closed;
    this.closed = true;
    // A pending timer keeps the whole connection reachable (its slab, reader, streams) until it fires.
    if (this.destroyTimer !== null) clearTimeout(this.destroyTimer);
    if (this.headsUpTimer !== null) clearTimeout(this.headsUpTimer);
    this.lifecycle.stop();
    this.reader.stop();
    this.controlBuffer.finish();
    this.framer.abort();
    // Whatever is still open dies with the socket (a no-op for streams terminate() already failed).
    this.failStreams(wasClosed ? ErrorCode.INTERNAL_ERROR : ErrorCode.CANCEL, wasClosed ? 'library' : 'remote');
    this.failHandshake();
    this.startDraining();
    this.emit('close');
  }

  private onThrottle(throttled: boolean): void {
    // grpc-go's throttle: while too many transport responses wait for the writer, stop reading
    // (the peer sends faster than it reads our answers).
    if (throttled) {
      this.reader.pause();
      this.socket.pause();
    } else if (!this.closed) {
      this.socket.resume();
      this.reader.resume();
    }
  }

  // ---- StreamHost ----

  /** @internal */
  put(item: ControlItem): boolean {
    if (item.kind === 'headers' || item.kind === 'data') this.lifecycle.dataSent();
    return this.controlBuffer.put(item);
  }

  /** @internal */
  consumed(stream: Http2Stream, bytes: number): void {
    const increment = stream.receiveWindow.onConsumed(bytes);
    if (increment > 0 && !stream.remoteEnded && !stream.isClosed) {
      this.controlBuffer.put(outgoingWindowUpdateItem(stream.id, increment, stream.receiveWindow));
    }
  }

  /** @internal */
  streamClosed(stream: Http2Stream): void {
    if (!this.registry.remove(stream)) return;
    if (stream.holdAfterClose()) this.retainedClosed++;
    this.lifecycle.unwatchDataRate(stream);
    this.lifecycle.streamsChanged(this.registry.size);
    if (this.goingAway) this.closeIfIdle();
    else this.streamQuota.schedule();
  }

  /** @internal */
  spendWrite(): boolean {
    return this.writeTurns.spendWrite();
  }

  /** @internal */
  queueDrain(stream: Http2Stream): void {
    this.writeTurns.queueDrain(stream);
  }

  /** @internal */
  get maxSendHeaderListSize(): number {
    return Math.min(this.peerSettings.maxHeaderListSize, this.maxSendHeaderListCap);
  }

  /** @internal */
  streamReleased(): void {
    this.retainedClosed--;
  }

  /** @internal */
  queuedBytesChanged(delta: number): void {
    this.queued += delta;
  }

  // ---- ReaderHost ----

  /** @internal */
  spendReset(): void {
    if (!this.resetBudget.take()) throw TOO_MANY_RESETS();
  }

  /** @internal */
  spendInvalidFrame(): void {
    if (!this.invalidFrameBudget.take()) throw new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, 'too many frames that do nothing');
  }

  /** @internal */
  openPeerStream(id: number, headers: HeaderList, endStream: boolean, head: RequestHead | null): void {
    // Streams above the last id of a GOAWAY we sent are ignored (RFC 9113 §6.8), refused here.
    // Reset streams whose handlers still run count too: resetting a stream must not free a slot
    // for another handler while the first one works (rapid reset, CVE-2023-44487).
    if (this.goingAway || this.registry.size + this.retainedClosed >= this.localSettings.maxConcurrentStreams) {
      // Beyond SETTINGS_MAX_CONCURRENT_STREAMS: stream error of type REFUSED_STREAM (RFC 9113 §5.1.2).
      this.spendReset();
      this.registry.rememberReset(id);
      this.put({ kind: 'cleanupStream', streamId: id, rstCode: ErrorCode.REFUSED_STREAM, responseToPeer: true });
      return;
    }
    const stream = new Http2Stream(id, this, new ReceiveWindow(this.localSettings.initialWindowSize), this.writeQuota, {
      state: openedState(endStream, 'remote'),
      by: 'remote',
      headers,
    });
    this.lastAcceptedStreamId = id;
    stream.headersTruncated = head === null;
    stream.requestHead = head;
    if (head !== null) stream.expectedLength = head.contentLength;
    this.registry.add(stream);
    this.put(registerStream(id, stream));
    if (endStream) stream.receiveEnd(null);
    else this.lifecycle.watchDataRate(stream);
    this.emit('stream', stream);
  }

  /** @internal */
  receiveResponseHeaders(stream: Http2Stream, headers: HeaderList, endStream: boolean, head: ResponseHead): void {
    stream.responseHeadersReceived = true;
    stream.responseHead = head;
    const listener = stream.listener;
    if (listener?.onHeaders) listener.onHeaders(headers, endStream);
    if (endStream) stream.receiveEnd(null);
  }

  /** @internal */
  streamError(error: StreamError): void {
    if (!this.resetBudget.take()) {
      this.connectionError(TOO_MANY_RESETS());
      return;
    }
    const stream = this.registry.get(error.streamId);
    this.registry.rememberReset(error.streamId);
    this.put(cleanupStreamItem(error.streamId, error.errorCode, true));
    if (stream !== undefined) stream.receiveReset(error.errorCode, 'library');
  }

  /** @internal */
  connectionError(error: ConnectionError): void {
    if (this.closed) return;
    this.emit('connectionError', error);
    this.terminate(error.errorCode, error.reason, error.initiator);
  }

  /** @internal */
  receiveGoAway(frame: GoAwayFrame): void {
    // A later GOAWAY may lower the last stream id, never raise it (RFC 9113 §6.8).
    if (this.peer.dropsUnprocessedOnGoAway && this.peerGoAway !== null && frame.lastStreamId > this.peerGoAway.lastStreamId) {
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `GOAWAY raised the last stream id from ${this.peerGoAway.lastStreamId} to ${frame.lastStreamId}`);
    }
    this.peerGoAway = frame;
    this.startDraining();
    this.emit('goaway', frame);
    // Streams we opened above the peer's last stream id were not processed: safe to retry.
    if (this.peer.dropsUnprocessedOnGoAway) {
      for (const stream of [...this.registry.values()]) {
        if (stream.id <= frame.lastStreamId) continue;
        // The peer never processed it: drop what the writer still holds for it, no RST needed.
        this.put({ kind: 'cleanupStream', streamId: stream.id, rstCode: null, responseToPeer: false });
        stream.receiveReset(ErrorCode.REFUSED_STREAM, 'remote');
      }
    }
    if (frame.errorCode !== ErrorCode.NO_ERROR) this.terminate(ErrorCode.NO_ERROR, '', 'remote');
    else {
      this.goingAway = true;
      this.closeIfIdle();
    }
  }

  /** @internal */
  receivePing(): void {
    this.lifecycle.peerPing();
  }

  /** @internal */
  receivePingAck(data: Buffer): void {
    if (this.lifecycle.pingAck(data)) return;
    if (data.equals(SHUTDOWN_PING_DATA)) {
      if (this.headsUpTimer !== null) this.finalGoAway(ErrorCode.NO_ERROR, this.drainDebug);
      return;
    }
    this.pingWaiters.ack(data);
  }

  /** @internal */
  receiveSettings(): void {
    this.lifecycle.handshakeDone();
    if (!this.handshakeDone) {
      this.handshakeDone = true;
      this.settleReady?.(null);
      this.settleReady = null;
      this.emit('ready');
    }
    // The peer may have raised SETTINGS_MAX_CONCURRENT_STREAMS.
    this.streamQuota.schedule();
  }

  // ---- LifecycleHost ----

  /** @internal */
  get openStreams(): number {
    return this.registry.size;
  }

  /** @internal */
  openStreamList(): Iterable<Http2Stream> {
    return this.registry.values();
  }

  /** @internal */
  drain(debug: string): void {
    this.goAway(ErrorCode.NO_ERROR, debug);
  }

  /** @internal */
  fail(error: ConnectionError): void {
    this.connectionError(error);
  }

  /** @internal */
  destroy(): void {
    this.lifecycle.stop();
    this.socket.destroy();
  }

  /** @internal */
  resetSlowStream(stream: Http2Stream): void {
    // Kestrel answers a too-slow request body the same way: the stream ends, the connection stays.
    // A reset the library decides: the application hears it (onReset), as for any stream error.
    this.streamError(new StreamError(stream.id, ErrorCode.CANCEL, 'request data below the minimum rate'));
  }

  /** @internal */
  exemptFromDataRate(stream: Http2Stream): void {
    this.lifecycle.unwatchDataRate(stream);
  }

  /** @internal */
  receiveSettingsAck(): void {
    // A smaller header table than the default binds the peer's encoder only once it has
    // acknowledged our SETTINGS (RFC 7541 §4.2); until then the decoder keeps 4096.
    this.decoder.setMaxTableSize(this.localSettings.headerTableSize);
  }

  // ---- LoopyHost ----

  /** @internal */
  streamFlowControlError(streamId: number): void {
    this.streamError(new StreamError(streamId, ErrorCode.FLOW_CONTROL_ERROR, 'send window overflow'));
  }

  /** @internal */
  writeBlocked(blocked: boolean): void {
    this.lifecycle.writeBlocked(blocked);
  }

  /** @internal */
  closeSocket(): void {
    this.closed = true;
    this.socket.end();
  }

  /** @internal */
  writerFailed(error: unknown): void {
    if (this.closed) {
      this.socket.destroy();
      return;
    }
    this.emit('connectionError', new ConnectionError(ErrorCode.INTERNAL_ERROR, `writer failed: ${error instanceof Error ? error.message : String(error)}`));
    this.closed = true;
    this.failStreams(ErrorCode.INTERNAL_ERROR, 'library');
    this.socket.destroy();
  }
}
