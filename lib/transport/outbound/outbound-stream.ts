import type { DataItem, OutboundEvents, TrailersItem } from './control-item';

/** Where a stream stands in the LoopyWriter's scheduling (grpc-go's outStreamState). */
export type OutboundState = 'idle' | 'active' | 'waitingForWindow';

/**
 * The LoopyWriter's per-stream bookkeeping: the send window, the queue of DATA and trailers not yet
 * written, and the link in the active-stream round robin. Only the LoopyWriter touches it.
 */
export class OutboundStream {
  sendWindow: number;
  state: OutboundState = 'idle';
  /**
   * The peer knows the stream: it opened it, or our HEADERS went out. A stream reset before that
   * never existed on the wire, so no RST_STREAM is sent for it (that would hit an idle stream).
   */
  openOnWire = false;
  /** Next stream in the active round-robin list. */
  nextActive: OutboundStream | null = null;
  /** Bytes of queue[readIndex] already written. */
  headOffset = 0;
  private queue: (DataItem | TrailersItem)[] = [];
  private readIndex = 0;

  constructor(
    readonly streamId: number,
    initialWindow: number,
    readonly events: OutboundEvents,
  ) {
    this.sendWindow = initialWindow;
  }

  get hasQueued(): boolean {
    return this.readIndex < this.queue.length;
  }

  enqueue(item: DataItem | TrailersItem): void {
    this.queue.push(item);
  }

  peek(): DataItem | TrailersItem | undefined {
    return this.queue[this.readIndex];
  }

  dequeue(): void {
    this.queue[this.readIndex++] = undefined as unknown as DataItem;
    this.headOffset = 0;
    if (this.readIndex === this.queue.length) {
      this.queue.length = 0;
      this.readIndex = 0;
    }
  }

  /** Drops everything queued; returns the unwritten DATA bytes. */
  clear(): number {
    let bytes = 0;
    for (let index = this.readIndex; index < this.queue.length; index++) {
      const item = this.queue[index];
      if (item.kind === 'data') bytes += item.data.length - (index === this.readIndex ? this.headOffset : 0);
    }
    this.queue = [];
    this.readIndex = 0;
    this.headOffset = 0;
    return bytes;
  }
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
