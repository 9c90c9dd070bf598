import { expect } from 'chai';
import { encodeMessage, MESSAGE_HEADER_LENGTH, MessageDecoder } from '../../../lib/grpc/protocol/message-framing';

/** One message as the decoder's sink receives it (two arguments), collected. */
interface FramedMessage {
  compressed: boolean;
  data: Buffer;
}

const LIMIT = 1 << 20;

/** A Length-Prefixed-Message built by hand (PROTOCOL-HTTP2.md): flag byte, 4-byte big-endian length, payload. */
function frame(payload: Buffer | string, flag = 0, declaredLength?: number): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const header = Buffer.alloc(5);
  header[0] = flag;
  header.writeUInt32BE(declaredLength ?? data.length, 1);
  return Buffer.concat([header, data]);
}

/** Feeds chunks in order; returns every emitted message and each push's return value. */
function feed(decoder: MessageDecoder, chunks: Buffer[]): { messages: FramedMessage[]; results: boolean[] } {
  const messages: FramedMessage[] = [];
  const results = chunks.map((chunk) => decoder.push(chunk, (data, compressed) => messages.push({ data, compressed })));
  return { messages, results };
}

/** A copy of `bytes` in its own ArrayBuffer, so `.buffer` identity is not blurred by Node's shared Buffer pool. */
function unpooled(bytes: Buffer): Buffer {
  return Buffer.from(new Uint8Array(bytes).buffer);
}

function texts(messages: FramedMessage[]): string[] {
  return messages.map((message) => message.data.toString());
}

