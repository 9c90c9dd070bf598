import { expect } from 'chai';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { ErrorCode } from '../../../lib/transport/errors';
import { decodeFrame } from '../../../lib/transport/frame/decode-frame';
import type { Frame } from '../../../lib/transport/frame/frame';
import { readFrameHeader, type FrameHeader } from '../../../lib/transport/frame/frame-header';
import { FRAME_HEADER_LENGTH, FrameFlag, FrameType } from '../../../lib/transport/frame/frame-type';
import { FrameReader, type FrameSink } from '../../../lib/transport/inbound/frame-reader';
import { FrameWriter } from '../../../lib/transport/outbound/frame-writer';
import { SettingId } from '../../../lib/transport/settings';
import { duplexPair } from '../../../lib/transport/duplex-pair';
import { FakeSocket } from '../../support/fake-socket';
import { eventually } from '../../support/waiting';
import { frames, plain } from '../../support/frames';

/** Splits raw wire bytes into frames, one by one (no CONTINUATION joining). */
function splitFrames(wire: Buffer): { header: FrameHeader; frame: Frame }[] {
  const out: { header: FrameHeader; frame: Frame }[] = [];
  let offset = 0;
  while (offset < wire.length) {
    expect(wire.length - offset, 'a whole frame header').to.be.at.least(FRAME_HEADER_LENGTH);
    const header = readFrameHeader(wire, offset);
    const end = offset + FRAME_HEADER_LENGTH + header.length;
    expect(end, `frame at ${offset} fits the bytes written`).to.be.at.most(wire.length);
    out.push({ header, frame: decodeFrame(header, wire.subarray(offset + FRAME_HEADER_LENGTH, end)) });
    offset = end;
  }
  return out;
}

/** Parses with the real FrameReader (after a SETTINGS frame, as a connection would start). */
function readAll(wire: Buffer, maxFrameSize?: number): Record<string, unknown>[] {
  const got: Record<string, unknown>[] = [];
  const sink: FrameSink = {
    onFrame: (frame) => got.push(plain(frame)),
    onStreamError: (error) => expect.fail(String(error)),
    onConnectionError: (error) => expect.fail(String(error)),
  };
  const reader = new FrameReader(sink, { expectPreface: false, maxFrameSize });
  reader.push(frames.settings());
  reader.push(wire);
  return got.slice(1);
}

function filled(length: number, seed = 0): Buffer {
  const buffer = Buffer.alloc(length);
  for (let index = 0; index < length; index++) buffer[index] = (index * 31 + seed) & 0xff;
  return buffer;
}

const SLAB_SIZE = 64 * 1024;

