import type { ControlItem, DataItem, OutboundEvents, RegisterStreamItem, TrailersItem } from './control-item';

/** Where a stream stands in the LoopyWriter's scheduling (grpc-go's outStreamState). */
export type OutboundState = 'idle' | 'active' | 'waitingForWindow';

/**
 * The LoopyWriter's per-stream bookkeeping: the send window, the queue of DATA and trailers not yet
 * written, and the link in the active-stream round robin. Only the LoopyWriter touches it once it
 * is queued.
 *
 * It is also the item that registers a peer's stream with the writer (`registerStream()`): the
 * record travels through the ControlBuffer itself instead of an item that describes it, one
 * object per stream fewer. The queue is a linked list through the items' `next` field, which
 * the ControlBuffer no longer uses once the writer has taken an item, so queuing allocates nothing.
 */
export class OutboundStream implements RegisterStreamItem {
  readonly kind = 'registerStream' as const;
  /** The ControlBuffer's link while this record is queued as a register item. */
  next: ControlItem | null = null;
  /** Set by the writer when it adopts the record: the peer's initial window then (RFC 9113 §6.9.2). */
  sendWindow = 0;
  state: OutboundState = 'idle';
  /**
   * The peer knows the stream: it opened it, or our HEADERS went out. A stream reset before that
   * never existed on the wire, so no RST_STREAM is sent for it (that would hit an idle stream).
   */
  openOnWire = false;
  /** Next stream in the active round-robin list. */
  nextActive: OutboundStream | null = null;
  /** Bytes of the head item already written. */
  headOffset = 0;
  private head: DataItem | TrailersItem | null = null;
  private tail: DataItem | TrailersItem | null = null;

  constructor(
    readonly streamId: number,
    readonly events: OutboundEvents,
  ) {}

  get hasQueued(): boolean {
    return this.head !== null;
  }

  enqueue(item: DataItem | TrailersItem): void {
    item.next = null;
    if (this.tail === null) this.head = item;
    else this.tail.next = item;
    this.tail = item;
  }

  peek(): DataItem | TrailersItem | null {
    return this.head;
  }

  dequeue(): void {
    const head = this.head;
    if (head === null) return;
    this.head = head.next as DataItem | TrailersItem | null;
    head.next = null;
    if (this.head === null) this.tail = null;
    this.headOffset = 0;
  }

  /** Drops everything queued; returns the unwritten DATA bytes. */
  clear(): number {
    let bytes = 0;
    for (let item = this.head; item !== null; item = item.next as DataItem | TrailersItem | null) {
      if (item.kind === 'data') bytes += item.data.length - (item === this.head ? this.headOffset : 0);
    }
    this.head = this.tail = null;
    this.headOffset = 0;
    return bytes;
  }
}

/** The item that registers a stream the peer opened with the writer: the writer's record itself. */
export function registerStream(streamId: number, events: OutboundEvents): RegisterStreamItem {
  return new OutboundStream(streamId, events);
}

/** FIFO of streams that have data and window: the round robin. */
export class ActiveStreamList {
  private head: OutboundStream | null = null;
  private tail: OutboundStream | null = null;

  get isEmpty(): boolean {
    return this.head === null;
  }

  push(stream: OutboundStream): void {
    stream.nextActive = null;
    if (this.tail === null) this.head = stream;
    else this.tail.nextActive = stream;
    this.tail = stream;
  }

  shift(): OutboundStream | null {
    const stream = this.head;
    if (stream === null) return null;
    this.head = stream.nextActive;
    if (this.head === null) this.tail = null;
    stream.nextActive = null;
    return stream;
  }

  /** Puts a stream back at the front (it still has its turn, only the connection window ran out). */
  unshift(stream: OutboundStream): void {
    stream.nextActive = this.head;
    this.head = stream;
    if (this.tail === null) this.tail = stream;
  }

  remove(stream: OutboundStream): void {
    let previous: OutboundStream | null = null;
    for (let current = this.head; current !== null; previous = current, current = current.nextActive) {
      if (current !== stream) continue;
      if (previous === null) this.head = current.nextActive;
      else previous.nextActive = current.nextActive;
      if (this.tail === current) this.tail = previous;
      current.nextActive = null;
      return;
    }
  }
}
