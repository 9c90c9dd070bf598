import { ErrorCode, HeaderListTooLargeError, type Initiator, UserError } from '../errors';
import type { ReceiveWindow } from '../flow-control';
import { type HeaderList, headerListSize, HeaderTemplate, type PreparedHeaders } from '../hpack/header-block';
import type { RequestHead, ResponseHead } from '../http/message-head';
import { RecvBuffer } from '../inbound/recv-buffer';
import { type ControlItem, cleanupStreamItem, dataItem, headersItem, trailersItem } from '../outbound/control-item';
import {
  afterLocalEnd,
  afterRemoteEnd,
  type CloseCause,
  type InboundState,
  inboundAfterEnd,
  localCanSend,
  type OutboundState,
  resetCause,
  type StreamState,
} from './stream-state';

/** What the upper layer hears from a stream. Callbacks run synchronously on the connection's I/O path. */
export interface StreamListener {
  /** Response headers (client side), or informational headers. */
  onHeaders?(headers: HeaderList, endStream: boolean): void;
  /** Received DATA, in order; the window is returned to the peer as this returns (unless paused). */
  onData(chunk: Buffer): void;
  /** Trailers arrived; onEnd follows. */
  onTrailers(trailers: HeaderList): void;
  /** The peer finished sending (END_STREAM), after all data and trailers were delivered. */
  onEnd(): void;
  /** The stream was reset by the peer, by the library, or lost with its connection. Nothing follows. */
  onReset(errorCode: number, initiator: Initiator): void;
  /** The write quota has room again after write() returned false. */
  onDrain(): void;
}

/** @internal The connection side of a stream (implemented by Http2Connection). */
export interface StreamHost {
  put(item: ControlItem): boolean;
  /** `bytes` of the stream's received data were consumed: return window to the peer. */
  consumed(stream: Http2Stream, bytes: number): void;
  /** The stream reached 'closed' (both END_STREAMs written/received, or reset). */
  streamClosed(stream: Http2Stream): void;
  /** Queued-but-unwritten bytes changed by `delta` (connection-wide stats). */
  queuedBytesChanged(delta: number): void;
  /** A retained stream that had already closed was released: its concurrency slot is free. */
  streamReleased(stream: Http2Stream): void;
  /** The peer may let this stream idle: no minimum data rate. */
  exemptFromDataRate(stream: Http2Stream): void;
  /** The largest header list we may send now: the peer's SETTINGS_MAX_HEADER_LIST_SIZE and our cap. */
  readonly maxSendHeaderListSize: number;
  /** Counts one write against the connection's budget for this event-loop turn; false once it is spent. */
  spendWrite(): boolean;
  /** The stream's writer may go on: call deliverDrain() at the start of a turn with budget left. */
  queueDrain(stream: Http2Stream): void;
}

/** Bits of Http2Stream.flags: facts about a stream that are not part of its lifecycle. */
const PAUSED = 1 << 0;
/** Inside deliver() (a listener may call resume() from onData). */
const DELIVERING = 1 << 1;
/** write() returned false: onDrain is owed once the quota has room. */
const WANT_DRAIN = 1 << 2;
/** The upper layer is done with the stream's input: data is dropped, the end only closes. */
const DETACHED = 1 << 3;
/** The application still works on the stream (retain() until release()). */
const RETAINED = 1 << 4;
/** Closed while retained: the connection counts it against the concurrency limit until release(). */
const HELD_AFTER_CLOSE = 1 << 5;
const HEADERS_SENT = 1 << 6;
/** We opened the stream (a request of ours). */
const LOCAL = 1 << 7;
const RESPONSE_HEADERS_RECEIVED = 1 << 8;
const HEADERS_TRUNCATED = 1 << 9;
/** The connection holds the stream in its drain queue. */
const DRAIN_QUEUED = 1 << 10;

/** No RST_STREAM after our END_STREAM. */
const NO_RESET = -1;

