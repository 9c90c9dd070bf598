/**
 * Received DATA for one stream that its reader has not taken yet (paused, or no reader attached).
 * A FIFO of chunks with a read index, so shifting is O(1) and the array is reused. Its size is
 * bounded by the stream's receive window, which is only given back as chunks are taken.
 */
export class RecvBuffer {
  private chunks: Buffer[] = [];
  private readIndex = 0;
  private byteCount = 0;

  get bytes(): number {
    return this.byteCount;
  }

  get isEmpty(): boolean {
    return this.readIndex === this.chunks.length;
  }

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.byteCount += chunk.length;
  }

  /** The oldest chunk, or undefined when empty. */
  shift(): Buffer | undefined {
    if (this.readIndex === this.chunks.length) return undefined;
    const chunk = this.chunks[this.readIndex];
    this.chunks[this.readIndex++] = undefined as unknown as Buffer;
    this.byteCount -= chunk.length;
    if (this.readIndex === this.chunks.length) {
      this.chunks.length = 0;
      this.readIndex = 0;
    }
    return chunk;
  }

  /** Drops everything (stream reset); returns how many bytes were dropped. */
  clear(): number {
    const dropped = this.byteCount;
    this.chunks = [];
    this.readIndex = 0;
    this.byteCount = 0;
    return dropped;
  }
}
