import { expect } from 'chai';
import fc from 'fast-check';
import { encodeMessage, MessageDecoder } from '../../lib/grpc/protocol/message-framing';

/** One message as the decoder's sink receives it (two arguments), collected. */
interface FramedMessage {
  compressed: boolean;
  data: Buffer;
}

const RUNS = 500;

interface Message {
  compressed: boolean;
  data: Buffer;
}

/** Sizes weighted towards the interesting ones: 0, smaller than a prefix, around it, and larger. */
const payload = fc.oneof(
  { weight: 2, arbitrary: fc.constant(Buffer.alloc(0)) },
  { weight: 4, arbitrary: fc.uint8Array({ maxLength: 12 }).map((bytes) => Buffer.from(bytes)) },
  { weight: 2, arbitrary: fc.uint8Array({ minLength: 100, maxLength: 3000 }).map((bytes) => Buffer.from(bytes)) },
);
const message: fc.Arbitrary<Message> = fc.record({ compressed: fc.boolean(), data: payload });
const messages = fc.array(message, { maxLength: 20 });

/** Cuts `bytes` at the given relative positions (duplicates give empty chunks). */
function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = cuts.map((cut) => Math.floor(cut * (bytes.length + 1))).sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const point of points) {
    const end = Math.min(point, bytes.length);
    chunks.push(bytes.subarray(start, end));
    start = end;
  }
  chunks.push(bytes.subarray(start));
  return chunks;
}

function normalize(list: Array<Message | FramedMessage>): Array<{ compressed: boolean; hex: string }> {
  return list.map((item) => ({ compressed: item.compressed, hex: item.data.toString('hex') }));
}

describe('gRPC message framing (property)', () => {
  it('any list of messages, encoded, concatenated and split at random points, decodes to the same list', () => {
    fc.assert(
      fc.property(messages, fc.array(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), { maxLength: 30 }), (list, cuts) => {
        const bytes = Buffer.concat(list.map((item) => encodeMessage(item.data, item.compressed)));
        const decoder = new MessageDecoder(1 << 20);
        const decoded: FramedMessage[] = [];
        for (const chunk of split(bytes, cuts)) {
          expect(decoder.push(chunk, (data, compressed) => decoded.push({ data, compressed }))).to.equal(true);
        }
        expect(normalize(decoded)).to.deep.equal(normalize(list));
        expect(decoder.isIdle).to.equal(true);
        expect(decoder.failure).to.equal(null);
      }),
      { numRuns: RUNS },
    );
  });

  it('holds at most three times the bytes it buffers plus 128 KiB of chunk memory while assembling (views are compacted past that)', () => {
    // Chunks are never modified once pushed (the transport's contract), so the decoder may keep
    // views of them; the memory those views keep alive stays bounded by what arrived.
    fc.assert(
      fc.property(messages, fc.array(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), { maxLength: 30 }), (list, cuts) => {
        const bytes = Buffer.concat(list.map((item) => encodeMessage(item.data, item.compressed)));
        const decoder = new MessageDecoder(1 << 20);
        const decoded: Array<{ compressed: boolean; hex: string }> = [];
        for (const original of split(bytes, cuts)) {
          // Each chunk in a 64 KiB ArrayBuffer of its own, as a socket read is.
          const backing = Buffer.alloc(64 * 1024 + original.length);
          original.copy(backing);
          decoder.push(backing.subarray(0, original.length), (data, compressed) => decoded.push({ compressed, hex: data.toString('hex') }));
          expect(decoder.reservedBytes).to.be.at.most(3 * decoder.bufferedBytes + 128 * 1024 + backing.length);
        }
        expect(decoded).to.deep.equal(normalize(list));
      }),
      { numRuns: RUNS },
    );
  });

  it('is idle exactly at message boundaries for every split', () => {
    fc.assert(
      fc.property(messages, fc.array(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), { maxLength: 30 }), (list, cuts) => {
        const encoded = list.map((item) => encodeMessage(item.data, item.compressed));
        const boundaries = new Set<number>([0]);
        let total = 0;
        for (const frame of encoded) boundaries.add((total += frame.length));
        const bytes = Buffer.concat(encoded);
        const decoder = new MessageDecoder(1 << 20);
        let position = 0;
        for (const chunk of split(bytes, cuts)) {
          decoder.push(chunk, () => {});
          position += chunk.length;
          expect(decoder.isIdle, `after ${position} of ${bytes.length} bytes`).to.equal(boundaries.has(position));
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('an oversized message anywhere in the stream stops decoding right before it', () => {
    fc.assert(
      fc.property(messages, messages, fc.array(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), { maxLength: 30 }), (before, after, cuts) => {
        const limit = 3000;
        const oversized = encodeMessage(Buffer.alloc(limit + 1));
        const bytes = Buffer.concat([
          ...before.map((item) => encodeMessage(item.data, item.compressed)),
          oversized,
          ...after.map((item) => encodeMessage(item.data, item.compressed)),
        ]);
        const decoder = new MessageDecoder(limit);
        const decoded: FramedMessage[] = [];
        for (const chunk of split(bytes, cuts)) decoder.push(chunk, (data, compressed) => decoded.push({ data, compressed }));
        expect(normalize(decoded)).to.deep.equal(normalize(before));
        expect(decoder.failure).to.deep.equal({ kind: 'tooLarge', size: limit + 1 });
      }),
      { numRuns: RUNS },
    );
  });
});
