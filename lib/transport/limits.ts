/**
 * Limits that keep one abusive peer from exhausting the process, with their defaults in one table.
 * Each is a per-connection bound; crossing one ends the connection with GOAWAY ENHANCE_YOUR_CALM.
 */
export interface ConnectionLimits {
  /**
   * Stream resets a peer may cause in a burst: RST_STREAMs it sends, stream errors its frames
   * provoke, streams refused over the concurrency limit (CVE-2023-44487 rapid reset, CVE-2025-8671
   * MadeYouReset). nghttp2 and Node use 1000.
   */
  resetBurst: number;
  /** Resets per second the budget regains after a burst (nghttp2/Node: 33). */
  resetsPerSecond: number;
  /**
   * Frames that do nothing useful a peer may send in a burst: PRIORITY, unknown types, empty DATA
   * without END_STREAM (Node's maxSessionInvalidFrames is 1000).
   */
  invalidFrameBurst: number;
  /** Such frames per second the budget regains. */
  invalidFramesPerSecond: number;
  /** CONTINUATION frames allowed in one header block (nghttp2: 8); empty ones count too. */
  maxContinuationFrames: number;
  /** Bytes of one HEADERS+CONTINUATION block buffered before it is decoded. */
  maxHeaderBlockSize: number;
  /**
   * The largest header list we send (name + value + 32 per field), whatever the peer allows: its
   * SETTINGS_MAX_HEADER_LIST_SIZE lowers it. A larger one is refused with HeaderListTooLargeError.
   */
  maxSendHeaderListSize: number;
  /** Items waiting for the writer (a writer blocked by a peer that does not read). */
  maxQueuedControlItems: number;
  /** DATA bytes waiting for the writer in the control queue. */
  maxQueuedControlBytes: number;
  /**
   * Writes all streams of a connection may make in one event-loop turn before write() asks them
   * to wait for the next (their onDrain): bounds the work one connection's handlers do per turn.
   */
  writesPerTurn: number;
}

export const DEFAULT_CONNECTION_LIMITS: Readonly<ConnectionLimits> = {
  resetBurst: 1000,
  resetsPerSecond: 33,
  invalidFrameBurst: 1000,
  invalidFramesPerSecond: 100,
  maxContinuationFrames: 8,
  maxHeaderBlockSize: 64 * 1024,
  maxSendHeaderListSize: 64 * 1024,
  maxQueuedControlItems: 100_000,
  maxQueuedControlBytes: 256 * 1024 * 1024,
  // 100 handlers of tiny messages each refilling a 64 KiB quota made ~160 000 writes in one turn
  // (1.5 s frozen); 4096 writes were still 40-200 ms on a busy machine (cold code, GC); 256 are a
  // few ms and cost no measurable throughput or CPU per message.
  writesPerTurn: 256,
};

/**
 * A token bucket (burst, refill rate): `take()` spends one token and says whether one was left.
 * Refills lazily from the clock, so an idle bucket costs nothing.
 */
export class TokenBucket {
  private tokens: number;
  private refilledAt: number;

  constructor(
    private readonly burst: number,
    private readonly perSecond: number,
    private readonly clock: () => number = () => performance.now(),
  ) {
    this.tokens = burst;
    this.refilledAt = clock();
  }

  /** Spends one token; false when the bucket is empty. */
  take(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Whole tokens left now (for tests and stats). */
  get available(): number {
    this.refill();
    return Math.floor(this.tokens);
  }

  private refill(): void {
    const now = this.clock();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.refilledAt) * this.perSecond) / 1000);
    this.refilledAt = now;
  }
}
