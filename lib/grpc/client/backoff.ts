/** The gRPC connection-backoff parameters (doc/connection-backoff.md). */
export interface BackoffOptions {
  initialBackoffMs: number;
  maxBackoffMs: number;
  minConnectTimeoutMs: number;
  multiplier?: number;
  jitter?: number;
}

/**
 * gRPC connection backoff: the first attempt's deadline is INITIAL_BACKOFF away; after each failed
 * attempt the backoff grows ×MULTIPLIER up to MAX_BACKOFF, with ±JITTER, and each attempt is given
 * at least MIN_CONNECT_TIMEOUT to connect.
 */
export class ConnectionBackoff {
  private current: number;
  /** When the current attempt's backoff period ends (Date.now() based). */
  private deadline = 0;
  private readonly multiplier: number;
  private readonly jitter: number;

  constructor(
    private readonly options: BackoffOptions,
    private readonly random: () => number = Math.random,
  ) {
    this.current = options.initialBackoffMs;
    this.multiplier = options.multiplier ?? 1.6;
    this.jitter = options.jitter ?? 0.2;
  }

  /** Starts an attempt: returns how long it may take to connect (ms). */
  startAttempt(now = Date.now()): number {
    if (this.deadline === 0) this.deadline = now + this.options.initialBackoffMs;
    return Math.max(this.deadline - now, this.options.minConnectTimeoutMs);
  }

  /** The attempt failed: how long to wait before the next one (ms); the backoff grows. */
  failed(now = Date.now()): number {
    const wait = Math.max(0, this.deadline - now);
    this.current = Math.min(this.current * this.multiplier, this.options.maxBackoffMs);
    const jitter = this.jitter * this.current * (this.random() * 2 - 1);
    this.deadline = now + wait + this.current + jitter;
    return wait;
  }

  /** A connection succeeded: the next failure starts again from the initial backoff. */
  reset(): void {
    this.current = this.options.initialBackoffMs;
    this.deadline = 0;
  }
}