describe('gRPC message framing', () => {
  describe('encodeMessage', () => {
    it('writes flag 0, the big-endian length, then the payload', () => {
      const framed = encodeMessage(Buffer.from('hello'));
      expect(MESSAGE_HEADER_LENGTH).to.equal(5);
      expect(framed).to.deep.equal(Buffer.from([0, 0, 0, 0, 5, 0x68, 0x65, 0x6c, 0x6c, 0x6f]));
    });

    it('writes flag 1 for a compressed message', () => {
      expect(encodeMessage(Buffer.from([0xaa]), true)).to.deep.equal(Buffer.from([1, 0, 0, 0, 1, 0xaa]));
    });

    it('frames an empty message as a bare 5-byte prefix', () => {
      expect(encodeMessage(Buffer.alloc(0))).to.deep.equal(Buffer.from([0, 0, 0, 0, 0]));
    });

    it('writes lengths above 2^24 big-endian', () => {
      const framed = encodeMessage(Buffer.alloc(0x01020304));
      expect(framed.length).to.equal(5 + 0x01020304);
      expect([...framed.subarray(0, 5)]).to.deep.equal([0, 1, 2, 3, 4]);
    });

    it('copies the payload (later changes to the input do not leak into the frame)', () => {
      const payload = Buffer.from('abc');
      const framed = encodeMessage(payload);
      payload[0] = 0x7a;
      expect(framed.subarray(5).toString()).to.equal('abc');
    });
  });

  describe('MessageDecoder', () => {
    it('decodes one message', () => {
      const decoder = new MessageDecoder(LIMIT);
      const { messages, results } = feed(decoder, [frame('one')]);
      expect(results).to.deep.equal([true]);
      expect(messages).to.have.length(1);
      expect(messages[0]!.compressed).to.equal(false);
      expect(messages[0]!.data.toString()).to.equal('one');
      expect(decoder.isIdle).to.equal(true);
      expect(decoder.failure).to.equal(null);
    });

    it('reports the compressed flag', () => {
      const { messages } = feed(new MessageDecoder(LIMIT), [Buffer.concat([frame('z', 1), frame('p', 0)])]);
      expect(messages.map((message) => message.compressed)).to.deep.equal([true, false]);
    });

    it('decodes several messages in one chunk, in order', () => {
      const { messages } = feed(new MessageDecoder(LIMIT), [Buffer.concat([frame('a'), frame('bb'), frame('ccc')])]);
      expect(texts(messages)).to.deep.equal(['a', 'bb', 'ccc']);
    });

    it('decodes a zero-length message alone', () => {
      const decoder = new MessageDecoder(LIMIT);
      const { messages } = feed(decoder, [frame('')]);
      expect(messages).to.have.length(1);
      expect(messages[0]!.data.length).to.equal(0);
      expect(decoder.isIdle).to.equal(true);
    });

    it('decodes zero-length messages between others and at both ends of a chunk', () => {
      const chunk = Buffer.concat([frame(''), frame('a'), frame(''), frame(''), frame('b'), frame('')]);
      const { messages } = feed(new MessageDecoder(LIMIT), [chunk]);
      expect(texts(messages)).to.deep.equal(['', 'a', '', '', 'b', '']);
    });

    it('decodes a zero-length message whose prefix ends exactly at a chunk end after being split', () => {
      const decoder = new MessageDecoder(LIMIT);
      const bytes = Buffer.concat([frame('x'), frame('', 1)]);
      // Split inside the empty message's prefix: its last prefix byte is the last byte of chunk 2.
      const { messages } = feed(decoder, [bytes.subarray(0, 8), bytes.subarray(8)]);
      expect(texts(messages)).to.deep.equal(['x', '']);
      expect(messages[1]!.compressed).to.equal(true);
      expect(decoder.isIdle).to.equal(true);
    });

    it('decodes a message whose prefix is split across chunks, at every split point', () => {
      const bytes = Buffer.concat([frame('first'), frame('second message')]);
      for (let split = 0; split <= bytes.length; split++) {
        for (let secondSplit = split; secondSplit <= bytes.length; secondSplit++) {
          const chunks = [bytes.subarray(0, split), bytes.subarray(split, secondSplit), bytes.subarray(secondSplit)];
          const { messages } = feed(new MessageDecoder(LIMIT), chunks);
          expect(texts(messages), `splits ${split}/${secondSplit}`).to.deep.equal(['first', 'second message']);
        }
      }
    });

    it('decodes a message fed one byte at a time', () => {
      const bytes = Buffer.concat([frame('abc', 1), frame(''), frame('de')]);
      const chunks = [...bytes].map((byte) => Buffer.from([byte]));
      const { messages } = feed(new MessageDecoder(LIMIT), chunks);
      expect(texts(messages)).to.deep.equal(['abc', '', 'de']);
      expect(messages.map((message) => message.compressed)).to.deep.equal([true, false, false]);
    });

    it('accepts empty chunks anywhere', () => {
      const decoder = new MessageDecoder(LIMIT);
      const bytes = frame('abc');
      const { messages, results } = feed(decoder, [Buffer.alloc(0), bytes.subarray(0, 2), Buffer.alloc(0), bytes.subarray(2), Buffer.alloc(0)]);
      expect(texts(messages)).to.deep.equal(['abc']);
      expect(results.every((result) => result)).to.equal(true);
    });

    it('returns a message that arrived whole in one chunk as a slice of that chunk (no copy)', () => {
      const chunk = unpooled(Buffer.concat([frame('first'), frame('second'), frame('third')]));
      const { messages } = feed(new MessageDecoder(LIMIT), [chunk]);
      expect(texts(messages)).to.deep.equal(['first', 'second', 'third']);
      const offsets = [5, 15, 26];
      messages.forEach((message, index) => {
        expect(message.data.buffer, `message ${index}`).to.equal(chunk.buffer);
        expect(message.data.byteOffset, `message ${index}`).to.equal(offsets[index]);
        // A view, not a copy: writing to the chunk shows in the message.
        chunk[offsets[index]!] = 0x2a;
      });
      expect(texts(messages)).to.deep.equal(['*irst', '*econd', '*hird']);
    });

    it('slices a whole message that follows the tail of a split one in the same chunk', () => {
      const bytes = Buffer.concat([frame('split me'), frame('whole')]);
      const second = unpooled(bytes.subarray(7));
      const { messages } = feed(new MessageDecoder(LIMIT), [unpooled(bytes.subarray(0, 7)), second]);
      expect(texts(messages)).to.deep.equal(['split me', 'whole']);
      expect(messages[0]!.data.buffer).to.not.equal(second.buffer);
      expect(messages[1]!.data.buffer).to.equal(second.buffer);
    });

    it('assembles a message spread over many chunks once, into a buffer of exactly its size', () => {
      const payload = Buffer.alloc(40 * 1024);
      for (let index = 0; index < payload.length; index++) payload[index] = index % 251;
      const bytes = frame(payload);
      const chunks: Buffer[] = [];
      for (let offset = 0; offset < bytes.length; offset += 1000) chunks.push(unpooled(bytes.subarray(offset, offset + 1000)));
      const sizes: number[] = [];
      const { allocUnsafe } = Buffer;
      Buffer.allocUnsafe = ((size: number) => (sizes.push(size), allocUnsafe.call(Buffer, size))) as typeof Buffer.allocUnsafe;
      let result: ReturnType<typeof feed>;
      try {
        result = feed(new MessageDecoder(LIMIT), chunks);
      } finally {
        Buffer.allocUnsafe = allocUnsafe;
      }
      expect(result.messages).to.have.length(1);
      expect(result.messages[0]!.data.equals(payload)).to.equal(true);
      expect(result.messages[0]!.data.length).to.equal(payload.length);
      expect(sizes).to.deep.equal([payload.length]);
      // Its own buffer, not a view of any chunk.
      for (const chunk of chunks) expect(result.messages[0]!.data.buffer).to.not.equal(chunk.buffer);
    });

    it('hands out a view of the chunk when every byte of a message arrived in one chunk after its prefix', () => {
      const bytes = frame('the whole body in the second chunk');
      const second = unpooled(bytes.subarray(5));
      const { messages } = feed(new MessageDecoder(LIMIT), [unpooled(bytes.subarray(0, 5)), second]);
      expect(texts(messages)).to.deep.equal(['the whole body in the second chunk']);
      expect(messages[0]!.data.buffer).to.equal(second.buffer);
    });

    it('copies the parts out once the chunks they keep alive outweigh the message (a peer sending 1 byte per big chunk)', () => {
      const decoder = new MessageDecoder(LIMIT);
      const declared = 1000;
      const noise = 32 * 1024;
      expect(decoder.push(unpooled(frame(Buffer.alloc(1, 1), 0, declared)), () => expect.fail('not complete'))).to.equal(true);
      for (let sent = 1; sent < declared - 1; sent++) {
        // A 1-byte view of a 32 KiB ArrayBuffer: kept as views, 1000 of them would hold 32 MB.
        const backing = Buffer.alloc(noise, 0);
        backing[0] = (sent + 1) % 256;
        expect(decoder.push(backing.subarray(0, 1), () => expect.fail('not complete'))).to.equal(true);
        expect(decoder.reservedBytes, `after ${sent + 1} bytes`).to.be.at.most(3 * decoder.bufferedBytes + 128 * 1024 + noise);
      }
      const messages: Buffer[] = [];
      expect(decoder.push(Buffer.from([declared % 256]), (data) => messages.push(data))).to.equal(true);
      expect(messages).to.have.length(1);
      expect(messages[0]!.length).to.equal(declared);
      for (let index = 0; index < declared; index++) expect(messages[0]![index], `byte ${index}`).to.equal((index + 1) % 256);
      expect(decoder.reservedBytes).to.equal(0);
    });

    it('accepts a message exactly at the size limit', () => {
      const { messages, results } = feed(new MessageDecoder(4), [frame('four')]);
      expect(results).to.deep.equal([true]);
      expect(texts(messages)).to.deep.equal(['four']);
    });

    it('fails with tooLarge on the prefix alone, before the body arrives, and emits nothing more', () => {
      const decoder = new MessageDecoder(100);
      const emitted: FramedMessage[] = [];
      const prefixOnly = frame(Buffer.alloc(0), 0, 0xffffffff);
      expect(decoder.push(Buffer.concat([frame('ok'), prefixOnly]), (data, compressed) => emitted.push({ data, compressed }))).to.equal(false);
      expect(texts(emitted)).to.deep.equal(['ok']);
      expect(decoder.failure).to.deep.equal({ kind: 'tooLarge', size: 0xffffffff });
      // Further input is ignored: nothing is emitted, push keeps returning false.
      expect(decoder.push(frame('later'), (data, compressed) => emitted.push({ data, compressed }))).to.equal(false);
      expect(emitted).to.have.length(1);
      expect(decoder.failure).to.deep.equal({ kind: 'tooLarge', size: 0xffffffff });
    });

    it('fails with tooLarge when the oversized prefix itself is split across chunks', () => {
      const decoder = new MessageDecoder(100);
      const prefix = frame(Buffer.alloc(0), 0, 101);
      const { messages, results } = feed(decoder, [prefix.subarray(0, 2), prefix.subarray(2), Buffer.alloc(101)]);
      expect(results).to.deep.equal([true, false, false]);
      expect(messages).to.have.length(0);
      expect(decoder.failure).to.deep.equal({ kind: 'tooLarge', size: 101 });
    });

    it('does not allocate the declared size of an oversized message', () => {
      // Record every Buffer allocation made while the oversized prefix is processed.
      const sizes: number[] = [];
      const { alloc, allocUnsafe, allocUnsafeSlow } = Buffer;
      Buffer.alloc = ((size: number, ...rest: unknown[]) => (
        sizes.push(size),
        (alloc as (...args: unknown[]) => Buffer).call(Buffer, size, ...rest)
      )) as typeof Buffer.alloc;
      Buffer.allocUnsafe = ((size: number) => (sizes.push(size), allocUnsafe.call(Buffer, size))) as typeof Buffer.allocUnsafe;
      Buffer.allocUnsafeSlow = ((size: number) => (sizes.push(size), allocUnsafeSlow.call(Buffer, size))) as typeof Buffer.allocUnsafeSlow;
      const decoder = new MessageDecoder(1000);
      const prefix = frame(Buffer.alloc(0), 0, 50_000);
      try {
        decoder.push(prefix.subarray(0, 3), () => {});
        decoder.push(Buffer.concat([prefix.subarray(3), Buffer.alloc(10)]), () => {});
      } finally {
        Buffer.alloc = alloc;
        Buffer.allocUnsafe = allocUnsafe;
        Buffer.allocUnsafeSlow = allocUnsafeSlow;
      }
      expect(decoder.failure).to.deep.equal({ kind: 'tooLarge', size: 50_000 });
      expect(
        sizes.filter((size) => size >= 1000),
        `allocations: ${sizes.join(', ')}`,
      ).to.deep.equal([]);
    });

    it('holds the bytes that arrived, not the declared length: a 4 MiB prefix with 10 body bytes reserves ~10 bytes', () => {
      const sizes: number[] = [];
      const { allocUnsafe } = Buffer;
      Buffer.allocUnsafe = ((size: number) => (sizes.push(size), allocUnsafe.call(Buffer, size))) as typeof Buffer.allocUnsafe;
      const decoder = new MessageDecoder(4 * 1024 * 1024);
      try {
        expect(decoder.push(unpooled(frame(Buffer.alloc(10, 7), 0, 4 * 1024 * 1024)), () => expect.fail('nothing is complete'))).to.equal(true);
      } finally {
        Buffer.allocUnsafe = allocUnsafe;
      }
      expect(decoder.bufferedBytes).to.equal(10);
      expect(decoder.reservedBytes).to.be.at.most(256);
      expect(Math.max(0, ...sizes), `allocations: ${sizes.join(', ')}`).to.be.at.most(256);
    });

    it('grows the message buffer with what arrives (at most double it), and still decodes the whole message', () => {
      const payload = Buffer.alloc(1024 * 1024);
      for (let index = 0; index < payload.length; index++) payload[index] = index % 251;
      const bytes = frame(payload);
      const decoder = new MessageDecoder(LIMIT);
      const messages: FramedMessage[] = [];
      for (let offset = 0; offset < bytes.length; offset += 16 * 1024) {
        decoder.push(bytes.subarray(offset, offset + 16 * 1024), (data, compressed) => messages.push({ data, compressed }));
        if (messages.length === 0) expect(decoder.reservedBytes, `after ${offset} bytes`).to.be.at.most(2 * decoder.bufferedBytes);
      }
      expect(messages).to.have.length(1);
      expect(messages[0]!.data.equals(payload)).to.equal(true);
      expect(decoder.isIdle).to.equal(true);
      expect(decoder.reservedBytes).to.equal(0);
    });

    it('stop() from an emit callback keeps the unread input until resume()', () => {
      const decoder = new MessageDecoder(LIMIT);
      const chunk = Buffer.concat([frame('a'), frame('b'), frame('cc').subarray(0, 4)]);
      const seen: string[] = [];
      const emit = (data: Buffer) => {
        seen.push(data.toString());
        decoder.stop();
      };
      expect(decoder.push(chunk, emit)).to.equal(true);
      expect(seen).to.deep.equal(['a']);
      expect(decoder.isIdle).to.equal(false);
      chunk.fill(0); // the decoder kept a copy
      expect(decoder.push(frame('cc').subarray(4), emit), 'input while stopped is kept too').to.equal(true);
      expect(seen).to.deep.equal(['a']);
      expect(decoder.resume(emit)).to.equal(true);
      expect(seen).to.deep.equal(['a', 'b']);
      expect(decoder.resume(emit)).to.equal(true);
      expect(seen).to.deep.equal(['a', 'b', 'cc']);
      expect(decoder.resume(emit)).to.equal(true);
      expect(decoder.isIdle).to.equal(true);
    });

    it('a consumer that stops after every message costs one copy of the chunk, not one per message', () => {
      const decoder = new MessageDecoder(LIMIT);
      const chunk = Buffer.concat(Array.from({ length: 1000 }, (_, index) => frame(String(index))));
      const seen: string[] = [];
      const emit = (data: Buffer) => {
        seen.push(data.toString());
        decoder.stop();
      };
      const copied: number[] = [];
      const { from } = Buffer;
      Buffer.from = ((...args: unknown[]) => {
        const result = (from as (...rest: unknown[]) => Buffer).apply(Buffer, args);
        copied.push(result.length);
        return result;
      }) as typeof Buffer.from;
      try {
        decoder.push(chunk, emit);
        while (decoder.isStopped) decoder.resume(emit);
      } finally {
        Buffer.from = from;
      }
      expect(seen).to.have.length(1000);
      expect(seen[999]).to.equal('999');
      expect(
        copied.reduce((sum, size) => sum + size, 0),
        'bytes copied',
      ).to.be.below(chunk.length);
    });

    it('input pushed from inside an emit is decoded after the chunk it interrupted, in order, across stops', () => {
      const decoder = new MessageDecoder(LIMIT);
      const seen: string[] = [];
      const emit = (data: Buffer) => {
        const text = data.toString();
        seen.push(text);
        if (text === 'a1') decoder.push(Buffer.concat([frame('b1'), frame('b2')]), emit);
        if (text === 'a2') decoder.stop();
      };
      decoder.push(Buffer.concat([frame('a1'), frame('a2'), frame('a3')]), emit);
      expect(seen).to.deep.equal(['a1', 'a2']);
      decoder.resume(emit);
      expect(seen).to.deep.equal(['a1', 'a2', 'a3', 'b1', 'b2']);
      expect(decoder.isIdle).to.equal(true);
    });

    it('fails with badFlag for a compressed flag other than 0 or 1, and emits nothing more', () => {
      for (const flag of [2, 0x80, 0xff]) {
        const decoder = new MessageDecoder(LIMIT);
        const { messages, results } = feed(decoder, [Buffer.concat([frame('ok'), frame('bad', flag), frame('after')]), frame('later')]);
        expect(results, `flag ${flag}`).to.deep.equal([false, false]);
        expect(texts(messages)).to.deep.equal(['ok']);
        expect(decoder.failure).to.deep.equal({ kind: 'badFlag', flag });
      }
    });

    it('fails with badFlag when the bad prefix is split across chunks', () => {
      const decoder = new MessageDecoder(LIMIT);
      const bad = frame('x', 2);
      const { messages, results } = feed(decoder, [bad.subarray(0, 1), bad.subarray(1)]);
      expect(results).to.deep.equal([true, false]);
      expect(messages).to.have.length(0);
      expect(decoder.failure).to.deep.equal({ kind: 'badFlag', flag: 2 });
    });

    it('is idle only at message boundaries', () => {
      const decoder = new MessageDecoder(LIMIT);
      expect(decoder.isIdle, 'fresh').to.equal(true);
      const bytes = frame('abcdef');
      const idle: boolean[] = [];
      for (const byte of bytes) {
        decoder.push(Buffer.from([byte]), () => {});
        idle.push(decoder.isIdle);
      }
      // Not idle after 1–4 prefix bytes, nor after the prefix and 0–5 body bytes; idle once complete.
      expect(idle).to.deep.equal([false, false, false, false, false, false, false, false, false, false, true]);
    });

    it('is idle after a chunk ending exactly at a boundary, not after one ending inside a prefix or body', () => {
      const decoder = new MessageDecoder(LIMIT);
      decoder.push(Buffer.concat([frame('a'), frame('')]), () => {});
      expect(decoder.isIdle).to.equal(true);
      decoder.push(frame('bc').subarray(0, 3), () => {});
      expect(decoder.isIdle).to.equal(false);
      decoder.push(frame('bc').subarray(3, 6), () => {});
      expect(decoder.isIdle).to.equal(false);
      decoder.push(frame('bc').subarray(6), () => {});
      expect(decoder.isIdle).to.equal(true);
    });
  });
});
