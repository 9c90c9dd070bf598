/**
 * gRPC Length-Prefixed-Message framing (PROTOCOL-HTTP2.md): 1 byte compressed flag, 4 bytes
 * big-endian length, then the message. Pure: no I/O.
 */
export const MESSAGE_HEADER_LENGTH = 5;
const EMPTY = Buffer.alloc(0);

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

/** One decoded message: the payload (possibly compressed) and its flag. */
export interface FramedMessage {
  compressed: boolean;
  data: Buffer;
}

export type MessageDecodeError = { kind: 'tooLarge'; size: number } | { kind: 'badFlag'; flag: number };

/**
 * Splits a byte stream arriving in arbitrary chunks into messages. A message that arrived whole
 * inside one chunk is a slice of it (no copy). The length prefix is checked against
 * `maxMessageSize` before anything is buffered, so an oversized message costs no memory.
 */
export class MessageDecoder {
  /** Only needed when a prefix is split across chunks; allocated then. */
  private header: Buffer = EMPTY;
  private headerFilled = 0;
  private flag = 0;
  private body: Buffer | null = null;
  private bodyFilled = 0;
  private error: MessageDecodeError | null = null;

  constructor(private maxMessageSize: number) {}

  /** True when no partial message is buffered (a stream may end cleanly here). */
  get isIdle(): boolean {
    return this.headerFilled === 0 && this.body === null;
  }

  get failure(): MessageDecodeError | null {
    return this.error;
  }

  /**
   * Feeds a chunk; `emit` is called for each complete message. Returns false once the stream is
   * unusable (message too large, bad flag): see `failure`.
   */
  push(chunk: Buffer, emit: (message: FramedMessage) => void): boolean {
    if (this.error !== null) return false;
    let offset = 0;
    const length = chunk.length;
    while (offset < length) {
      if (this.body === null) {
        // Fast path: a whole prefix (and maybe the whole message) in this chunk.
        if (this.headerFilled === 0 && length - offset >= MESSAGE_HEADER_LENGTH) {
          this.flag = chunk[offset];
          const size = chunk.readUInt32BE(offset + 1);
          offset += MESSAGE_HEADER_LENGTH;
          if (!this.checkHeader(size)) return false;
          if (length - offset >= size) {
            emit({ compressed: this.flag === 1, data: chunk.subarray(offset, offset + size) });
            offset += size;
            continue;
          }
          this.body = Buffer.allocUnsafe(size);
          this.bodyFilled = 0;
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
        this.body = Buffer.allocUnsafe(size);
        this.bodyFilled = 0;
      }
      const body = this.body;
      const take = Math.min(body.length - this.bodyFilled, length - offset);
      chunk.copy(body, this.bodyFilled, offset, offset + take);
      this.bodyFilled += take;
      offset += take;
      if (this.bodyFilled === body.length) {
        this.body = null;
        emit({ compressed: this.flag === 1, data: body });
      }
    }
    // A zero-length message right at a chunk's end.
    if (this.body !== null && this.body.length === 0) {
      this.body = null;
      emit({ compressed: this.flag === 1, data: this.body ?? Buffer.alloc(0) });
    }
    return true;
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
