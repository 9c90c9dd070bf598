/**
 * gRPC Length-Prefixed-Message framing (PROTOCOL-HTTP2.md): 1 byte compressed flag, 4 bytes
 * big-endian length, then the message. Pure: no I/O.
 */
export const MESSAGE_HEADER_LENGTH = 5;
const EMPTY = Buffer.alloc(0);

/** From this size on a response message is not copied behind its prefix (sent as two writes). */
export const LARGE_MESSAGE = 16 * 1024;

/** Frames one serialized message. */
export function encodeMessage(message: Buffer, compressed = false): Buffer {
  const framed = Buffer.allocUnsafe(MESSAGE_HEADER_LENGTH + message.length);
  framed[0] = compressed ? 1 : 0;
  framed.writeUInt32BE(message.length, 1);
  message.copy(framed, MESSAGE_HEADER_LENGTH);
  return framed;
}

/** Just the 5-byte prefix of a message of `length` bytes. */
export function messagePrefix(length: number, compressed = false): Buffer {
  const prefix = Buffer.allocUnsafe(MESSAGE_HEADER_LENGTH);
  prefix[0] = compressed ? 1 : 0;
  prefix.writeUInt32BE(length, 1);
  return prefix;
}

/**
 * Receives each decoded message: its payload (possibly compressed) and its compressed flag, as two
 * arguments rather than an object per message.
 */
export type MessageSink = (data: Buffer, compressed: boolean) => void;

export type MessageDecodeError = { kind: 'tooLarge'; size: number } | { kind: 'badFlag'; flag: number };

/** First allocation for a message spread over chunks: small, so a prefix alone reserves little. */
const MIN_BODY_CAPACITY = 256;
/**
 * Memory a message being assembled may keep alive through the chunks it holds views of, beyond
 * three times its bytes: two socket reads' worth (a message's first bytes often sit at the end of
 * a 64 KiB read, its last ones at the start of another). Past that its bytes are copied out.
 */
const VIEW_ALLOWANCE = 128 * 1024;

/**
 * Splits a byte stream arriving in arbitrary chunks into messages. A message that arrived whole
 * inside one chunk is a slice of it (no copy). The length prefix is checked against
 * `maxMessageSize` before anything is buffered, so an oversized message costs no memory.
 *
 * Pushed chunks are the caller's, but never modified afterwards (the transport hands over each
 * chunk it read and does not reuse it): the decoder may keep views of them. A message spread over
 * chunks is held as views of its parts and assembled once, into a buffer of exactly its size, when
 * its last byte arrives (a message whose bytes all came in one chunk after its prefix is a view of
 * that chunk). Views keep their whole chunk alive, so the memory they hold is counted: once it
 * exceeds three times the message's bytes plus VIEW_ALLOWANCE (a peer sending 1 byte per read), the
 * parts are copied into a buffer that grows (doubling) as bytes arrive. Neither way is the
 * declared length reserved up front: a peer declaring 4 MiB and sending 10 bytes holds ~10 bytes
 * here, so memory follows what flow control let in, not what prefixes claim.
 *
 * An emit callback may call stop(): push then returns after that message, keeping a copy of the
 * chunk's unread tail until resume() (a consumer that wants no more messages for now).
 */
export class MessageDecoder {
  /** Only needed when a prefix is split across chunks; allocated then. */
  private header: Buffer = EMPTY;
  private headerFilled = 0;
  private flag = 0;
  /** Declared length of the message being assembled; -1 between messages. */
  private bodySize = -1;
  /** The message being assembled, once compacted (see the class comment); else EMPTY. */
  private body: Buffer = EMPTY;
  private bodyFilled = 0;
  /** Views of the parts of the message being assembled, while not compacted. */
  private parts: Buffer[] | null = null;
  /** Bytes of the chunks `parts` keeps alive (each chunk's ArrayBuffer counted once in a row). */
  private partsRetained = 0;
  private lastBacking: ArrayBufferLike | null = null;
  private error: MessageDecodeError | null = null;
  private stopped = false;
  private pushing = false;
  /**
   * Unread input, in order: kept by stop(), or pushed from inside an emit (it follows the chunk
   * being decoded). Our own copy, so resuming and stopping again only slices it.
   */
  private rest: Buffer | null = null;

