import { ConnectionError, ErrorCode, assertNever } from '../errors';
import { increaseSendWindow } from '../flow-control';
import type { HeaderBlockEncoder, HeaderList, HeaderTemplate } from '../hpack/header-block';
import { DEFAULT_WINDOW_SIZE, MIN_MAX_FRAME_SIZE, SettingId, type SettingEntry } from '../settings';
import type { ControlBuffer } from './control-buffer';
import type { ControlItem, DataItem, OutboundEvents, RegisterStreamItem, TrailersItem } from './control-item';
import type { FrameWriter } from './frame-writer';
import { StreamTable } from '../stream-table';
import { ActiveStreamList, OutboundStream } from './outbound-stream';

/** Flush in the middle of a drain once this much is batched, so big transfers stream out. */
const FLUSH_THRESHOLD = 256 * 1024;
/**
 * Give the event loop a turn after writing this much without one. On loopback socket.write()
 * keeps succeeding at once, and a handler refilling its stream on every drain (nextTick) feeds
 * the writer through microtasks only: without a yield one fast reader of a long stream starves
 * every timer and every other socket (1.55 s for a 1 000 000-message stream, measured).
 */
const YIELD_BYTES = 256 * 1024;
/** ...or this many queued writes: small messages cost the handler far more CPU per byte. */
const YIELD_WRITES = 2048;

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** What the writer reports to its connection. */
export interface LoopyHost {
  /** A peer frame it applied broke a connection-level rule (window overflow). */
  connectionError(error: ConnectionError): void;
  /** A peer WINDOW_UPDATE overflowed a stream window: reset that stream (RFC 9113 §6.9.1). */
  streamFlowControlError(streamId: number): void;
  /** A GOAWAY that ends the connection has been handed to the socket. */
  closeSocket(): void;
  /** The writer failed unexpectedly. */
  writerFailed(error: unknown): void;
  /** The socket is full and the writer waits for 'drain' (true), or it drained (false). */
  writeBlocked(blocked: boolean): void;
}

/**
 * The only writer of a connection (grpc-go's loopyWriter). It drains the ControlBuffer, owns the
 * send windows, the HPACK encoder and the round robin over streams with queued DATA, and flushes
 * the FrameWriter once per drain, so every response that became ready in one turn leaves in one
 * socket write.
 */
export class LoopyWriter {
  /** Connection-level send window (RFC 9113 §6.9.1), starts at 65 535. */
  private connectionWindow = DEFAULT_WINDOW_SIZE;
  private peerInitialWindow = DEFAULT_WINDOW_SIZE;
  private peerMaxFrameSize = MIN_MAX_FRAME_SIZE;
  /** The writer's own record of each stream it writes for (grpc-go's estdStreams). */
  private readonly streams = new StreamTable<OutboundStream>();
  private readonly active = new ActiveStreamList();
  private closing = false;
  /**
   * Scratch list for the payload pieces of one DATA frame. Cleared by overwriting, never by
   * `length = 0`, which would drop its backing store and allocate a new one per frame.
   */
  private readonly pieces: Buffer[] = [];
  /** framer.bytesWritten when the writer last yielded to the event loop, and data items written since. */
  private bytesAtLastTurn = 0;
  private writesSinceTurn = 0;

  constructor(
    private readonly controlBuffer: ControlBuffer,
    private readonly framer: FrameWriter,
    private readonly encoder: HeaderBlockEncoder,
    private readonly host: LoopyHost,
  ) {}

  /** The peer's SETTINGS_INITIAL_WINDOW_SIZE, for new streams' send windows. */
  get initialSendWindow(): number {
    return this.peerInitialWindow;
  }

  get connectionSendWindow(): number {
    return this.connectionWindow;
  }

  get trackedStreams(): number {
    return this.streams.size;
  }

