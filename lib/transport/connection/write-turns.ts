import type { Http2Stream } from '../stream/http2-stream';

/**
 * The connection's write budget per event-loop turn (ConnectionLimits.writesPerTurn), and the
 * streams whose writers may go on at the start of the next turn while its budget lasts.
 */
export class WriteTurns {
  private writesLeft: number;
  private turnScheduled = false;
  private drainQueue: Http2Stream[] = [];
  private readonly onTurn = (): void => {
    this.turnScheduled = false;
    this.writesLeft = this.writesPerTurn;
    const queue = this.drainQueue;
    let served = 0;
    try {
      while (served < queue.length && this.writesLeft > 0) {
        const stream = queue[served++];
        stream.drainQueued = false;
        stream.deliverDrain();
      }
    } catch (error) {
      // A drain listener threw (a user bug): as when it threw inside the writer, the connection
      // fails and its calls are cancelled, rather than the exception escaping the event loop.
      this.drainQueue = [];
      this.onListenerError(error);
      return;
    }
    this.drainQueue = served === queue.length ? [] : queue.slice(served);
    if (this.drainQueue.length > 0 && !this.turnScheduled) this.scheduleTurn();
  };

  constructor(
    private readonly writesPerTurn: number,
    private readonly onListenerError: (error: unknown) => void,
  ) {
    this.writesLeft = writesPerTurn;
  }

  /** Counts one write against this turn's budget; false once it is spent. */
  spendWrite(): boolean {
    if (!this.turnScheduled) this.scheduleTurn();
    return --this.writesLeft >= 0;
  }

  /** The stream's writer may go on at the start of a turn with budget left. */
  queueDrain(stream: Http2Stream): void {
    if (stream.drainQueued) return;
    stream.drainQueued = true;
    this.drainQueue.push(stream);
    if (!this.turnScheduled) this.scheduleTurn();
  }

  private scheduleTurn(): void {
    this.turnScheduled = true;
    setImmediate(this.onTurn);
  }
}