  constructor(private maxMessageSize: number) {}

  /** True when no partial message or unread input is held (a stream may end cleanly here). */
  get isIdle(): boolean {
    return this.headerFilled === 0 && this.bodySize === -1 && this.rest === null;
  }

  /** Bytes received and held: a partial prefix and message, plus input kept by stop(). */
  get bufferedBytes(): number {
    return this.headerFilled + this.bodyFilled + (this.rest === null ? 0 : this.rest.length);
  }

  /** Bytes of memory held for the message being assembled: its buffer, or the chunks its views keep alive. */
  get reservedBytes(): number {
    return this.body.length + this.partsRetained;
  }

  get failure(): MessageDecodeError | null {
    return this.error;
  }

  /** True while stop() holds emission (until resume()). */
  get isStopped(): boolean {
    return this.stopped;
  }

  /** Called from an emit callback: emit nothing more until resume(). */
  stop(): void {
    this.stopped = true;
  }

  /** Ends a stop(): decodes any input it kept. Returns false if that input is malformed (see `failure`). */
  resume(emit: MessageSink): boolean {
    this.stopped = false;
    // Called from inside an emit: the running push goes on, kept input included.
    if (this.pushing) return this.error === null;
    this.pushing = true;
    try {
      return this.decodeRest(emit);
    } finally {
      this.pushing = false;
    }
  }

  /**
   * Feeds a chunk; `emit` is called for each complete message. Returns false once the stream is
   * unusable (message too large, bad flag): see `failure`.
   */
  push(chunk: Buffer, emit: MessageSink): boolean {
    if (this.error !== null) return false;
    if (this.stopped || this.pushing) {
      // Stopped, or fed from inside an emit: decoded after what is already held.
      const copy = Buffer.from(chunk);
      this.rest = this.rest === null ? copy : Buffer.concat([this.rest, copy]);
      return true;
    }
    this.pushing = true;
    try {
      return this.decode(chunk, emit, false) && this.decodeRest(emit);
    } finally {
      this.pushing = false;
    }
  }

  private decodeRest(emit: MessageSink): boolean {
    while (!this.stopped && this.rest !== null) {
      const rest = this.rest;
      this.rest = null;
      if (!this.decode(rest, emit, true)) return false;
    }
    return this.error === null;
  }

  /** Decodes `chunk` (`own`: our kept input, else the caller's) until its end or a stop(). */
  private decode(chunk: Buffer, emit: MessageSink, own: boolean): boolean {
    let offset = 0;
    const length = chunk.length;
    while (offset < length) {
      if (this.stopped) {
        this.keepTail(chunk, offset, own);
        return true;
      }
      if (this.bodySize === -1) {
        // Fast path: a whole prefix (and maybe the whole message) in this chunk.
        if (this.headerFilled === 0 && length - offset >= MESSAGE_HEADER_LENGTH) {
          this.flag = chunk[offset];
          const size = chunk.readUInt32BE(offset + 1);
          offset += MESSAGE_HEADER_LENGTH;
          if (!this.checkHeader(size)) return false;
          if (length - offset >= size) {
            emit(chunk.subarray(offset, offset + size), this.flag === 1);
            offset += size;
            continue;
          }
          this.bodySize = size;
          continue;
        }
        if (this.header === EMPTY) this.header = Buffer.alloc(MESSAGE_HEADER_LENGTH);
        const take = Math.min(MESSAGE_HEADER_LENGTH - this.headerFilled, length - offset);
        chunk.copy(this.header, this.headerFilled, offset, offset + take);
        this.headerFilled += take;
        offset += take;
        if (this.headerFilled < MESSAGE_HEADER_LENGTH) return true;
        this.headerFilled = 0;
        this.flag = this.header[0];
        const size = this.header.readUInt32BE(1);
        if (!this.checkHeader(size)) return false;
        this.bodySize = size;
        if (size === 0) this.completeBody(emit);
        continue;
      }
      const take = Math.min(this.bodySize - this.bodyFilled, length - offset);
      if (this.body !== EMPTY) {
        this.ensureCapacity(this.bodyFilled + take);
        chunk.copy(this.body, this.bodyFilled, offset, offset + take);
        this.bodyFilled += take;
      } else {
        this.addPart(chunk.subarray(offset, offset + take));
      }
      offset += take;
      if (this.bodyFilled === this.bodySize) this.completeBody(emit);
    }
    return true;
  }