  /** Runs until the ControlBuffer is finished or a closing GOAWAY was written. */
  async run(): Promise<void> {
    try {
      for (;;) {
        let item = this.controlBuffer.get();
        if (item === null && !this.hasWritableData()) {
          item = await this.controlBuffer.getBlocking();
          if (item === null) return;
        }
        if (item !== null) this.handle(item);
        for (;;) {
          while (!this.closing && (item = this.controlBuffer.get()) !== null) this.handle(item);
          if (this.closing) break;
          if (this.processData()) {
            // The batch is big: write it out and carry on with the same drain.
            if (!this.framer.flush() || this.turnOverdue()) await this.waitForTurn();
            continue;
          }
          // Writing data can queue items (a reset after END_STREAM): take them in this batch too.
          if (this.controlBuffer.size === 0) break;
        }
        const writable = this.framer.flush();
        if (this.closing) {
          this.host.closeSocket();
          return;
        }
        // No promise on the common path: only a full socket or a long run without a turn waits.
        if (!writable || this.turnOverdue()) await this.waitForTurn();
      }
    } catch (error) {
      this.host.writerFailed(error);
    }
  }

  private turnOverdue(): boolean {
    return this.framer.bytesWritten - this.bytesAtLastTurn >= YIELD_BYTES || this.writesSinceTurn >= YIELD_WRITES;
  }

  /**
   * Waits for the socket when it is full, and yields an event-loop turn when the loop has gone
   * long without one. Both: a loopback socket reports 'drain' on the next tick, not from the event
   * loop, so waiting for it alone lets nothing else run.
   */
  private async waitForTurn(): Promise<void> {
    if (this.framer.blocked) {
      this.host.writeBlocked(true);
      await this.framer.waitForDrain();
      this.host.writeBlocked(false);
    }
    if (this.turnOverdue()) {
      await yieldToEventLoop();
      this.bytesAtLastTurn = this.framer.bytesWritten;
      this.writesSinceTurn = 0;
    }
  }

  private hasWritableData(): boolean {
    return !this.active.isEmpty && this.connectionWindow > 0;
  }

  /** Applies one control item; exhaustive over the ControlItem union. */
  handle(item: ControlItem): void {
    switch (item.kind) {
      case 'registerStream':
        this.adopt(item).openOnWire = true;
        return;
      case 'headers': {
        const outbound = this.register(item.streamId, item.events);
        // Reset before its HEADERS went out: the peer never hears of it (the cleanup that follows
        // sends no RST_STREAM for a stream that was never open on the wire).
        if (item.events.isAborted) return;
        this.writeHeaderBlock(item.streamId, item.endStream, item.template, item.headers);
        outbound.openOnWire = true;
        if (item.endStream) this.finishStream(outbound);
        return;
      }
      case 'data':
      case 'trailers':
        this.enqueue(item);
        return;
      case 'outgoingWindowUpdate':
        this.framer.windowUpdate(item.streamId, item.increment);
        item.window?.credit(item.increment);
        return;
      case 'incomingWindowUpdate':
        this.applyWindowUpdate(item.streamId, item.increment);
        return;
      case 'outgoingSettings':
        this.framer.settings(item.entries);
        return;
      case 'incomingSettings':
        this.applyPeerSettings(item.entries);
        // An endpoint MUST apply the values and then send an ACK (RFC 9113 §6.5.3).
        this.framer.settingsAck();
        return;
      case 'ping':
        this.framer.ping(item.ack, item.data);
        return;
      case 'cleanupStream': {
        const outbound = this.streams.get(item.streamId);
        if (outbound !== undefined) this.forget(outbound);
        // RST_STREAM on a stream the peer never saw would be a frame on an idle stream (RFC 9113 §6.4).
        // A stream the writer no longer tracks (refused, or already ended by us) is open on the wire.
        if (item.rstCode !== null && (outbound === undefined || outbound.openOnWire)) this.framer.rstStream(item.streamId, item.rstCode);
        return;
      }
      case 'goAway':
        this.framer.goAway(item.lastStreamId, item.errorCode, item.debugData);
        if (item.closeConnection) this.closing = true;
        return;
      case 'rawFrames':
        this.framer.raw(item.bytes);
        return;
      default:
        assertNever(item, 'control item');
    }
  }

