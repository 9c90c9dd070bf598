import { Socket } from 'node:net';
import { writeFrameHeader } from '../frame/frame-header';
import { FRAME_HEADER_LENGTH, FrameFlag, FrameType } from '../frame/frame-type';
import type { SettingEntry } from '../settings';

/** What the writer needs of a socket (net.Socket and tls.TLSSocket fit; tests pass fakes). */
export interface WritableSocket {
  write(chunk: Buffer): boolean;
  cork(): void;
  uncork(): void;
  once(event: 'drain', listener: () => void): unknown;
  readonly destroyed: boolean;
  /** Bytes written and not yet taken by the socket (Node's Writable). */
  readonly writableLength?: number;
}

const SLAB_SIZE = 64 * 1024;
/** Payloads at least this large are queued as slices rather than copied into the slab. */
const COPY_LIMIT = 2048;

/**
 * Encodes frames into a batch and writes the batch to the socket in one go on flush() (the end of
 * the write path). Frame headers and small payloads are copied into a slab; large payloads are
 * referenced, and a batch of several pieces goes out through cork()/uncork() as one writev.
 *
 * Regions of the slab handed to the socket are reused only once the socket is done with them: a
 * net.Socket (TLS included) that took a write whole at once (writableLength back to 0) has copied
 * it into the kernel (or the TLS engine). Otherwise, and for any other Duplex (an in-memory pair
 * passes the very Buffer to its reader), a fresh slab is taken when one fills up. Reusing saves a
 * 64 KiB allocation per slab filled: under load, unreused slabs waited for a mark-compact to be
 * freed and held ~20 MB.
 */
export class FrameWriter {
  private slab: Buffer = Buffer.allocUnsafeSlow(SLAB_SIZE);
  /** Start of the slab region not yet added to `pieces`. */
  private regionStart = 0;
  private position = 0;
  private pieces: Buffer[] = [];
  private pending = 0;
  private needDrain = false;
  private drainWaiters: (() => void)[] = [];

  /** Bytes written to the socket so far (for stats). */
  bytesWritten = 0;

  private readonly reuseSlab: boolean;

  constructor(private readonly socket: WritableSocket) {
    this.reuseSlab = socket instanceof Socket;
  }

  /** Bytes encoded but not yet flushed. */
  get pendingBytes(): number {
    return this.pending;
  }

  /** True while the socket's buffer is over its high-water mark. */
  get blocked(): boolean {
    return this.needDrain;
  }

  private reserve(length: number): void {
    if (this.position + length <= this.slab.length) return;
    this.closeRegion();
    this.slab = Buffer.allocUnsafeSlow(Math.max(SLAB_SIZE, length));
    this.regionStart = this.position = 0;
  }

  private closeRegion(): void {
    if (this.position > this.regionStart) {
      this.pieces.push(this.slab.subarray(this.regionStart, this.position));
      this.regionStart = this.position;
    }
  }

  private header(length: number, type: number, flags: number, streamId: number): void {
    this.reserve(FRAME_HEADER_LENGTH);
    this.position = writeFrameHeader(this.slab, this.position, length, type, flags, streamId);
    this.pending += FRAME_HEADER_LENGTH;
  }

  private payload(data: Buffer): void {
    if (data.length === 0) return;
    this.pending += data.length;
    if (data.length >= COPY_LIMIT) {
      this.closeRegion();
      this.pieces.push(data);
      return;
    }
    this.reserve(data.length);
    this.position += data.copy(this.slab, this.position);
  }

  data(streamId: number, data: Buffer, endStream: boolean): void {
    this.header(data.length, FrameType.DATA, endStream ? FrameFlag.END_STREAM : 0, streamId);
    this.payload(data);
  }

  /** One DATA frame whose payload is several buffers of `length` bytes in all. */
  dataPieces(streamId: number, pieces: readonly Buffer[], count: number, length: number, endStream: boolean): void {
    this.header(length, FrameType.DATA, endStream ? FrameFlag.END_STREAM : 0, streamId);
    for (let index = 0; index < count; index++) this.payload(pieces[index]);
  }

