import type { ConnectError } from '@connectrpc/connect';
import type { Http2Stream } from '../transport';

/**
 * A stream's request body as the AsyncIterable Connect reads. Pull-driven: a chunk that arrives
 * while nobody waits for one is kept and the stream paused, so the transport withholds window from
 * the client until the handler asks for more. At most one chunk waits here; the rest stays in the
 * client's send buffer (flow control, RFC 9113 §5.2), whatever the handler's pace.
 */
export class RequestBody implements AsyncIterableIterator<Uint8Array> {
  private waiting: Buffer | null = null;
  private ended = false;
  private failure: ConnectError | null = null;
  /** The handler stopped reading: whatever still arrives is dropped. */
  private discarding = false;
  private resolve: ((result: IteratorResult<Uint8Array>) => void) | null = null;
  private reject: ((error: unknown) => void) | null = null;

  constructor(private readonly stream: Http2Stream) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<Uint8Array>> {
    const chunk = this.waiting;
    if (chunk !== null) {
      this.waiting = null;
      // Room for the next chunk: let the stream deliver (and return window) again.
      this.stream.resume();
      return Promise.resolve({ value: chunk, done: false });
    }
    if (this.failure !== null) return Promise.reject(this.failure);
    if (this.ended || this.discarding) return Promise.resolve(DONE);
    if (this.resolve !== null) return Promise.reject(new Error('request body read concurrently'));
    return new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  /** The handler is done reading (early): drop what is kept and what still comes. */
  return(): Promise<IteratorResult<Uint8Array>> {
    this.discard();
    return Promise.resolve(DONE);
  }

  /** Drops the input from now on; the stream delivers freely again, to nobody. */
  discard(): void {
    if (this.discarding) return;
    this.discarding = true;
    this.waiting = null;
    this.settle(DONE, null);
    this.stream.resume();
  }

  // ---- from the stream listener ----

  onData(chunk: Buffer): void {
    if (this.discarding) return;
    if (this.resolve !== null) {
      this.settle({ value: chunk, done: false }, null);
      return;
    }
    // Only another resume() than ours could deliver a second chunk while one waits: keep both.
    this.waiting = this.waiting === null ? chunk : Buffer.concat([this.waiting, chunk]);
    this.stream.pause();
  }

  onEnd(): void {
    this.ended = true;
    this.settle(DONE, null);
  }

  onReset(reason: ConnectError): void {
    this.failure = reason;
    this.waiting = null;
    this.settle(null, reason);
  }

  private settle(result: IteratorResult<Uint8Array> | null, error: unknown): void {
    const resolve = this.resolve;
    const reject = this.reject;
    if (resolve === null || reject === null) return;
    this.resolve = null;
    this.reject = null;
    if (result !== null) resolve(result);
    else reject(error);
  }
}

const DONE: IteratorResult<Uint8Array> = { value: undefined, done: true };