  private register(streamId: number, events: OutboundEvents): OutboundStream {
    const outbound = this.streams.get(streamId);
    return outbound ?? this.track(new OutboundStream(streamId, events));
  }

  /** Takes over the record a register item is (registerStream()), or makes one for a plain item. */
  private adopt(item: RegisterStreamItem): OutboundStream {
    const known = this.streams.get(item.streamId);
    if (known !== undefined) return known;
    return this.track(item instanceof OutboundStream ? item : new OutboundStream(item.streamId, item.events));
  }

  private track(outbound: OutboundStream): OutboundStream {
    // A stream's window starts at the peer's current initial window (RFC 9113 §6.9.2).
    outbound.sendWindow = this.peerInitialWindow;
    this.streams.set(outbound.streamId, outbound);
    return outbound;
  }

  /** Drops the writer's record of a stream; its owner accounts for any DATA left unwritten. */
  private forget(outbound: OutboundStream): void {
    if (outbound.state === 'active') this.active.remove(outbound);
    outbound.state = 'idle';
    outbound.clear();
    this.streams.delete(outbound.streamId);
  }

  private finishStream(outbound: OutboundStream): void {
    this.forget(outbound);
    outbound.events.onEndWritten();
  }

  private writeHeaderBlock(streamId: number, endStream: boolean, template: HeaderTemplate | null, headers: HeaderList | null): void {
    if (template === null) {
      this.framer.headers(streamId, endStream, this.peerMaxFrameSize, this.encoder.encode(headers ?? NO_HEADERS));
      return;
    }
    // The template goes first: it carries any pending table size update (RFC 7541 §4.2).
    const first = this.encoder.encodeTemplate(template);
    if (headers === null || headers.length === 0) this.framer.headers(streamId, endStream, this.peerMaxFrameSize, first);
    else this.framer.headers(streamId, endStream, this.peerMaxFrameSize, first, this.encoder.encode(headers));
  }

  private enqueue(item: DataItem | TrailersItem): void {
    const outbound = this.streams.get(item.streamId);
    // Not tracked: the stream was reset (its owner has written off what it had queued).
    if (outbound === undefined) return;
    outbound.enqueue(item);
    if (outbound.state === 'idle') this.activate(outbound);
  }

  /** Puts a stream with queued items into the round robin, or parks it until its window opens. */
  private activate(outbound: OutboundStream): void {
    const head = outbound.peek();
    // Trailers and empty DATA frames cost no window; anything else needs a positive stream window.
    const free = head !== null && (head.kind === 'trailers' || head.data.length === 0);
    if (free || outbound.sendWindow > 0) {
      outbound.state = 'active';
      this.active.push(outbound);
    } else {
      outbound.state = 'waitingForWindow';
    }
  }

