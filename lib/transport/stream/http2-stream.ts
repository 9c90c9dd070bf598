import { ErrorCode, HeaderListTooLargeError, type Initiator, UserError } from '../errors';
import type { ReceiveWindow } from '../flow-control';
import { type HeaderList, headerListSize, HeaderTemplate, type PreparedHeaders } from '../hpack/header-block';
import type { RequestHead, ResponseHead } from '../http/message-head';
import { RecvBuffer } from '../inbound/recv-buffer';
import { type ControlItem, cleanupStreamItem, dataItem, headersItem, trailersItem } from '../outbound/control-item';
import { afterLocalEnd, afterRemoteEnd, localCanSend, type StreamState } from './stream-state';

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

/**
 * One HTTP/2 stream as the layer above sees it: send headers, data with backpressure, trailers, or
 * a reset; receive the same through a StreamListener. Sending only puts items on the connection's
 * ControlBuffer; the LoopyWriter does the writing and reports back through the on*Written methods.
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
  /** @internal Client side: the response HEADERS arrived (a later HEADERS is the trailers). */
  responseHeadersReceived = false;
  /** The opening header list exceeded our SETTINGS_MAX_HEADER_LIST_SIZE and was cut short. */
  headersTruncated = false;
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
  /**
   * RST_STREAM code to send once our END_STREAM is written while the peer is still sending: a server
   * that answered before the request ended tells the client to stop (RFC 9113 §8.1). null: never.
   */
  resetAfterEnd: number | null = null;
  /** Any value; free for the layer above (a gRPC call keeps itself here). */
  context: unknown = null;

  /** Created only when data has to wait (paused, or no listener yet). */
  private recvBuffer: RecvBuffer | null = null;
  private paused = false;
  private endReceived = false;
  private trailersReceived: HeaderList | null = null;
  private endDelivered = false;
  private headersQueued = false;
  private localEndQueued = false;
  private wantDrain = false;
  private delivering = false;
  private aborted = false;
  /** The upper layer is done with the stream's input: data is dropped, the end only closes. */
  private detached = false;
  /** The application still works on the stream (retain() until release()). */
  private retained = false;
  /** Closed while retained: the connection counts it against the concurrency limit until release(). */
  private heldAfterClose = false;

  private readonly openedLocally: boolean;

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
    this.openedLocally = openedBy.by === 'local';
  }

  /** Whether we opened the stream (a request of ours), rather than the peer. */
  get isLocal(): boolean {
    return this.openedLocally;
  }

  /** Whether the stream reached 'closed' (both ends finished, or reset). */
  get isClosed(): boolean {
    return this.state === 'closed';
  }

  /** Whether the stream ended by a reset (either side) or connection loss rather than by END_STREAM. */
  get isAborted(): boolean {
    return this.aborted;
  }

  /** Whether the peer has sent END_STREAM. */
  get remoteEnded(): boolean {
    return this.endReceived;
  }

  /** Whether the local side has queued its END_STREAM (or reset). */
  get localEnded(): boolean {
    return this.localEndQueued;
  }

  /** Whether sendHeaders() was called. */
  get headersSent(): boolean {
    return this.headersQueued;
  }

  /** @internal Whether the stream has closed but its retain() still holds a concurrency slot. */
  get isHeldAfterClose(): boolean {
    return this.heldAfterClose;
  }

  /** Whether the application paused delivery (pause() without resume()). */
  get isPaused(): boolean {
    return this.paused;
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
    if (this.headersQueued) throw new UserError(`stream ${this.id}: headers already sent`);
    this.headersQueued = true;
    if (endStream) this.localEndQueued = true;
    this.host.put(headersItem(this.id, this, template, headers, endStream));
  }

  /**
   * Queues DATA. Returns false once the write quota (bytes queued but not yet written) is used up:
   * wait for the listener's onDrain before writing more.
   */
  write(data: Buffer, endStream = false): boolean {
    this.checkWritable();
    if (endStream) this.localEndQueued = true;
    this.queuedBytes += data.length;
    this.queuedWrites++;
    this.host.queuedBytesChanged(data.length);
    this.host.put(dataItem(this.id, data, endStream));
    const withinQuota = this.quotaUsed < this.writeQuota;
    if (this.host.spendWrite() && withinQuota) return true;
    this.wantDrain = true;
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
    this.localEndQueued = true;
    if (trailers === null && template === null) {
      this.queuedWrites++;
      this.host.put(dataItem(this.id, EMPTY, true));
    } else {
      this.host.put(trailersItem(this.id, template, trailers));
    }
  }

  /** Aborts the stream with RST_STREAM(errorCode). Safe to call on a closed stream (no-op). */
  reset(errorCode: number = ErrorCode.CANCEL): void {
    if (this.state === 'closed') return;
    this.localEndQueued = true;
    this.close();
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
    if (this.localEndQueued || !localCanSend(this.state)) throw new UserError(`stream ${this.id} is not writable`);
  }

  // ---- receiving (upper layer) ----

  /** Stops delivering data; it is kept (and window withheld) until resume(). */
  pause(): void {
    this.paused = true;
  }

  /** Delivers what arrived while paused and returns window to the peer again. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.deliver();
  }

  /**
   * The upper layer needs nothing more from this stream (it answered and will not read the rest):
   * drop buffered input and the listener, so nothing it holds stays reachable while the response is
   * written. Whatever the peer still sends is discarded; the stream closes as usual once both
   * END_STREAMs are through (or by the reset a server sends after its END_STREAM).
   */
  detach(): void {
    this.detached = true;
    this.listener = null;
    this.paused = false;
    this.recvBuffer?.clear();
    if (this.endReceived && !this.endDelivered) {
      this.endDelivered = true;
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
    this.retained = true;
  }

  /** The application is done with the stream: a closed stream's concurrency slot is freed. Idempotent. */
  release(): void {
    if (!this.retained) return;
    this.retained = false;
    if (this.heldAfterClose) {
      this.heldAfterClose = false;
      this.host.streamReleased(this);
    }
  }

  /** @internal The connection removed the closed stream; true if a retain() keeps its slot taken. */
  holdAfterClose(): boolean {
    if (this.retained) this.heldAfterClose = true;
    return this.heldAfterClose;
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
    if (this.detached) {
      if (endStream) this.receiveEnd(null);
      return;
    }
    if (chunk.length > 0) {
      const listener = this.listener;
      if (listener !== null && !this.paused && !this.delivering && (this.recvBuffer === null || this.recvBuffer.isEmpty)) {
        // Nothing queued ahead of it: hand the chunk straight to the listener.
        this.host.consumed(this, chunk.length);
        listener.onData(chunk);
        if (this.aborted) return;
      } else {
        (this.recvBuffer ??= new RecvBuffer()).push(chunk);
      }
    }
    if (endStream) this.receiveEnd(null);
    else if (!this.paused && this.listener !== null && this.recvBuffer !== null && !this.recvBuffer.isEmpty) this.deliver();
  }

  /** @internal Trailers (or END_STREAM on an empty DATA frame, trailers null). */
  receiveEnd(trailers: HeaderList | null): void {
    this.endReceived = true;
    this.trailersReceived = trailers;
    this.state = afterRemoteEnd(this.state);
    if (this.detached) {
      this.endDelivered = true;
      if (this.state === 'closed') this.host.streamClosed(this);
      return;
    }
    this.deliver();
  }

  /** @internal The peer reset the stream, or the connection went away. */
  receiveReset(errorCode: number, initiator: Initiator): void {
    if (this.aborted || (this.state === 'closed' && this.endDelivered)) return;
    this.close();
    const listener = this.listener;
    if (listener !== null) listener.onReset(errorCode, initiator);
  }

  private deliver(): void {
    // Reentrancy guard: a listener may call resume() from inside onData.
    if (this.delivering) return;
    const listener = this.listener;
    if (listener === null) return;
    this.delivering = true;
    try {
      const buffer = this.recvBuffer;
      while (!this.paused && buffer !== null) {
        const chunk = buffer.shift();
        if (chunk === undefined) break;
        this.host.consumed(this, chunk.length);
        listener.onData(chunk);
        if (this.listener !== listener || this.aborted) return;
      }
      if (this.endReceived && !this.endDelivered && !this.paused && (this.recvBuffer === null || this.recvBuffer.isEmpty)) {
        this.endDelivered = true;
        if (this.trailersReceived !== null) listener.onTrailers(this.trailersReceived);
        listener.onEnd();
        if (this.state === 'closed') this.host.streamClosed(this);
      }
    } finally {
      this.delivering = false;
    }
  }

  private close(): void {
    this.aborted = true;
    this.state = 'closed';
    this.recvBuffer?.clear();
    this.endDelivered = true;
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
    if (this.aborted) return;
    this.queuedBytes -= bytes;
    this.queuedWrites -= writes;
    this.host.queuedBytesChanged(-bytes);
    if (this.wantDrain && this.quotaUsed < this.writeQuota) this.host.queueDrain(this);
  }

  /** @internal Set while the connection holds this stream in its drain queue. */
  drainQueued = false;

  /**
   * @internal The connection's turn: the writer that write() told to wait may go on. Never from
   * inside the writer's loop, so handlers refilling their streams get one event-loop turn each
   * round and a turn's writes stay within the connection's budget.
   */
  deliverDrain(): void {
    if (!this.wantDrain || this.quotaUsed >= this.writeQuota) return;
    this.wantDrain = false;
    if (this.listener !== null && this.state !== 'closed') this.listener.onDrain();
  }

  /** @internal Our END_STREAM reached the frame writer. */
  onEndWritten(): void {
    if (this.state === 'closed') return;
    this.state = afterLocalEnd(this.state);
    if (this.state === 'closed') {
      if (this.endDelivered) this.host.streamClosed(this);
    } else if (this.resetAfterEnd !== null) {
      this.reset(this.resetAfterEnd);
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