/**
 * One HTTP/2 stream as the layer above sees it: send headers, data with backpressure, trailers, or
 * a reset; receive the same through a StreamListener. Sending only puts items on the connection's
 * ControlBuffer; the LoopyWriter does the writing and reports back through the on*Written methods.
 *
 * Its lifecycle is data (stream-state.ts): the RFC 9113 §5.1 state, one sub-state per direction
 * (`inbound`, `outbound`) and, once closed, the `closeCause`. Everything else it knows is a bit in
 * one number, so a stream is a small object: one is made per call.
 */
export class Http2Stream {
  /** Where the stream is in RFC 9113 §5.1's state machine. */
  state: StreamState;
  /** @internal */
  listener: StreamListener | null = null;
  /** The HEADERS that opened the stream (a request on the server side). */
  headers: HeaderList;
  /** Bytes handed to write() that the LoopyWriter has not put on the wire yet. */
  queuedBytes = 0;
  /** DATA items queued and not yet written (each costs WRITE_OVERHEAD of the write quota). */
  private queuedWrites = 0;
  /** Server side: the validated request head (null only when the headers were truncated). */
  requestHead: RequestHead | null = null;
  /** Client side: the validated response head, once it arrived. */
  responseHead: ResponseHead | null = null;
  /** @internal The peer's content-length (-1: none) and the DATA bytes received against it (RFC 9113 §8.1.1). */
  expectedLength = -1;
  /** @internal */
  receivedLength = 0;
  /** DATA payload bytes received (for the minimum data rate). */
  bytesReceived = 0;
  /** @internal The minimum-data-rate check's marks (connection/lifecycle.ts). */
  rateWatched = false;
  /** @internal */
  rateSince = 0;
  /** @internal */
  rateBaseline = 0;
  /** Any value; free for the layer above (a gRPC call keeps itself here). */
  context: unknown = null;

  private inboundState: InboundState = 'open';
  private outboundState: OutboundState = 'open';
  private cause: CloseCause | null = null;
  /** The RST_STREAM code of a reset (sent or received); 0 (NO_ERROR) otherwise. */
  private code = 0;
  /** RST_STREAM code to send once our END_STREAM is written while the peer still sends (NO_RESET: none). */
  private codeAfterEnd = NO_RESET;
  private flags = 0;
  /** Created only when data has to wait (paused, or no listener yet). */
  private recvBuffer: RecvBuffer | null = null;
  private trailersReceived: HeaderList | null = null;

  /** @internal Streams come from Http2Connection (request(), the 'stream' event). */
  constructor(
    /** The stream identifier (odd: opened by the client). */
    readonly id: number,
    private readonly host: StreamHost,
    /** @internal */
    readonly receiveWindow: ReceiveWindow,
    private readonly writeQuota: number,
    openedBy: StateOpener,
  ) {
    this.state = openedBy.state;
    this.headers = openedBy.headers;
    if (openedBy.by === 'local') this.flags = LOCAL;
    // A server that answered before the request ended tells the client to stop sending (RFC 9113
    // §8.1): a stream the peer opened is reset with NO_ERROR after our END_STREAM. (A client's
    // peer cannot open streams: we never enable push.)
    else this.codeAfterEnd = ErrorCode.NO_ERROR;
  }

  /** The peer's direction: 'open', 'ended' (END_STREAM arrived, not yet delivered), 'done' or 'reset'. */
  get inbound(): InboundState {
    return this.inboundState;
  }

  /** Our direction: 'open', 'ending' (END_STREAM queued), 'ended' (written) or 'reset'. */
  get outbound(): OutboundState {
    return this.outboundState;
  }

  /** Why the stream closed (null while it is not closed). */
  get closeCause(): CloseCause | null {
    return this.cause;
  }

  /** The RST_STREAM error code of a reset stream (sent or received); 0 otherwise. */
  get resetCode(): number {
    return this.code;
  }

  /** Whether we opened the stream (a request of ours), rather than the peer. */
  get isLocal(): boolean {
    return (this.flags & LOCAL) !== 0;
  }

  /** Whether the stream reached 'closed' (both ends finished, or reset). */
  get isClosed(): boolean {
    return this.state === 'closed';
  }