  /**
   * Writes at most one frame per active stream in turn (grpc-go's processData, looped): each stream
   * gets up to one max-frame-size DATA frame within its own and the connection's send window, then
   * goes to the back. Returns true when it stopped to flush first: the batch is big, or the event loop is due a turn.
   */
  private processData(): boolean {
    while (!this.active.isEmpty) {
      if (this.framer.pendingBytes >= FLUSH_THRESHOLD || this.writesSinceTurn >= YIELD_WRITES) return true;
      const outbound = this.active.shift()!;
      const item = outbound.peek();
      if (item === null) {
        outbound.state = 'idle';
        continue;
      }
      const streamId = outbound.streamId;
      if (item.kind === 'trailers') {
        outbound.dequeue();
        this.writeHeaderBlock(streamId, true, item.template, item.headers);
        this.finishStream(outbound);
        continue;
      }
      const budget = Math.min(this.peerMaxFrameSize, outbound.sendWindow, this.connectionWindow);
      if (budget <= 0 && item.data.length > outbound.headOffset) {
        if (outbound.sendWindow <= 0) {
          outbound.state = 'waitingForWindow';
          continue;
        }
        // Only the connection window is exhausted: keep this stream's turn for the next WINDOW_UPDATE.
        this.active.unshift(outbound);
        return false;
      }
      // One DATA frame carries as many of the stream's queued writes as fit: a stream of small
      // messages costs the peer one frame per max-frame-size, not one per message.
      const pieces = this.pieces;
      let count = 0;
      let total = 0;
      let completed = 0;
      let endStream = false;
      for (let head = outbound.peek(); head !== null && head.kind === 'data'; head = outbound.peek()) {
        const start = outbound.headOffset;
        const available = head.data.length - start;
        const take = Math.max(0, Math.min(available, budget - total));
        if (take < available) {
          if (take > 0) {
            pieces[count++] = head.data.subarray(start, start + take);
            total += take;
            outbound.headOffset += take;
          }
          break;
        }
        pieces[count++] = start === 0 ? head.data : head.data.subarray(start);
        total += available;
        outbound.dequeue();
        completed++;
        if (head.endStream) {
          endStream = true;
          break;
        }
        if (total >= budget) break;
      }
      if (count === 1) this.framer.data(streamId, pieces[0], endStream);
      else this.framer.dataPieces(streamId, pieces, count, total, endStream);
      // The pieces are on their way to the socket: let go of them.
      for (let index = 0; index < count; index++) pieces[index] = EMPTY;
      outbound.sendWindow -= total;
      this.connectionWindow -= total;
      this.writesSinceTurn += completed;
      if (total > 0 || completed > 0) outbound.events.onBytesWritten(total, completed);
      if (endStream) {
        this.finishStream(outbound);
        continue;
      }
      if (outbound.hasQueued) this.activate(outbound);
      else outbound.state = 'idle';
    }
    return false;
  }

  private applyWindowUpdate(streamId: number, increment: number): void {
    if (streamId === 0) {
      const next = increaseSendWindow(this.connectionWindow, increment);
      // A sender MUST NOT allow a flow-control window to exceed 2^31-1; if it would, connection
      // error FLOW_CONTROL_ERROR for the connection window (RFC 9113 §6.9.1).
      if (next === null) {
        this.host.connectionError(new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'connection window overflow'));
        return;
      }
      this.connectionWindow = next;
      return;
    }
    const outbound = this.streams.get(streamId);
    if (outbound === undefined) return;
    const next = increaseSendWindow(outbound.sendWindow, increment);
    // ...and a stream error of type FLOW_CONTROL_ERROR for a stream window.
    if (next === null) {
      this.forget(outbound);
      this.host.streamFlowControlError(streamId);
      return;
    }
    outbound.sendWindow = next;
    if (outbound.state === 'waitingForWindow' && next > 0) this.activate(outbound);
  }

  private applyPeerSettings(entries: readonly SettingEntry[]): void {
    for (const { id, value } of entries) {
      switch (id) {
        case SettingId.INITIAL_WINDOW_SIZE: {
          // The change applies to every stream's window, which may go negative (RFC 9113 §6.9.2).
          const delta = value - this.peerInitialWindow;
          this.peerInitialWindow = value;
          for (const outbound of this.streams.toArray()) {
            const next = increaseSendWindow(outbound.sendWindow, delta);
            if (next === null) {
              this.host.connectionError(new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'SETTINGS overflowed a stream window'));
              return;
            }
            outbound.sendWindow = next;
            if (outbound.state === 'waitingForWindow' && next > 0) this.activate(outbound);
          }
          break;
        }
        case SettingId.MAX_FRAME_SIZE:
          this.peerMaxFrameSize = value;
          break;
        case SettingId.HEADER_TABLE_SIZE:
          this.encoder.setPeerMaxTableSize(value);
          break;
        default:
          break;
      }
    }
  }
}

const NO_HEADERS: HeaderList = [];
const EMPTY = Buffer.alloc(0);
