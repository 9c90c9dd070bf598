/**
 * A socket for the FrameWriter and LoopyWriter specs: records every cork/uncork/write, counts
 * socket-level flushes (a corked batch is one), returns `writeResult` from write() and emits
 * 'drain' when a spec says so. Chunks are copied as they arrive (the writer reuses its slab),
 * unless a spec checks that payloads are passed by reference.
 */
import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import type { WritableSocket } from '../../lib/transport/outbound/frame-writer';

export type SocketEvent = 'cork' | 'uncork' | { write: Buffer };

export class FakeSocket extends EventEmitter implements WritableSocket {
  readonly events: SocketEvent[] = [];
  readonly chunks: Buffer[] = [];
  /** write() calls, and those made between cork() and uncork(). */
  writes = 0;
  corkedWrites = 0;
  corks = 0;
  writeResult = true;
  destroyed = false;
  private corked = false;

  constructor(private readonly copyChunks = true) {
    super();
  }

  write(chunk: Buffer): boolean {
    const copy = this.copyChunks ? Buffer.from(chunk) : chunk;
    this.events.push({ write: copy });
    this.chunks.push(copy);
    this.writes++;
    if (this.corked) this.corkedWrites++;
    return this.writeResult;
  }
  cork(): void {
    expect(this.corked, 'cork while corked').to.equal(false);
    this.events.push('cork');
    this.corked = true;
    this.corks++;
  }
  uncork(): void {
    expect(this.corked, 'uncork while not corked').to.equal(true);
    this.events.push('uncork');
    this.corked = false;
  }
  get writeCount(): number {
    return this.chunks.length;
  }
  get bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
  /** Socket-level flushes: single writes plus corked batches. */
  get batches(): number {
    return this.writes - this.corkedWrites + this.corks;
  }
  /** 'cork', 'uncork' and 'write' as strings, for comparing call sequences. */
  get calls(): string[] {
    return this.events.map((event) => (typeof event === 'string' ? event : 'write'));
  }
}
