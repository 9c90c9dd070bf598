import { MAX_WINDOW_SIZE } from './settings';

/**
 * Inbound flow control for one stream or the connection (RFC 9113 §5.2, §6.9): tracks what the peer
 * may still send, and decides when to return window. Pure arithmetic, no I/O.
 *
 * "received" is charged when a DATA frame arrives; window is given back only as bytes are
 * *consumed* (read by the application for a stream, or at once for the connection), in
 * increments of at least a quarter of the window so WINDOW_UPDATE frames stay rare.
 */
export class ReceiveWindow {
  /** Bytes the peer may still send before exceeding what we advertised. */
  private available: number;
  /** Bytes consumed but not yet returned to the peer with a WINDOW_UPDATE. */
  private unannounced = 0;

  constructor(private limit: number) {
    this.available = limit;
  }

  get windowSize(): number {
    return this.limit;
  }

  /** What the peer can still send. */
  get remaining(): number {
    return this.available;
  }

  /**
   * Charges `length` received bytes. Returns false if the peer exceeded the window, which the
   * caller turns into a FLOW_CONTROL_ERROR (RFC 9113 §6.9.1).
   */
  onData(length: number): boolean {
    if (length > this.available) return false;
    this.available -= length;
    return true;
  }

  /**
   * Records `length` consumed bytes; returns the WINDOW_UPDATE increment to send now, or 0 while
   * less than a quarter of the window is waiting to be returned. The peer may use the increment
   * only once credit() says the WINDOW_UPDATE was written.
   */
  onConsumed(length: number): number {
    this.unannounced += length;
    if (this.unannounced < this.limit / 4) return 0;
    const increment = this.unannounced;
    this.unannounced = 0;
    return increment;
  }

  /** A WINDOW_UPDATE of `increment` went out: the peer may now send that much more. */
  credit(increment: number): void {
    this.available += increment;
  }

  /**
   * Grows the window to `newLimit` (never shrinks); returns the increment to announce at once.
   * Used for a larger connection window than the protocol's initial 65 535 bytes.
   */
  growTo(newLimit: number): number {
    const target = Math.min(newLimit, MAX_WINDOW_SIZE);
    if (target <= this.limit) return 0;
    const increment = target - this.limit;
    this.limit = target;
    this.available += increment;
    return increment;
  }

  /**
   * A stream window after our SETTINGS_INITIAL_WINDOW_SIZE changed (RFC 9113 §6.9.2): the
   * difference applies to what the peer may send.
   */
  resize(newLimit: number): void {
    this.available += newLimit - this.limit;
    this.limit = newLimit;
  }
}

/**
 * Outbound window arithmetic (RFC 9113 §6.9.1): a sender MUST NOT allow a flow-control window to
 * exceed 2^31-1; the window may go negative after a SETTINGS change (§6.9.2).
 * Returns the new window, or null on overflow (FLOW_CONTROL_ERROR).
 */
export function increaseSendWindow(window: number, increment: number): number | null {
  const next = window + increment;
  return next > MAX_WINDOW_SIZE ? null : next;
}
