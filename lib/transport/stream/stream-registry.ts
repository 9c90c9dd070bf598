import type { Http2Stream } from './http2-stream';

/**
 * How many closed stream ids to remember: to ignore frames the peer sent before it saw our
 * RST_STREAM, and to tell a closed stream from one that was never opened.
 */
const CLOSED_MEMORY = 1024;

/**
 * The open streams of a connection by id, with the bookkeeping RFC 9113 §5.1.1 needs: the highest
 * stream id the peer opened (also GOAWAY's last-stream-id), our next id, and concurrency counts.
 */
export class StreamRegistry {
  private readonly streams = new Map<number, Http2Stream>();
  /**
   * Streams closed recently, oldest first (a Map keeps insertion order): true when we reset them
   * (late frames from the peer are then ignored), false when they ended normally.
   */
  private readonly recentlyClosed = new Map<number, boolean>();
  /** Highest stream id the peer has opened (RFC 9113 §6.8 "last stream identifier"). */
  lastPeerStreamId = 0;
  /** Next id for a stream we open: odd for a client, even for a server (RFC 9113 §5.1.1). */
  nextLocalStreamId: number;

  constructor(readonly isServer: boolean) {
    this.nextLocalStreamId = isServer ? 2 : 1;
  }

  get size(): number {
    return this.streams.size;
  }

  get(id: number): Http2Stream | undefined {
    return this.streams.get(id);
  }

  values(): IterableIterator<Http2Stream> {
    return this.streams.values();
  }

  add(stream: Http2Stream): void {
    this.streams.set(stream.id, stream);
  }

  /** Removes a closed stream; true if it was still registered. */
  remove(stream: Http2Stream): boolean {
    if (this.streams.get(stream.id) !== stream) return false;
    this.streams.delete(stream.id);
    this.remember(stream.id, stream.isAborted);
    return true;
  }

  rememberReset(id: number): void {
    this.remember(id, true);
  }

  private remember(id: number, reset: boolean): void {
    if (reset || !this.recentlyClosed.has(id)) this.recentlyClosed.set(id, reset);
    if (this.recentlyClosed.size > CLOSED_MEMORY) {
      const oldest = this.recentlyClosed.keys().next().value as number;
      this.recentlyClosed.delete(oldest);
    }
  }

  wasRecentlyReset(id: number): boolean {
    return this.recentlyClosed.get(id) === true;
  }

  /** Whether `id` was opened and closed (as opposed to skipped over by a higher id). */
  wasRecentlyClosed(id: number): boolean {
    return this.recentlyClosed.has(id);
  }

  /** Whether `id` belongs to the peer's side (odd ids are client-initiated). */
  isPeerInitiated(id: number): boolean {
    return (id % 2 === 1) === this.isServer;
  }

  /** A peer-side id the peer has not opened yet: the stream is still 'idle' (RFC 9113 §5.1). */
  isIdlePeerStream(id: number): boolean {
    return this.isPeerInitiated(id) && id > this.lastPeerStreamId;
  }

  /** A local-side id we have not used yet. */
  isIdleLocalStream(id: number): boolean {
    return !this.isPeerInitiated(id) && id >= this.nextLocalStreamId;
  }

  allocateLocalId(): number {
    const id = this.nextLocalStreamId;
    this.nextLocalStreamId += 2;
    return id;
  }
}