  private completeBody(emit: MessageSink): void {
    // Full: the capacity never exceeds the declared size.
    let body = this.body;
    const parts = this.parts;
    if (parts !== null) body = parts.length === 1 ? parts[0] : joinParts(parts, this.bodySize);
    this.bodySize = -1;
    this.body = EMPTY;
    this.bodyFilled = 0;
    this.parts = null;
    this.partsRetained = 0;
    this.lastBacking = null;
    emit(body, this.flag === 1);
  }

  /** Holds a view of part of the message; compacts when the views keep too much alive. */
  private addPart(part: Buffer): void {
    if (part.length === 0) return;
    if (this.parts === null) this.parts = [];
    this.parts.push(part);
    this.bodyFilled += part.length;
    if (part.buffer !== this.lastBacking) {
      this.lastBacking = part.buffer;
      this.partsRetained += part.buffer.byteLength;
    }
    if (this.partsRetained > 3 * this.bodyFilled + VIEW_ALLOWANCE && this.bodyFilled < this.bodySize) this.compact();
  }

  /** Copies the held views into a buffer of its own (then grown as bytes arrive). */
  private compact(): void {
    const parts = this.parts!;
    this.parts = null;
    this.partsRetained = 0;
    this.lastBacking = null;
    this.body = Buffer.allocUnsafe(Math.min(this.bodySize, Math.max(2 * this.bodyFilled, MIN_BODY_CAPACITY)));
    let filled = 0;
    for (const part of parts) filled += part.copy(this.body, filled);
  }

  /**
   * Grows the message buffer to hold `needed` bytes: doubling, capped at the declared size, and
   * the declared size at once when half of it is here (still at most twice what arrived). Doubling
   * alone stopped just short of the end: a 64 KiB message in 16 KiB frames took 16 + 32 + 64 + 64 KiB.
   */
  private ensureCapacity(needed: number): void {
    if (needed <= this.body.length) return;
    const grown = needed * 2 >= this.bodySize ? this.bodySize : Math.min(this.bodySize, Math.max(needed, this.body.length * 2, MIN_BODY_CAPACITY));
    const body = Buffer.allocUnsafe(grown);
    this.body.copy(body, 0, 0, this.bodyFilled);
    this.body = body;
  }

  /**
   * Keeps the unread tail of the chunk being decoded, ahead of input pushed meanwhile: a copy of a
   * caller's chunk (it may be reused once push returns), a slice of our own, so a consumer that
   * stops after every message costs one copy per chunk.
   */
  private keepTail(chunk: Buffer, offset: number, own: boolean): void {
    const tail = own ? chunk.subarray(offset) : Buffer.from(chunk.subarray(offset));
    this.rest = this.rest === null ? tail : Buffer.concat([tail, this.rest]);
  }

  private checkHeader(size: number): boolean {
    if (this.flag > 1) {
      this.error = { kind: 'badFlag', flag: this.flag };
      return false;
    }
    if (size > this.maxMessageSize) {
      this.error = { kind: 'tooLarge', size };
      return false;
    }
    return true;
  }
}

/** One buffer of `length` bytes holding `parts` in order: the single copy of a message spread over chunks. */
function joinParts(parts: readonly Buffer[], length: number): Buffer {
  const joined = Buffer.allocUnsafe(length);
  let filled = 0;
  for (const part of parts) filled += part.copy(joined, filled);
  return joined;
}
