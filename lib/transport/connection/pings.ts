import { PingTimeoutError, UserError } from '../errors';

/**
 * The PINGs ping() sent and waits on, matched to their ACKs by payload: 4 zero bytes and a
 * counter, so they never collide with the keepalive's or the shutdown's fixed payloads.
 */
export class PingWaiters {
  private readonly waiters = new Map<number, (error: Error | null) => void>();
  private counter = 0;

  /** A payload for a new PING and a promise of its round-trip time (ms), rejected after `timeoutMs`. */
  start(timeoutMs: number | undefined): { payload: Buffer; roundTrip: Promise<number> } {
    const id = ++this.counter;
    const payload = Buffer.alloc(8);
    payload.writeUInt32BE(id, 4);
    const started = process.hrtime.bigint();
    const roundTrip = new Promise<number>((resolve, reject) => {
      let timer: NodeJS.Timeout | null = null;
      if (timeoutMs !== undefined && Number.isFinite(timeoutMs)) {
        timer = setTimeout(() => {
          this.waiters.delete(id);
          reject(new PingTimeoutError(timeoutMs));
        }, timeoutMs);
        timer.unref();
      }
      this.waiters.set(id, (error) => {
        if (timer !== null) clearTimeout(timer);
        if (error) reject(error);
        else resolve(Number(process.hrtime.bigint() - started) / 1e6);
      });
    });
    return { payload, roundTrip };
  }

  /** An ACK arrived: settles its waiter, if any. */
  ack(data: Buffer): void {
    const id = data.readUInt32BE(4);
    const waiter = this.waiters.get(id);
    if (waiter === undefined) return;
    this.waiters.delete(id);
    waiter(null);
  }

  /** The connection closed: every waiter fails. */
  failAll(): void {
    if (this.waiters.size === 0) return;
    const waiters = [...this.waiters.values()];
    this.waiters.clear();
    const error = new UserError('connection closed');
    for (const waiter of waiters) waiter(error);
  }
}