  /** Whether the stream ended by a reset (either side) or connection loss rather than by END_STREAM. */
  get isAborted(): boolean {
    return this.cause !== null && this.cause !== 'endStream';
  }

  /** Whether the peer has sent END_STREAM. */
  get remoteEnded(): boolean {
    return this.inboundState === 'ended' || this.inboundState === 'done';
  }

  /** Whether the local side has queued its END_STREAM (or the stream was reset). */
  get localEnded(): boolean {
    return this.outboundState !== 'open';
  }

  /** Whether sendHeaders() was called. */
  get headersSent(): boolean {
    return (this.flags & HEADERS_SENT) !== 0;
  }

  /** @internal Whether the stream has closed but its retain() still holds a concurrency slot. */
  get isHeldAfterClose(): boolean {
    return (this.flags & HELD_AFTER_CLOSE) !== 0;
  }

  /** Whether the application paused delivery (pause() without resume()). */
  get isPaused(): boolean {
    return (this.flags & PAUSED) !== 0;
  }

  /** The opening header list exceeded our SETTINGS_MAX_HEADER_LIST_SIZE and was cut short. */
  get headersTruncated(): boolean {
    return (this.flags & HEADERS_TRUNCATED) !== 0;
  }

  /** @internal */
  set headersTruncated(truncated: boolean) {
    this.setFlag(HEADERS_TRUNCATED, truncated);
  }

  /** @internal Client side: the response HEADERS arrived (a later HEADERS is the trailers). */
  get responseHeadersReceived(): boolean {
    return (this.flags & RESPONSE_HEADERS_RECEIVED) !== 0;
  }

  /** @internal */
  set responseHeadersReceived(received: boolean) {
    this.setFlag(RESPONSE_HEADERS_RECEIVED, received);
  }

  /** @internal Set while the connection holds this stream in its drain queue. */
  get drainQueued(): boolean {
    return (this.flags & DRAIN_QUEUED) !== 0;
  }

  /** @internal */
  set drainQueued(queued: boolean) {
    this.setFlag(DRAIN_QUEUED, queued);
  }

  private setFlag(flag: number, on: boolean): void {
    if (on) this.flags |= flag;
    else this.flags &= ~flag;
  }

  /** Bytes received and not yet taken by the listener. */
  get bufferedBytes(): number {
    return this.recvBuffer === null ? 0 : this.recvBuffer.bytes;
  }

  // ---- sending (upper layer) ----

  /** Sends the initial HEADERS; with endStream they are the whole response (trailers-only). */
  sendHeaders(headers: HeaderList | null, endStream = false, prepared: PreparedHeaders | null = null): void {
    this.checkWritable();
    const template = toTemplate(prepared);
    this.checkHeaderListSize(headers, template);
    if (this.flags & HEADERS_SENT) throw new UserError(`stream ${this.id}: headers already sent`);
    this.flags |= HEADERS_SENT;
    if (endStream) this.outboundState = 'ending';
    this.host.put(headersItem(this.id, this, template, headers, endStream));
  }

  /**
   * Queues DATA. Returns false once the write quota (bytes queued but not yet written) is used up:
   * wait for the listener's onDrain before writing more.
   */
  write(data: Buffer, endStream = false): boolean {
    this.checkWritable();
    if (endStream) this.outboundState = 'ending';
    this.queuedBytes += data.length;
    this.queuedWrites++;
    this.host.queuedBytesChanged(data.length);
    this.host.put(dataItem(this.id, data, endStream));
    const withinQuota = this.quotaUsed < this.writeQuota;
    if (this.host.spendWrite() && withinQuota) return true;
    this.flags |= WANT_DRAIN;
    // Only the connection's budget for this turn holds it back: it may go on next turn.
    if (withinQuota) this.host.queueDrain(this);
    return false;
  }

