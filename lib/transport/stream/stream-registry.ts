import { isRemoteStreamId, type Peer } from '../connection/peer';
import { StreamTable } from '../stream-table';
import type { Http2Stream } from './http2-stream';

/** How many reset stream ids to remember, to ignore frames the peer sent before it saw our RST_STREAM. */
const CLOSED_MEMORY = 1024;

/**
 * The open streams of a connection by id, with the bookkeeping RFC 9113 §5.1.1 needs: the highest
 * stream id the peer opened (also GOAWAY's last-stream-id), our next id, and concurrency counts.
 */
export class StreamRegistry {
  private readonly streams = new StreamTable<Http2Stream>();
  /** Streams we reset recently, oldest first (a Map keeps insertion order). */
  private readonly recentlyReset = new Map<number, true>();
  /**
   * Peer stream ids skipped over when the peer opened a higher one: closed without ever being
   * opened (RFC 9113 §5.1.1). Ranges [first, last], oldest first; clients rarely skip, so tiny.
   */
  private readonly skipped: [number, number][] = [];
  /** Highest stream id the peer has opened (RFC 9113 §6.8 "last stream identifier"). */
  lastPeerStreamId = 0;
  /** Next id for a stream we open: odd for a client, even for a server (RFC 9113 §5.1.1). */
  nextLocalStreamId: number;

  constructor(private readonly peer: Peer) {
    this.nextLocalStreamId = peer.firstLocalStreamId;
  }

  get size(): number {
    return this.streams.size;
  }

  get(id: number): Http2Stream | undefined {
    return this.streams.get(id);
  }

  /** The open streams, as an array of their own (streams may close while the caller walks it). */
  values(): Http2Stream[] {
    return this.streams.toArray();
  }

  add(stream: Http2Stream): void {
    this.streams.set(stream.id, stream);
  }

  /** Removes a closed stream; true if it was still registered. */
  remove(stream: Http2Stream): boolean {
    if (this.streams.get(stream.id) !== stream) return false;
    this.streams.delete(stream.id);
    if (stream.isAborted) this.rememberReset(stream.id);
    return true;
  }

  rememberReset(id: number): void {
    this.recentlyReset.set(id, true);
    if (this.recentlyReset.size > CLOSED_MEMORY) {
      const oldest = this.recentlyReset.keys().next().value as number;
      this.recentlyReset.delete(oldest);
    }
  }

  wasRecentlyReset(id: number): boolean {
    return this.recentlyReset.has(id);
  }

  /** Records that the peer opened stream `id`: ids it jumped over are closed, never opened. */
  openedByPeer(id: number): void {
    const expected = this.lastPeerStreamId === 0 ? this.peer.firstRemoteStreamId : this.lastPeerStreamId + 2;
    if (id > expected) {
      this.skipped.push([expected, id - 2]);
      if (this.skipped.length > 64) this.skipped.shift();
    }
    this.lastPeerStreamId = id;
  }

  /** Whether a peer id at or below the last one was opened (and so is closed now), rather than skipped. */
  wasOpenedByPeer(id: number): boolean {
    if (id > this.lastPeerStreamId) return false;
    for (const [first, last] of this.skipped) if (id >= first && id <= last) return false;
    return true;
  }

  /** Whether `id` belongs to the peer's side (odd ids are client-initiated). */
  isPeerInitiated(id: number): boolean {
    return isRemoteStreamId(this.peer, id);
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
