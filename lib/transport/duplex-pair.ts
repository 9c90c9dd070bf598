import { Duplex } from 'node:stream';

/**
 * Two connected in-memory Duplex streams, a socket pair without sockets (grpc-go's bufconn): give
 * one end to `createServerConnection` or `Server.accept()` and the other to a client, and the real
 * framing, flow control and GOAWAY code runs without a port. What one side writes, the other
 * reads. Backpressure as on a socket: a write completes (its callback runs) only once the
 * other side's readable buffer took the chunk; when that push() returns false the callback waits
 * until the reader asks for more (_read), so the writer's buffer fills and write() returns false.
 * Chunks are delivered on a later turn (setImmediate), never inside the writer's write() call.
 * end() on one side ends the other's readable side; destroy() ends it too (as a peer's FIN) and
 * releases writes waiting on the destroyed side. Both sides default to allowHalfOpen: false, so a
 * side whose readable ends also ends its writable side, and each closes once both are done.
 */
export function duplexPair(options: { highWaterMark?: number } = {}): [Duplex, Duplex] {
  const left = new PairedDuplex(options.highWaterMark);
  const right = new PairedDuplex(options.highWaterMark);
  left.peer = right;
  right.peer = left;
  return [left, right];
}

class PairedDuplex extends Duplex {
  peer!: PairedDuplex;
  /** The callback of the peer's write whose chunk our readable buffer took over its high-water mark. */
  private pendingWrite: (() => void) | null = null;
  /** push(null) was called: our readable side ends once its buffer is read. */
  private endPushed = false;

  constructor(highWaterMark: number | undefined) {
    super({ allowHalfOpen: false, readableHighWaterMark: highWaterMark, writableHighWaterMark: highWaterMark });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    setImmediate(() => {
      const peer = this.peer;
      if (peer.destroyed || peer.endPushed) {
        callback(); // nobody reads any more: the bytes are dropped, as a socket's after the peer closed
        return;
      }
      if (peer.push(chunk)) callback();
      else peer.pendingWrite = callback;
    });
  }

  override _final(callback: (error?: Error | null) => void): void {
    // Every write's callback has run, so every chunk was pushed before this end.
    this.peer.pushEnd();
    callback();
  }

  override _read(): void {
    this.releasePendingWrite();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.releasePendingWrite();
    this.peer.pushEnd();
    callback(error);
  }

  private pushEnd(): void {
    if (this.destroyed || this.endPushed) return;
    this.endPushed = true;
    this.push(null);
  }

  private releasePendingWrite(): void {
    const pending = this.pendingWrite;
    this.pendingWrite = null;
    if (pending !== null) pending();
  }
}