  /**
   * What the queued writes cost: their bytes plus a fixed overhead each, so a stream of tiny
   * messages cannot queue hundreds of thousands of items within a byte quota (each item is a
   * DATA item and a Buffer; 100 streams of 8-byte messages queued 800 000 with bytes alone).
   */
  private get quotaUsed(): number {
    return this.queuedBytes + this.queuedWrites * WRITE_OVERHEAD;
  }

  /** Ends the stream: with trailers (a HEADERS frame with END_STREAM) or with an empty DATA frame. */
  end(trailers: HeaderList | null = null, prepared: PreparedHeaders | null = null): void {
    this.checkWritable();
    const template = toTemplate(prepared);
    this.checkHeaderListSize(trailers, template);
    this.outboundState = 'ending';
    if (trailers === null && template === null) {
      this.queuedWrites++;
      this.host.put(dataItem(this.id, EMPTY, true));
    } else {
      this.host.put(trailersItem(this.id, template, trailers));
    }
  }

  /** Aborts the stream with RST_STREAM(errorCode). Safe to call on a closed stream (no-op). */
  reset(errorCode: number = ErrorCode.CANCEL): void {
    this.resetAs(errorCode, 'resetByUser');
  }

  /**
   * Once our END_STREAM is written, if the peer is still sending, reset the stream with `code`
   * (RFC 9113 §8.1: a server that answered before the request ended; NO_ERROR is the default for
   * a stream the peer opened). A server past a call's deadline sends CANCEL instead; null: no reset.
   */
  resetAfterEnd(code: number | null): void {
    this.codeAfterEnd = code ?? NO_RESET;
  }

  private resetAs(errorCode: number, cause: CloseCause): void {
    if (this.state === 'closed') return;
    this.close(cause, errorCode);
    this.host.put(cleanupStreamItem(this.id, errorCode, false));
  }

  /**
   * Whether this header list (plus prepared headers) may be sent: within the peer's
   * SETTINGS_MAX_HEADER_LIST_SIZE and our own cap. sendHeaders() and end() throw
   * HeaderListTooLargeError for one that is not, before anything is queued.
   */
  fitsHeaderList(headers: HeaderList | null, prepared: PreparedHeaders | null = null): boolean {
    return sizeOf(headers, toTemplate(prepared)) <= this.host.maxSendHeaderListSize;
  }

  private checkHeaderListSize(headers: HeaderList | null, template: HeaderTemplate | null): void {
    const size = sizeOf(headers, template);
    const limit = this.host.maxSendHeaderListSize;
    if (size > limit) throw new HeaderListTooLargeError(size, limit);
  }

  private checkWritable(): void {
    if (this.outboundState !== 'open' || !localCanSend(this.state)) throw new UserError(`stream ${this.id} is not writable`);
  }

  // ---- receiving (upper layer) ----

  /** Stops delivering data; it is kept (and window withheld) until resume(). */
  pause(): void {
    this.flags |= PAUSED;
  }

  /** Delivers what arrived while paused and returns window to the peer again. */
  resume(): void {
    if ((this.flags & PAUSED) === 0) return;
    this.flags &= ~PAUSED;
    this.deliver();
  }

  /**
   * The upper layer needs nothing more from this stream (it answered and will not read the rest):
   * drop buffered input and the listener, so nothing it holds stays reachable while the response is
   * written. Whatever the peer still sends is discarded; the stream closes as usual once both
   * END_STREAMs are through (or by the reset a server sends after its END_STREAM).
   */
  detach(): void {
    this.flags = (this.flags | DETACHED) & ~PAUSED;
    this.listener = null;
    this.recvBuffer?.clear();
    if (this.inboundState === 'ended') {
      this.inboundState = 'done';
      if (this.state === 'closed') this.host.streamClosed(this);
    }
  }

  /**
   * The application keeps working on this stream (a request handler runs): until release(), the
   * stream counts against our SETTINGS_MAX_CONCURRENT_STREAMS even after it is reset or closed, so
   * a peer that resets streams at once cannot start more handlers than the limit (CVE-2023-44487;
   * grpc-go never runs more handlers than MaxConcurrentStreams).
   */
  retain(): void {
    this.flags |= RETAINED;
  }

