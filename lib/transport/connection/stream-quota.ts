import { UserError } from '../errors';
import type { HeaderList, PreparedHeaders } from '../hpack/header-block';
import type { Http2Stream } from '../stream/http2-stream';

/**
 * A request for a new stream on a client connection (Http2Connection.openStream()). The caller
 * implements it, typically the call object itself, so waiting costs no closure per request.
 */
export interface StreamRequest {
  /** The request's header list (per-call fields; may be empty when `prepared` has the rest). */
  readonly headers: HeaderList;
  /** Constant fields sent first through the HPACK table (prepareHeaders()), or null. */
  readonly prepared: PreparedHeaders | null;
  /** Sends END_STREAM with the HEADERS (a request without a body). */
  readonly endStream: boolean;
  /** The stream is open and its HEADERS are queued; called synchronously when a slot was free. */
  onStreamOpened(stream: Http2Stream): void;
  /**
   * The stream could not be opened here. `unprocessed`: the peer never saw the request (the
   * connection is draining, closed, or out of stream ids), so it is safe to send elsewhere.
   */
  onStreamFailed(error: Error, unprocessed: boolean): void;
}

/** What the quota needs from its connection. */
export interface StreamQuotaHost {
  /** The connection is closed or draining: no new stream, ever. */
  readonly refusesStreams: boolean;
  readonly isClosed: boolean;
  /** Free slots under the peer's SETTINGS_MAX_CONCURRENT_STREAMS. */
  readonly availableStreams: number;
  /** Opens a stream now (throws HeaderListTooLargeError, or UserError when closing). */
  request(headers: HeaderList, endStream: boolean, prepared: PreparedHeaders | null): Http2Stream;
}

/**
 * Requests waiting for a free slot under the peer's SETTINGS_MAX_CONCURRENT_STREAMS (grpc-go's
 * streamQuota): first come, first served, woken when a stream closes or the peer raises its
 * limit. Withdrawn requests are skipped lazily.
 */
export class StreamQuota {
  private queue: (StreamRequest | null)[] = [];
  private head = 0;
  private waiting = 0;
  private scheduled = false;
  private readonly onTurn = (): void => {
    this.scheduled = false;
    this.openWaiting();
  };

  constructor(private readonly host: StreamQuotaHost) {}

  /** Opens `request` now if a slot is free and nobody waits ahead of it, else queues it. */
  open(request: StreamRequest): void {
    if (this.host.refusesStreams) request.onStreamFailed(new UserError('connection is closing'), true);
    else if (this.waiting === 0 && this.host.availableStreams > 0) this.openNow(request);
    else this.push(request);
  }

  /** Wakes waiting requests on the next microtask: never from inside the reader or a stream's callbacks. */
  schedule(): void {
    if (this.scheduled || this.waiting === 0) return;
    this.scheduled = true;
    queueMicrotask(this.onTurn);
  }

  /** Fails every waiting request as unprocessed (the connection closes or drains). */
  failAll(): void {
    if (this.waiting === 0) return;
    const error = new UserError(this.host.isClosed ? 'connection closed' : 'connection is draining');
    for (const request of this.takeAll()) request.onStreamFailed(error, true);
  }

  private openNow(request: StreamRequest): void {
    let stream: Http2Stream;
    try {
      stream = this.host.request(request.headers, request.endStream, request.prepared);
    } catch (error) {
      request.onStreamFailed(error as Error, this.host.refusesStreams);
      return;
    }
    request.onStreamOpened(stream);
  }

  private openWaiting(): void {
    while (this.waiting > 0) {
      if (this.host.refusesStreams) {
        this.failAll();
        return;
      }
      if (this.host.availableStreams <= 0) return;
      this.openNow(this.shift()!);
    }
  }

  /** Requests waiting (withdrawn ones excluded). */
  get size(): number {
    return this.waiting;
  }

  push(request: StreamRequest): void {
    this.queue.push(request);
    this.waiting++;
  }

  /** Removes a waiting request; false if it was not waiting. */
  withdraw(request: StreamRequest): boolean {
    const index = this.queue.indexOf(request, this.head);
    if (index === -1) return false;
    this.queue[index] = null;
    this.waiting--;
    return true;
  }

  /** The oldest waiting request, removed; undefined when none waits. */
  shift(): StreamRequest | undefined {
    while (this.head < this.queue.length) {
      const request = this.queue[this.head++];
      if (request === null) continue;
      this.waiting--;
      this.compact();
      return request;
    }
    this.queue = [];
    this.head = 0;
    return undefined;
  }

  /** Every waiting request, removed. */
  takeAll(): StreamRequest[] {
    const all = this.queue.slice(this.head).filter((request): request is StreamRequest => request !== null);
    this.queue = [];
    this.head = 0;
    this.waiting = 0;
    return all;
  }

  private compact(): void {
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }
}
