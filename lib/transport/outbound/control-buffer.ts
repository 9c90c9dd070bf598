import type { ControlItem } from './control-item';
import { isTransportResponse } from './control-item';

/** grpc-go's maxQueuedTransportResponseFrames: at this many queued responses the reader stops. */
export const DEFAULT_THROTTLE_THRESHOLD = 50;

/**
 * The queue between everything that wants to write and the LoopyWriter (grpc-go's controlBuffer).
 * A singly linked list through the items themselves, so put/get allocate nothing.
 *
 * It also carries the reader throttle: `onThrottle(true)` fires when `threshold` transport
 * responses are queued, `onThrottle(false)` once the writer has taken enough of them.
 */
export class ControlBuffer {
  private head: ControlItem | null = null;
  private tail: ControlItem | null = null;
  private length = 0;
  private transportResponses = 0;
  private throttled = false;
  private finished = false;
  private waiter: ((item: ControlItem | null) => void) | null = null;

  constructor(
    private readonly onThrottle: (throttled: boolean) => void = () => {},
    private readonly threshold = DEFAULT_THROTTLE_THRESHOLD,
  ) {}

  get size(): number {
    return this.length;
  }

  get queuedTransportResponses(): number {
    return this.transportResponses;
  }

  get isThrottled(): boolean {
    return this.throttled;
  }

  get isFinished(): boolean {
    return this.finished;
  }

  /** Queues an item; returns false (and drops it) once the buffer is finished. */
  put(item: ControlItem): boolean {
    if (this.finished) return false;
    if (isTransportResponse(item)) {
      this.transportResponses++;
      if (!this.throttled && this.transportResponses >= this.threshold) {
        this.throttled = true;
        this.onThrottle(true);
      }
    }
    const waiter = this.waiter;
    if (waiter !== null) {
      // The writer is parked on an empty queue: hand the item over directly.
      this.waiter = null;
      this.afterTake(item);
      waiter(item);
      return true;
    }
    item.next = null;
    if (this.tail === null) this.head = item;
    else this.tail.next = item;
    this.tail = item;
    this.length++;
    return true;
  }

  /**
   * Runs `check` and queues `item` only if it returns true, as one step (grpc-go's executeAndPut):
   * lets a caller test state that the writer's items depend on without a race against finish().
   */
  executeAndPut(check: () => boolean, item: ControlItem): boolean {
    if (this.finished) return false;
    if (!check()) return false;
    return this.put(item);
  }

  /** Takes the next item, or null when the queue is empty. */
  get(): ControlItem | null {
    const item = this.head;
    if (item === null) return null;
    this.head = item.next ?? null;
    if (this.head === null) this.tail = null;
    item.next = null;
    this.length--;
    this.afterTake(item);
    return item;
  }

  /**
   * The blocking form: resolves with the next item as soon as one is put, or with null once the
   * buffer is finished. Only one caller (the writer) may wait at a time.
   */
  getBlocking(): Promise<ControlItem | null> {
    const item = this.get();
    if (item !== null) return Promise.resolve(item);
    if (this.finished) return Promise.resolve(null);
    if (this.waiter !== null) return Promise.reject(new Error('ControlBuffer: only one reader may wait'));
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  /** No more items: a waiting reader gets null, later puts are dropped, queued items are discarded. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.head = this.tail = null;
    this.length = 0;
    this.transportResponses = 0;
    if (this.throttled) {
      this.throttled = false;
      this.onThrottle(false);
    }
    const waiter = this.waiter;
    this.waiter = null;
    if (waiter !== null) waiter(null);
  }

  private afterTake(item: ControlItem): void {
    if (!isTransportResponse(item)) return;
    this.transportResponses--;
    if (this.throttled && this.transportResponses < this.threshold) {
      this.throttled = false;
      this.onThrottle(false);
    }
  }
}