  /** The application is done with the stream: a closed stream's concurrency slot is freed. Idempotent. */
  release(): void {
    if ((this.flags & RETAINED) === 0) return;
    this.flags &= ~RETAINED;
    if (this.flags & HELD_AFTER_CLOSE) {
      this.flags &= ~HELD_AFTER_CLOSE;
      this.host.streamReleased(this);
    }
  }

  /** @internal The connection removed the closed stream; true if a retain() keeps its slot taken. */
  holdAfterClose(): boolean {
    if (this.flags & RETAINED) this.flags |= HELD_AFTER_CLOSE;
    return (this.flags & HELD_AFTER_CLOSE) !== 0;
  }

  /**
   * A stream the peer may legitimately keep open without sending (a long-lived upload or bidi
   * stream): it is not reset for sending below the connection's minimum data rate.
   */
  exemptFromDataRate(): void {
    this.host.exemptFromDataRate(this);
  }

  /** Attaches the listener and delivers anything that arrived before it. */
  setListener(listener: StreamListener): void {
    this.listener = listener;
    this.deliver();
  }

  // ---- called by the connection's reader loop ----

  /** @internal DATA arrived (already charged to the receive windows). */
  receiveData(chunk: Buffer, endStream: boolean): void {
    this.bytesReceived += chunk.length;
    if (this.flags & DETACHED) {
      if (endStream) this.receiveEnd(null);
      return;
    }
    if (chunk.length > 0) {
      const listener = this.listener;
      if (listener !== null && (this.flags & (PAUSED | DELIVERING)) === 0 && (this.recvBuffer === null || this.recvBuffer.isEmpty)) {
        // Nothing queued ahead of it: hand the chunk straight to the listener.
        this.host.consumed(this, chunk.length);
        listener.onData(chunk);
        if (this.isAborted) return;
      } else {
        (this.recvBuffer ??= new RecvBuffer()).push(chunk);
      }
    }
    if (endStream) this.receiveEnd(null);
    else if ((this.flags & PAUSED) === 0 && this.listener !== null && this.recvBuffer !== null && !this.recvBuffer.isEmpty) this.deliver();
  }

  /** @internal Trailers (or END_STREAM on an empty DATA frame, trailers null). */
  receiveEnd(trailers: HeaderList | null): void {
    this.inboundState = inboundAfterEnd(this.inboundState);
    this.trailersReceived = trailers;
    this.state = afterRemoteEnd(this.state);
    if (this.state === 'closed' && this.cause === null) this.cause = 'endStream';
    if (this.flags & DETACHED) {
      if (this.inboundState === 'ended') this.inboundState = 'done';
      if (this.state === 'closed') this.host.streamClosed(this);
      return;
    }
    this.deliver();
  }

  /** @internal The peer reset the stream, or the connection went away. */
  receiveReset(errorCode: number, initiator: Initiator): void {
    if (this.isAborted || (this.state === 'closed' && this.inboundState === 'done')) return;
    if (errorCode === ErrorCode.NO_ERROR && initiator === 'remote' && this.inboundState === 'ended' && this.isLocal) {
      // RFC 9113 §8.1: the server sent its whole response and only asks us to stop sending the
      // request; a client MUST NOT discard that response, buffered parts included.
      this.stopSending();
      return;
    }
    this.close(resetCause(initiator), errorCode);
    const listener = this.listener;
    if (listener !== null) listener.onReset(errorCode, initiator);
  }

  private deliver(): void {
    // Reentrancy guard: a listener may call resume() from inside onData.
    if (this.flags & DELIVERING) return;
    const listener = this.listener;
    if (listener === null) return;
    this.flags |= DELIVERING;
    try {
      const buffer = this.recvBuffer;
      while ((this.flags & PAUSED) === 0 && buffer !== null) {
        const chunk = buffer.shift();
        if (chunk === undefined) break;
        this.host.consumed(this, chunk.length);
        listener.onData(chunk);
        if (this.listener !== listener || this.isAborted) return;
      }
      if (this.inboundState === 'ended' && (this.flags & PAUSED) === 0 && (this.recvBuffer === null || this.recvBuffer.isEmpty)) {
        this.inboundState = 'done';
        if (this.trailersReceived !== null) listener.onTrailers(this.trailersReceived);
        listener.onEnd();
        if (this.state === 'closed') this.host.streamClosed(this);
      }
    } finally {
      this.flags &= ~DELIVERING;
    }
  }