describe('FrameWriter', () => {
  let socket: FakeSocket;
  let writer: FrameWriter;

  beforeEach(() => {
    socket = new FakeSocket(false);
    writer = new FrameWriter(socket);
  });

  describe('batching', () => {
    it('writes nothing before flush()', () => {
      writer.ping(false, Buffer.from('abcdefgh'));
      writer.settingsAck();
      expect(socket.writeCount).to.equal(0);
      expect(writer.pendingBytes).to.equal(17 + 9);
    });

    it('sends many small frames in exactly one socket.write per flush, without corking', () => {
      for (let index = 0; index < 100; index++) writer.data(1 + 2 * index, filled(100, index), false);
      writer.windowUpdate(0, 1000);
      writer.settingsAck();
      expect(writer.flush()).to.equal(true);
      expect(socket.calls).to.deep.equal(['write']);
      expect(socket.chunks[0].length).to.equal(100 * 109 + 13 + 9);
      expect(writer.pendingBytes).to.equal(0);
      expect(writer.bytesWritten).to.equal(100 * 109 + 22);

      // The next batch is its own single write.
      writer.ping(true, Buffer.from('01234567'));
      writer.rstStream(3, ErrorCode.CANCEL);
      expect(writer.flush()).to.equal(true);
      expect(socket.calls).to.deep.equal(['write', 'write']);
      expect(socket.chunks[1].length).to.equal(17 + 13);
    });

    it('a flush with nothing pending writes nothing', () => {
      expect(writer.flush()).to.equal(true);
      writer.settingsAck();
      writer.flush();
      expect(writer.flush()).to.equal(true);
      expect(socket.writeCount).to.equal(1);
    });

    it('does not let a later batch overwrite bytes already handed to the socket', () => {
      writer.data(1, Buffer.from('first batch'), false);
      writer.flush();
      const firstCopy = Buffer.from(socket.chunks[0]);
      for (let index = 0; index < 20; index++) writer.data(3, filled(1000, index), false);
      writer.flush();
      expect(socket.chunks[0].equals(firstCopy)).to.equal(true);
    });
  });

  describe('large payloads', () => {
    it('passes a DATA payload of 2048 bytes or more by reference and corks the batch', () => {
      const big = filled(4096);
      const small = filled(10, 7);
      writer.headers(1, false, 16384, Buffer.from([0x88]));
      writer.data(1, big, false);
      writer.data(1, small, true);
      writer.flush();
      expect(socket.calls).to.deep.equal(['cork', 'write', 'write', 'write', 'uncork']);
      const [head, middle, tail] = socket.chunks;
      // The payload itself, not a copy: same memory.
      expect(middle.buffer).to.equal(big.buffer);
      expect(middle.byteOffset).to.equal(big.byteOffset);
      expect(middle.length).to.equal(big.length);
      big[0] ^= 0xff;
      expect(middle[0]).to.equal(big[0]);
      expect(head.length).to.equal(9 + 1 + 9);
      expect(tail.length).to.equal(9 + 10);
      expect(readAll(socket.bytes)).to.deep.equal([
        plain({ type: FrameType.HEADERS, streamId: 1, endStream: false, endHeaders: true, headerBlock: Buffer.from([0x88]) }),
        plain({ type: FrameType.DATA, streamId: 1, endStream: false, data: big, flowControlLength: 4096 }),
        plain({ type: FrameType.DATA, streamId: 1, endStream: true, data: small, flowControlLength: 10 }),
      ]);
    });

    it('copies a payload below 2048 bytes (the caller may reuse its buffer)', () => {
      const payload = filled(2047);
      writer.data(5, payload, false);
      writer.flush();
      expect(socket.calls).to.deep.equal(['write']);
      expect(socket.chunks[0].buffer).to.not.equal(payload.buffer);
      payload.fill(0);
      const [{ frame }] = splitFrames(socket.chunks[0]);
      expect((frame as { data: Buffer }).data.equals(filled(2047))).to.equal(true);
    });

    it('a single large payload with its header is still one corked batch of two writes', () => {
      const big = filled(20000);
      writer.data(1, big, true);
      writer.flush();
      expect(socket.calls).to.deep.equal(['cork', 'write', 'write', 'uncork']);
      expect(socket.chunks[1]).to.equal(big);
    });

    it('raw() passes the bytes through untouched and by reference', () => {
      const raw = frames.raw(0xfa, 0x3, 9, 'extension');
      writer.settingsAck();
      writer.raw(raw);
      writer.flush();
      expect(socket.chunks[1]).to.equal(raw);
      expect(socket.bytes.subarray(9).equals(raw)).to.equal(true);
    });
  });

  describe('encoding', () => {
    it('writes every kind of frame so that it parses back', () => {
      const entries = [
        { id: SettingId.INITIAL_WINDOW_SIZE, value: 1 << 20 },
        { id: SettingId.MAX_FRAME_SIZE, value: 32768 },
        { id: SettingId.MAX_HEADER_LIST_SIZE, value: 0xffffffff },
      ];
      const block = Buffer.from([0x88, 0x82]);
      writer.settings(entries);
      writer.settingsAck();
      writer.headers(1, false, 16384, block);
      writer.headers(3, true, 16384, block.subarray(0, 1), block.subarray(1));
      writer.data(1, Buffer.from('hello'), false);
      writer.data(1, Buffer.alloc(0), true);
      writer.data(7, filled(3000), false);
      writer.rstStream(5, ErrorCode.REFUSED_STREAM);
      writer.ping(false, Buffer.from('pingpong'));
      writer.ping(true, Buffer.from('PINGPONG'));
      writer.windowUpdate(0, 0x7fffffff);
      writer.windowUpdate(9, 1);
      writer.goAway(11, ErrorCode.ENHANCE_YOUR_CALM, Buffer.from('calm down'));
      writer.goAway(0, ErrorCode.NO_ERROR, Buffer.alloc(0));
      const pending = writer.pendingBytes;
      writer.flush();
      expect(socket.bytes.length).to.equal(pending);
      expect(readAll(socket.bytes)).to.deep.equal([
        plain({ type: FrameType.SETTINGS, streamId: 0, ack: false, entries }),
        plain({ type: FrameType.SETTINGS, streamId: 0, ack: true, entries: [] }),
        plain({ type: FrameType.HEADERS, streamId: 1, endStream: false, endHeaders: true, headerBlock: block }),
        plain({ type: FrameType.HEADERS, streamId: 3, endStream: true, endHeaders: true, headerBlock: block }),
        plain({ type: FrameType.DATA, streamId: 1, endStream: false, data: Buffer.from('hello'), flowControlLength: 5 }),
        plain({ type: FrameType.DATA, streamId: 1, endStream: true, data: Buffer.alloc(0), flowControlLength: 0 }),
        plain({ type: FrameType.DATA, streamId: 7, endStream: false, data: filled(3000), flowControlLength: 3000 }),
        plain({ type: FrameType.RST_STREAM, streamId: 5, errorCode: ErrorCode.REFUSED_STREAM }),
        plain({ type: FrameType.PING, streamId: 0, ack: false, data: Buffer.from('pingpong') }),
        plain({ type: FrameType.PING, streamId: 0, ack: true, data: Buffer.from('PINGPONG') }),
        plain({ type: FrameType.WINDOW_UPDATE, streamId: 0, increment: 0x7fffffff }),
        plain({ type: FrameType.WINDOW_UPDATE, streamId: 9, increment: 1 }),
        plain({ type: FrameType.GOAWAY, streamId: 0, lastStreamId: 11, errorCode: ErrorCode.ENHANCE_YOUR_CALM, debugData: Buffer.from('calm down') }),
        plain({ type: FrameType.GOAWAY, streamId: 0, lastStreamId: 0, errorCode: ErrorCode.NO_ERROR, debugData: Buffer.alloc(0) }),
      ]);
    });

    it('keeps frames intact and in order when the batch crosses slab boundaries', () => {
      // ~3 slabs of small (copied) frames mixed with fixed-size frames.
      const expected: Record<string, unknown>[] = [];
      for (let index = 0; index < 200; index++) {
        const payload = filled(1000 + (index % 37), index);
        writer.data(1, payload, false);
        expected.push(plain({ type: FrameType.DATA, streamId: 1, endStream: false, data: payload, flowControlLength: payload.length }));
        if (index % 5 === 0) {
          writer.ping(false, filled(8, index));
          expected.push(plain({ type: FrameType.PING, streamId: 0, ack: false, data: filled(8, index) }));
        }
      }
      writer.flush();
      expect(readAll(socket.bytes)).to.deep.equal(expected);
    });

    /**
     * Fills the slab (copied small DATA frames, which stay in the current slab) so that exactly
     * `spare` bytes are left, then writes one more frame; returns everything parsed back.
     */
    function writeAtSlabEnd(spare: number, write: (w: FrameWriter) => void): { expected: Record<string, unknown>[]; thrown: unknown; wire: Buffer } {
      const fake = new FakeSocket(false);
      const w = new FrameWriter(fake);
      const expected: Record<string, unknown>[] = [];
      let used = 0;
      while (SLAB_SIZE - used - spare >= 2056 + 9) {
        const payload = filled(2047, used);
        w.data(1, payload, false);
        expected.push(plain({ type: FrameType.DATA, streamId: 1, endStream: false, data: payload, flowControlLength: 2047 }));
        used += 2056;
      }
      const last = filled(SLAB_SIZE - used - spare - 9, 1);
      expect(last.length).to.be.below(2048);
      w.data(1, last, false);
      expected.push(plain({ type: FrameType.DATA, streamId: 1, endStream: false, data: last, flowControlLength: last.length }));
      expect(w.pendingBytes).to.equal(SLAB_SIZE - spare);
      let thrown: unknown = null;
      try {
        write(w);
      } catch (error) {
        thrown = error;
      }
      w.flush();
      return { expected, thrown, wire: fake.bytes };
    }

    // frame-writer.ts rstStream()/windowUpdate(): header() reserves only the 9 header bytes, then the
    // 4-byte payload is written at `position` without reserve(4). When 9..12 bytes are left in the
    // slab the header fits but the payload does not: writeUInt32BE throws ERR_OUT_OF_RANGE (and the
    // batch already holds a dangling 9-byte header). The slab is kept across flushes, so on a
    // long-lived connection any WINDOW_UPDATE / RST_STREAM eventually lands there; in the
    // LoopyWriter the throw ends the writer (host.writerFailed).
    for (const [name, write, frame] of [
      ['RST_STREAM', (w: FrameWriter) => w.rstStream(3, ErrorCode.CANCEL), { type: FrameType.RST_STREAM, streamId: 3, errorCode: ErrorCode.CANCEL }],
      ['WINDOW_UPDATE', (w: FrameWriter) => w.windowUpdate(3, 16384), { type: FrameType.WINDOW_UPDATE, streamId: 3, increment: 16384 }],
      ['PING', (w: FrameWriter) => w.ping(true, Buffer.from('ABCDEFGH')), { type: FrameType.PING, streamId: 0, ack: true, data: Buffer.from('ABCDEFGH') }],
      [
        'GOAWAY',
        (w: FrameWriter) => w.goAway(7, ErrorCode.NO_ERROR, Buffer.from('bye')),
        { type: FrameType.GOAWAY, streamId: 0, lastStreamId: 7, errorCode: 0, debugData: Buffer.from('bye') },
      ],
      [
        'SETTINGS',
        (w: FrameWriter) => w.settings([{ id: SettingId.MAX_FRAME_SIZE, value: 20000 }]),
        { type: FrameType.SETTINGS, streamId: 0, ack: false, entries: [{ id: SettingId.MAX_FRAME_SIZE, value: 20000 }] },
      ],
    ] as const) {
      it(`writes a ${name} frame correctly wherever the slab ends (header in the last 9..20 bytes)`, () => {
        const failures: string[] = [];
        for (let spare = 9; spare <= 20; spare++) {
          const { expected, thrown, wire } = writeAtSlabEnd(spare, write);
          if (thrown !== null) {
            failures.push(`${spare} bytes left: ${String(thrown).split('\n')[0]}`);
            continue;
          }
          expect(readAll(wire), `${spare} bytes left`).to.deep.equal([...expected, plain(frame as Frame)]);
        }
        expect(failures).to.deep.equal([]);
      });
    }
  });

  describe('headers', () => {
    function expectSplit(wire: Buffer, streamId: number, endStream: boolean, maxFrameSize: number, block: Buffer): void {
      const parts = splitFrames(wire);
      const expectedCount = Math.ceil(block.length / maxFrameSize);
      expect(parts).to.have.length(expectedCount);
      parts.forEach(({ header }, index) => {
        const last = index === parts.length - 1;
        expect(header.type).to.equal(index === 0 ? FrameType.HEADERS : FrameType.CONTINUATION);
        expect(header.streamId).to.equal(streamId);
        expect(header.length).to.be.at.most(maxFrameSize);
        if (!last) expect(header.length).to.equal(maxFrameSize);
        expect((header.flags & FrameFlag.END_HEADERS) !== 0, `END_HEADERS on frame ${index}`).to.equal(last);
        const endStreamBit = (header.flags & FrameFlag.END_STREAM) !== 0;
        // END_STREAM lives on HEADERS only; on CONTINUATION the bit means nothing and must be 0.
        expect(endStreamBit, `END_STREAM on frame ${index}`).to.equal(index === 0 ? endStream : false);
      });
      const joined = Buffer.concat(parts.map(({ frame }) => (frame as { headerBlock: Buffer }).headerBlock));
      expect(joined.equals(block)).to.equal(true);
      // The real reader joins them back into one HEADERS frame.
      expect(readAll(wire, maxFrameSize)).to.deep.equal([plain({ type: FrameType.HEADERS, streamId, endStream, endHeaders: true, headerBlock: block })]);
    }

    it('writes a block of exactly maxFrameSize as a single HEADERS frame', () => {
      const block = filled(16384);
      writer.headers(1, true, 16384, block);
      writer.flush();
      const parts = splitFrames(socket.bytes);
      expect(parts).to.have.length(1);
      expect(parts[0].header.flags).to.equal(FrameFlag.END_HEADERS | FrameFlag.END_STREAM);
    });

    it('splits a bigger block into HEADERS + CONTINUATION with END_STREAM only on HEADERS', () => {
      const block = filled(16385 + 16384 + 100, 3);
      writer.headers(5, true, 16384, block);
      writer.flush();
      expectSplit(socket.bytes, 5, true, 16384, block);
    });

    it('splits without END_STREAM when the headers do not end the stream', () => {
      const block = filled(40000, 9);
      writer.headers(7, false, 16384, block);
      writer.flush();
      expectSplit(socket.bytes, 7, false, 16384, block);
    });

    it('splits a block given in two parts at the right places', () => {
      const block = filled(50000, 4);
      writer.headers(9, true, 20000, block.subarray(0, 123), block.subarray(123));
      writer.flush();
      expectSplit(socket.bytes, 9, true, 20000, block);
    });

    it('splits a two-part block whose parts are small but together exceed the limit', () => {
      const block = filled(16384 + 10, 5);
      writer.headers(11, false, 16384, block.subarray(0, 8200), block.subarray(8200));
      writer.flush();
      expectSplit(socket.bytes, 11, false, 16384, block);
    });
  });

  describe('backpressure', () => {
    it('flush() returns false when write returns false; waitForDrain resolves after drain', async () => {
      expect(writer.blocked).to.equal(false);
      await writer.waitForDrain(); // not blocked: resolves at once
      socket.writeResult = false;
      writer.settingsAck();
      expect(writer.flush()).to.equal(false);
      expect(writer.blocked).to.equal(true);
      expect(socket.listenerCount('drain')).to.equal(1);

      // A flush with nothing new still reports the blocked state.
      expect(writer.flush()).to.equal(false);

      let drained = false;
      const first = writer.waitForDrain().then(() => {
        drained = true;
      });
      const second = writer.waitForDrain();
      await Promise.resolve();
      await Promise.resolve();
      expect(drained).to.equal(false);

      socket.writeResult = true;
      socket.emit('drain');
      await Promise.all([first, second]);
      expect(drained).to.equal(true);
      expect(writer.blocked).to.equal(false);
      expect(socket.listenerCount('drain')).to.equal(0);
      expect(writer.flush()).to.equal(true);
    });

    it('registers a single drain listener however many flushes return false', () => {
      socket.writeResult = false;
      for (let index = 0; index < 5; index++) {
        writer.ping(false, Buffer.alloc(8));
        expect(writer.flush()).to.equal(false);
      }
      expect(socket.listenerCount('drain')).to.equal(1);
    });

    it('uses the result of the corked batch', () => {
      socket.writeResult = false;
      writer.data(1, filled(4096), false);
      expect(writer.flush()).to.equal(false);
      expect(socket.calls).to.deep.equal(['cork', 'write', 'write', 'uncork']);
    });

    it('abort() releases drain waiters without a drain and drops the batch', async () => {
      socket.writeResult = false;
      writer.settingsAck();
      writer.flush();
      const waiting = writer.waitForDrain();
      writer.ping(false, Buffer.alloc(8));
      writer.abort();
      await waiting;
      expect(writer.pendingBytes).to.equal(0);
      expect(writer.blocked).to.equal(false);
    });

    it('writes nothing to a destroyed socket', () => {
      socket.destroyed = true;
      writer.settingsAck();
      expect(writer.flush()).to.equal(true);
      expect(socket.writeCount).to.equal(0);
    });
  });
});

