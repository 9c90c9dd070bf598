import { MAX_WINDOW_SIZE } from '../settings';
import type { ControlItem, IncomingWindowUpdateItem, OutgoingWindowUpdateItem } from './control-item';
import { isTransportResponse } from './control-item';

/** grpc-go's maxQueuedTransportResponseFrames: at this many queued responses the reader stops. */
export const DEFAULT_THROTTLE_THRESHOLD = 50;

export interface ControlBufferOptions {
  /** Called with true when `throttleThreshold` transport responses are queued, false once below. */
  onThrottle?: (throttled: boolean) => void;
  throttleThreshold?: number;
  /** Hard caps: crossing one calls `onOverflow` once (the connection then goes away). */
  maxItems?: number;
  maxBytes?: number;
  onOverflow?: () => void;
}

type WindowUpdateItem = IncomingWindowUpdateItem | OutgoingWindowUpdateItem;

/** One map for both directions: incoming updates at the stream id, outgoing ones at -1 - id. */
function windowUpdateKey(item: WindowUpdateItem): number {
  return item.kind === 'incomingWindowUpdate' ? item.streamId : -1 - item.streamId;
}

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
  private overflowed = false;
  /** DATA bytes queued. */
  private bytes = 0;
  private waiter: ((item: ControlItem | null) => void) | null = null;
  /** Queued WINDOW_UPDATE items by stream id (incoming ones at id, outgoing at -1 - id): later ones merge into them. */
  private windowUpdates: Map<number, WindowUpdateItem> | null = null;
  private readonly onThrottle: (throttled: boolean) => void;
  private readonly threshold: number;
  private readonly maxItems: number;
  private readonly maxBytes: number;
  private readonly onOverflow: () => void;

  constructor(options: ControlBufferOptions = {}) {
    this.onThrottle = options.onThrottle ?? (() => {});
    this.threshold = options.throttleThreshold ?? DEFAULT_THROTTLE_THRESHOLD;
    this.maxItems = options.maxItems ?? Infinity;
    this.maxBytes = options.maxBytes ?? Infinity;
    this.onOverflow = options.onOverflow ?? (() => {});
  }

  /** DATA bytes waiting in the queue. */
  get queuedBytes(): number {
    return this.bytes;
  }

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
    // A peer's WINDOW_UPDATE flood (or our own updates while the writer is blocked) must not
    // queue one item per frame: a queued update for the same stream absorbs the new increment.
    if ((item.kind === 'incomingWindowUpdate' || item.kind === 'outgoingWindowUpdate') && this.waiter === null && this.mergeWindowUpdate(item)) {
      return true;
    }
    // A peer's SETTINGS may change every stream window (INITIAL_WINDOW_SIZE): updates after it
    // must not merge into ones queued before it, or they would apply in the wrong order.
    if (item.kind === 'incomingSettings') this.windowUpdates?.clear();
    if (isTransportResponse(item)) {
      this.transportResponses++;
      if (!this.throttled && this.transportResponses >= this.threshold) {
        this.throttled = true;
        this.onThrottle(true);
      }
    }
    const waiter = this.waiter;
    if (waiter !== null) {
      // The writer is parked on an empty queue: hand the item over directly (counted in and out).
      this.waiter = null;
      if (item.kind === 'data') this.bytes += item.data.length;
      this.afterTake(item);
      waiter(item);
      return true;
    }
    item.next = null;
    if (this.tail === null) this.head = item;
    else this.tail.next = item;
    this.tail = item;
    this.length++;
    if (item.kind === 'data') this.bytes += item.data.length;
    if (!this.overflowed && (this.length > this.maxItems || this.bytes > this.maxBytes)) {
      this.overflowed = true;
      this.onOverflow();
    }
    return true;
  }

  /** Adds `item`'s increment to a queued update of the same stream; false if there is none (it is then remembered). */
  private mergeWindowUpdate(item: WindowUpdateItem): boolean {
    const key = windowUpdateKey(item);
    const updates = (this.windowUpdates ??= new Map());
    const queued = updates.get(key);
    // A sum past 2^31-1 is left as two items, so the writer still sees the overflow (RFC 9113 §6.9.1).
    if (queued !== undefined && queued.increment + item.increment <= MAX_WINDOW_SIZE) {
      queued.increment += item.increment;
      return true;
    }
    updates.set(key, item);
    return false;
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
    this.bytes = 0;
    this.windowUpdates = null;
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
    switch (item.kind) {
      case 'data':
        this.bytes -= item.data.length;
        break;
      case 'incomingWindowUpdate':
      case 'outgoingWindowUpdate': {
        const key = windowUpdateKey(item);
        if (this.windowUpdates?.get(key) === item) this.windowUpdates.delete(key);
        break;
      }
      default:
        break;
    }
    if (!isTransportResponse(item)) return;
    this.transportResponses--;
    if (this.throttled && this.transportResponses < this.threshold) {
      this.throttled = false;
      this.onThrottle(false);
    }
  }
}