  /** Closes by a reset: nothing more is delivered or sent. */
  /** Our side may send nothing more (the peer's RST_STREAM NO_ERROR after its END_STREAM); delivery goes on. */
  private stopSending(): void {
    if (this.outboundState !== 'ended') this.outboundState = 'reset';
    this.state = 'closed';
    this.cause ??= 'endStream';
    if (this.queuedBytes > 0) {
      this.host.queuedBytesChanged(-this.queuedBytes);
      this.queuedBytes = 0;
    }
    this.queuedWrites = 0;
    // What is still buffered is delivered, then onEnd; the stream leaves the registry after it.
    this.deliver();
  }

  private close(cause: CloseCause, errorCode: number): void {
    this.cause = cause;
    this.code = errorCode;
    this.state = 'closed';
    this.inboundState = this.inboundState === 'open' ? 'reset' : 'done';
    if (this.outboundState !== 'ended') this.outboundState = 'reset';
    this.recvBuffer?.clear();
    // What was queued will never be written: the writer drops it without reporting back.
    if (this.queuedBytes > 0) {
      this.host.queuedBytesChanged(-this.queuedBytes);
      this.queuedBytes = 0;
    }
    this.queuedWrites = 0;
    this.host.streamClosed(this);
  }

  // ---- called by the LoopyWriter ----

  /** @internal `bytes` of queued DATA reached the frame writer. */
  onBytesWritten(bytes: number, writes: number): void {
    if (this.isAborted) return;
    this.queuedBytes -= bytes;
    this.queuedWrites -= writes;
    this.host.queuedBytesChanged(-bytes);
    if (this.flags & WANT_DRAIN && this.quotaUsed < this.writeQuota) this.host.queueDrain(this);
  }

  /**
   * @internal The connection's turn: the writer that write() told to wait may go on. Never from
   * inside the writer's loop, so handlers refilling their streams get one event-loop turn each
   * round and a turn's writes stay within the connection's budget.
   */
  deliverDrain(): void {
    if ((this.flags & WANT_DRAIN) === 0 || this.quotaUsed >= this.writeQuota) return;
    this.flags &= ~WANT_DRAIN;
    if (this.listener !== null && this.state !== 'closed') this.listener.onDrain();
  }

  /** @internal Our END_STREAM reached the frame writer. */
  onEndWritten(): void {
    if (this.state === 'closed') return;
    this.outboundState = 'ended';
    this.state = afterLocalEnd(this.state);
    if (this.state === 'closed') {
      this.cause = 'endStream';
      if (this.inboundState === 'done') this.host.streamClosed(this);
    } else if (this.codeAfterEnd !== NO_RESET) {
      this.resetAs(this.codeAfterEnd, 'resetByLibrary');
    }
  }
}

/** @internal How a stream came to exist: its first state and the headers that opened it. */
export interface StateOpener {
  state: StreamState;
  headers: HeaderList;
  by: 'local' | 'remote';
}

const EMPTY = Buffer.alloc(0);
/** What one queued write costs of the write quota besides its bytes: about its memory (a DATA item and a Buffer). */
const WRITE_OVERHEAD = 128;

function sizeOf(headers: HeaderList | null, template: HeaderTemplate | null): number {
  return (template === null ? 0 : template.listSize) + (headers === null ? 0 : headerListSize(headers));
}

/** Prepared headers come from prepareHeaders() only: the writer relies on what it computed. */
function toTemplate(prepared: PreparedHeaders | null): HeaderTemplate | null {
  if (prepared === null || prepared instanceof HeaderTemplate) return prepared;
  throw new UserError('prepared headers must come from prepareHeaders()');
}