describe('FrameWriter slab reuse', () => {
  /** Counts the 64 KiB slabs taken while `run` goes on. */
  async function countSlabs(run: () => Promise<void>): Promise<number> {
    const allocUnsafeSlow = Buffer.allocUnsafeSlow;
    let slabs = 0;
    Buffer.allocUnsafeSlow = ((size: number) => (size >= 64 * 1024 && slabs++, allocUnsafeSlow.call(Buffer, size))) as typeof Buffer.allocUnsafeSlow;
    try {
      await run();
    } finally {
      Buffer.allocUnsafeSlow = allocUnsafeSlow;
    }
    return slabs;
  }

  const PINGS = 6000;
  /** Writes PINGS numbered PING frames of 17 bytes (100 KiB: a fresh 64 KiB slab once the first fills), one flush each. */
  function writePings(writer: FrameWriter): void {
    for (let index = 0; index < PINGS; index++) {
      const data = Buffer.alloc(8);
      data.writeUInt32BE(index, 4);
      writer.ping(false, data);
      writer.flush();
    }
  }

  function pingNumbers(wire: Buffer): number[] {
    // readAll gives payloads as hex: the number is the last 4 bytes (8 hex digits).
    return readAll(wire).map((frame) => Number.parseInt((frame.data as string).slice(8), 16));
  }

  it('over TCP, a flush the socket took whole lets the next frames reuse the slab; the peer gets every byte', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
    const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
    await new Promise((resolve) => client.once('connect', resolve));
    const peer = await accepted;
    const received: Buffer[] = [];
    peer.on('data', (chunk: Buffer) => received.push(chunk));
    const total = PINGS * (FRAME_HEADER_LENGTH + 8);
    try {
      const slabs = await countSlabs(async () => writePings(new FrameWriter(client)));
      await eventually(() => received.reduce((sum, chunk) => sum + chunk.length, 0) >= total);
      expect(pingNumbers(Buffer.concat(received))).to.deep.equal(Array.from({ length: PINGS }, (_, index) => index));
      // Only the writer's first slab: without reuse a second one when the first fills.
      expect(slabs, 'slabs taken').to.equal(1);
    } finally {
      client.destroy();
      peer.destroy();
      server.close();
    }
  });

  it('over an in-memory pair (the reader may hold the very Buffer), slabs are never reused', async () => {
    const [left, right] = duplexPair();
    const received: Buffer[] = [];
    right.on('data', (chunk: Buffer) => received.push(chunk));
    right.pause(); // nothing is read until every frame is written
    const slabs = await countSlabs(async () => writePings(new FrameWriter(left)));
    right.resume();
    await eventually(() => received.reduce((sum, chunk) => sum + chunk.length, 0) >= PINGS * (FRAME_HEADER_LENGTH + 8));
    expect(pingNumbers(Buffer.concat(received))).to.deep.equal(Array.from({ length: PINGS }, (_, index) => index));
    expect(slabs, 'the first slab, and a fresh one when it fills').to.equal(2);
    left.destroy();
    right.destroy();
  });
});