  /**
   * A header block as HEADERS, plus CONTINUATION frames if it exceeds the peer's max frame size
   * (RFC 9113 §4.3). The block may come in two parts (a cached prefix and the rest).
   */
  headers(streamId: number, endStream: boolean, maxFrameSize: number, first: Buffer, second?: Buffer): void {
    const total = first.length + (second === undefined ? 0 : second.length);
    const endStreamFlag = endStream ? FrameFlag.END_STREAM : 0;
    if (total <= maxFrameSize) {
      this.header(total, FrameType.HEADERS, endStreamFlag | FrameFlag.END_HEADERS, streamId);
      this.payload(first);
      if (second !== undefined) this.payload(second);
      return;
    }
    const block = second === undefined ? first : Buffer.concat([first, second]);
    let offset = 0;
    let type: number = FrameType.HEADERS;
    let flags: number = endStreamFlag;
    while (offset < block.length) {
      const size = Math.min(maxFrameSize, block.length - offset);
      const last = offset + size === block.length;
      this.header(size, type, flags | (last ? FrameFlag.END_HEADERS : 0), streamId);
      this.payload(block.subarray(offset, offset + size));
      offset += size;
      type = FrameType.CONTINUATION;
      flags = 0;
    }
  }

  rstStream(streamId: number, errorCode: number): void {
    // Header and payload must land in the same slab: the payload is written in place below.
    this.reserve(FRAME_HEADER_LENGTH + 4);
    this.header(4, FrameType.RST_STREAM, 0, streamId);
    this.slab.writeUInt32BE(errorCode >>> 0, this.position);
    this.position += 4;
    this.pending += 4;
  }

  settings(entries: readonly SettingEntry[]): void {
    this.header(entries.length * 6, FrameType.SETTINGS, 0, 0);
    this.reserve(entries.length * 6);
    for (const entry of entries) {
      this.slab.writeUInt16BE(entry.id, this.position);
      this.slab.writeUInt32BE(entry.value >>> 0, this.position + 2);
      this.position += 6;
    }
    this.pending += entries.length * 6;
  }

  settingsAck(): void {
    this.header(0, FrameType.SETTINGS, FrameFlag.ACK, 0);
  }

  ping(ack: boolean, data: Buffer): void {
    this.header(8, FrameType.PING, ack ? FrameFlag.ACK : 0, 0);
    this.reserve(8);
    this.position += data.copy(this.slab, this.position, 0, 8);
    this.pending += 8;
  }

  goAway(lastStreamId: number, errorCode: number, debugData: Buffer): void {
    this.header(8 + debugData.length, FrameType.GOAWAY, 0, 0);
    this.reserve(8);
    this.slab.writeUInt32BE(lastStreamId & 0x7fffffff, this.position);
    this.slab.writeUInt32BE(errorCode >>> 0, this.position + 4);
    this.position += 8;
    this.pending += 8;
    this.payload(debugData);
  }

  windowUpdate(streamId: number, increment: number): void {
    this.reserve(FRAME_HEADER_LENGTH + 4);
    this.header(4, FrameType.WINDOW_UPDATE, 0, streamId);
    this.slab.writeUInt32BE(increment & 0x7fffffff, this.position);
    this.position += 4;
    this.pending += 4;
  }

  /** Pre-encoded frames, copied as they are. */
  raw(bytes: Buffer): void {
    this.pending += bytes.length;
    this.closeRegion();
    this.pieces.push(bytes);
  }

  /**
   * Hands the batch to the socket: one write, or one corked writev for several pieces.
   * Returns false if the socket asked us to wait for 'drain'.
   */
  flush(): boolean {
    this.closeRegion();
    const pieces = this.pieces;
    if (pieces.length === 0) return !this.needDrain;
    this.pieces = [];
    this.bytesWritten += this.pending;
    this.pending = 0;
    if (this.socket.destroyed) return true;
    let ok: boolean;
    if (pieces.length === 1) {
      ok = this.socket.write(pieces[0]);
    } else {
      this.socket.cork();
      ok = true;
      for (const piece of pieces) ok = this.socket.write(piece);
      this.socket.uncork();
    }
    // Written through at once: the socket holds none of the slab any more.
    if (this.reuseSlab && this.socket.writableLength === 0) this.regionStart = this.position = 0;
    if (!ok && !this.needDrain) {
      this.needDrain = true;
      this.socket.once('drain', () => this.onDrain());
    }
    return ok;
  }

  /** Resolves once the socket has drained (at once if it is not blocked). */
  waitForDrain(): Promise<void> {
    if (!this.needDrain) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Releases drain waiters without a drain (the socket closed). */
  abort(): void {
    this.pieces = [];
    this.pending = 0;
    this.onDrain();
  }

  private onDrain(): void {
    this.needDrain = false;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
