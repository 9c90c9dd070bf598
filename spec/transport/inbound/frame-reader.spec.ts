import { expect } from 'chai';
import { ConnectionError, ErrorCode, StreamError, errorCodeName } from '../../../lib/transport/errors';
import type { Frame } from '../../../lib/transport/frame/frame';
import { FrameType } from '../../../lib/transport/frame/frame-type';
import { FrameReader, type FrameReaderOptions, type FrameSink } from '../../../lib/transport/inbound/frame-reader';
import { SettingId } from '../../../lib/transport/settings';
import { PREFACE, frames, plain } from '../../support/frames';

type Event = { frame: Record<string, unknown> } | { streamError: [number, string] } | { connectionError: string };

/** Records what the reader delivers, as plain data; `onEachFrame` lets a spec react (e.g. pause). */
class RecordingSink implements FrameSink {
  readonly events: Event[] = [];
  readonly connectionErrors: ConnectionError[] = [];
  onEachFrame: (frame: Frame) => void = () => {};

  onFrame(frame: Frame): void {
    this.events.push({ frame: plain(frame) });
    this.onEachFrame(frame);
  }
  onStreamError(error: StreamError): void {
    expect(error).to.be.instanceOf(StreamError);
    this.events.push({ streamError: [error.streamId, errorCodeName(error.errorCode)] });
  }
  onConnectionError(error: ConnectionError): void {
    expect(error).to.be.instanceOf(ConnectionError);
    this.connectionErrors.push(error);
    this.events.push({ connectionError: errorCodeName(error.errorCode) });
  }
}

function read(chunks: Buffer[], options: FrameReaderOptions = { expectPreface: true }): RecordingSink {
  const sink = new RecordingSink();
  const reader = new FrameReader(sink, options);
  for (const chunk of chunks) reader.push(chunk);
  return sink;
}

const frameEvent = (frame: Frame): Event => ({ frame: plain(frame) });
const connectionError = (code: number): Event => ({ connectionError: errorCodeName(code) });
const SETTINGS_EMPTY: Frame = { type: FrameType.SETTINGS, streamId: 0, ack: false, entries: [] };
const START = Buffer.concat([PREFACE, frames.settings()]);
const b = (text: string): Buffer => Buffer.from(text, 'latin1');

describe('FrameReader', () => {
  describe('connection preface (RFC 9113 §3.4)', () => {
    it('accepts the client preface followed by SETTINGS', () => {
      expect(read([START]).events).to.deep.equal([frameEvent(SETTINGS_EMPTY)]);
    });

    it('accepts the preface arriving one byte at a time', () => {
      expect(read([...START].map((byte) => Buffer.from([byte]))).events).to.deep.equal([frameEvent(SETTINGS_EMPTY)]);
    });

    it('waits for all 24 preface bytes before judging them', () => {
      expect(read([b('GET / HTTP/1.1\r\n')]).events).to.deep.equal([]);
    });

    it('rejects garbage with PROTOCOL_ERROR and then delivers nothing more', () => {
      const sink = read([b('GET / HTTP/1.1\r\nHost: example\r\n\r\n'), START, frames.ping('12345678')]);
      expect(sink.events).to.deep.equal([connectionError(ErrorCode.PROTOCOL_ERROR)]);
    });

    it('rejects a preface that differs only in its last byte', () => {
      const bad = Buffer.from(PREFACE);
      bad[bad.length - 1] ^= 1;
      expect(read([bad, frames.settings()]).events).to.deep.equal([connectionError(ErrorCode.PROTOCOL_ERROR)]);
    });

    it('without expectPreface (client side), frames start at once', () => {
      expect(read([frames.settings()], { expectPreface: false }).events).to.deep.equal([frameEvent(SETTINGS_EMPTY)]);
      // The preface bytes are read as a frame header: "PRI" as a length is far over maxFrameSize.
      expect(read([START], { expectPreface: false }).events).to.deep.equal([connectionError(ErrorCode.FRAME_SIZE_ERROR)]);
    });

    for (const [name, first] of [
      ['PING', frames.ping()],
      ['SETTINGS ACK', frames.settingsAck()],
      ['WINDOW_UPDATE', frames.windowUpdate(0, 1)],
      ['an unknown frame', frames.raw(0xee, 0, 0)],
    ] as const) {
      it(`rejects ${name} as the first frame with PROTOCOL_ERROR`, () => {
        expect(read([PREFACE, first, frames.settings()]).events).to.deep.equal([connectionError(ErrorCode.PROTOCOL_ERROR)]);
        expect(read([first, frames.settings()], { expectPreface: false }).events).to.deep.equal([connectionError(ErrorCode.PROTOCOL_ERROR)]);
      });
    }
  });

  describe('a sequence of every frame type', () => {
    const wire = Buffer.concat([
      PREFACE,
      frames.settings([{ id: SettingId.INITIAL_WINDOW_SIZE, value: 1 << 20 }]),
      frames.settingsAck(),
      frames.headers(1, 'head', { endHeaders: false, padLength: 3, priority: { exclusive: true, dependsOn: 0, weight: 42 } }),
      frames.continuation(1, 'er-', false),
      frames.continuation(1, 'block'),
      frames.data(1, 'hello', { padLength: 4 }),
      frames.data(1, '', { endStream: true }),
      frames.priority(3, { dependsOn: 1, weight: 200 }),
      frames.rstStream(3, ErrorCode.CANCEL),
      frames.pushPromise(1, 2, 'pp', { endHeaders: false, padLength: 1 }),
      frames.continuation(1, '-end'),
      frames.headers(5, 'single', { endStream: true }),
      frames.ping('12345678'),
      frames.ping('87654321', true),
      frames.windowUpdate(0, 1000),
      frames.windowUpdate(1, 5),
      frames.raw(0xbb, 0x3, 1, 'extension'),
      frames.goAway(5, ErrorCode.NO_ERROR, 'bye'),
    ]);
    const expected: Event[] = (
      [
        { type: FrameType.SETTINGS, streamId: 0, ack: false, entries: [{ id: SettingId.INITIAL_WINDOW_SIZE, value: 1 << 20 }] },
        { type: FrameType.SETTINGS, streamId: 0, ack: true, entries: [] },
        {
          type: FrameType.HEADERS,
          streamId: 1,
          endStream: false,
          endHeaders: true,
          headerBlock: b('header-block'),
          priority: { exclusive: true, dependsOn: 0, weight: 42 },
        },
        { type: FrameType.DATA, streamId: 1, endStream: false, data: b('hello'), flowControlLength: 10 },
        { type: FrameType.DATA, streamId: 1, endStream: true, data: b(''), flowControlLength: 0 },
        { type: FrameType.PRIORITY, streamId: 3, priority: { exclusive: false, dependsOn: 1, weight: 200 } },
        { type: FrameType.RST_STREAM, streamId: 3, errorCode: ErrorCode.CANCEL },
        { type: FrameType.PUSH_PROMISE, streamId: 1, promisedStreamId: 2, endHeaders: true, headerBlock: b('pp-end') },
        { type: FrameType.HEADERS, streamId: 5, endStream: true, endHeaders: true, headerBlock: b('single') },
        { type: FrameType.PING, streamId: 0, ack: false, data: b('12345678') },
        { type: FrameType.PING, streamId: 0, ack: true, data: b('87654321') },
        { type: FrameType.WINDOW_UPDATE, streamId: 0, increment: 1000 },
        { type: FrameType.WINDOW_UPDATE, streamId: 1, increment: 5 },
        { type: 'unknown', frameType: 0xbb, flags: 0x3, streamId: 1, payload: b('extension') },
        { type: FrameType.GOAWAY, streamId: 0, lastStreamId: 5, errorCode: ErrorCode.NO_ERROR, debugData: b('bye') },
      ] satisfies Frame[]
    ).map(frameEvent);

    it('fed whole', () => {
      expect(read([wire]).events).to.deep.equal(expected);
    });

    it('split into two chunks at every byte boundary', () => {
      for (let cut = 0; cut <= wire.length; cut++) {
        expect(read([wire.subarray(0, cut), wire.subarray(cut)]).events, `cut at ${cut}`).to.deep.equal(expected);
      }
    });

    it('fed one byte at a time', () => {
      const bytes = [...wire].map((byte) => Buffer.from([byte]));
      expect(read(bytes).events).to.deep.equal(expected);
    });
  });

  describe('frame size (RFC 9113 §4.2)', () => {
    it('accepts a frame of exactly maxFrameSize (default 16384)', () => {
      const events = read([START, frames.data(1, Buffer.alloc(16384, 7))]).events;
      expect(events).to.have.length(2);
      expect(events[1]).to.deep.include({
        frame: plain({ type: FrameType.DATA, streamId: 1, endStream: false, data: Buffer.alloc(16384, 7), flowControlLength: 16384 }),
      });
    });

    it('rejects a frame over maxFrameSize with FRAME_SIZE_ERROR as soon as its header arrives', () => {
      const header = frames.raw(FrameType.DATA, 0, 1, [], 16385);
      expect(read([START, header]).events).to.deep.equal([frameEvent(SETTINGS_EMPTY), connectionError(ErrorCode.FRAME_SIZE_ERROR)]);
    });

    it('honours the maxFrameSize option and setMaxFrameSize()', () => {
      const small = read([START, frames.data(1, Buffer.alloc(101))], { expectPreface: true, maxFrameSize: 100 });
      expect(small.events.at(-1)).to.deep.equal(connectionError(ErrorCode.FRAME_SIZE_ERROR));

      const sink = new RecordingSink();
      const reader = new FrameReader(sink, { expectPreface: true });
      reader.push(START);
      reader.setMaxFrameSize(20000);
      reader.push(frames.data(1, Buffer.alloc(20000)));
      expect(sink.events).to.have.length(2);
      expect(sink.connectionErrors).to.deep.equal([]);
    });
  });

  describe('header blocks (RFC 9113 §4.3, §6.10)', () => {
    it('joins HEADERS + CONTINUATIONs into one HeadersFrame with endHeaders and the whole block', () => {
      const events = read([
        START,
        frames.headers(3, 'ab', { endHeaders: false, endStream: true }),
        frames.continuation(3, '', false),
        frames.continuation(3, 'cd', false),
        frames.continuation(3, 'ef'),
      ]).events;
      expect(events).to.deep.equal([
        frameEvent(SETTINGS_EMPTY),
        frameEvent({ type: FrameType.HEADERS, streamId: 3, endStream: true, endHeaders: true, headerBlock: b('abcdef') }),
      ]);
    });

    it('joins PUSH_PROMISE + CONTINUATION the same way', () => {
      const events = read([START, frames.pushPromise(1, 4, 'x', { endHeaders: false }), frames.continuation(1, 'y')]).events;
      expect(events[1]).to.deep.equal(frameEvent({ type: FrameType.PUSH_PROMISE, streamId: 1, promisedStreamId: 4, endHeaders: true, headerBlock: b('xy') }));
    });

    it('delivers nothing while the block is still open', () => {
      expect(read([START, frames.headers(1, 'a', { endHeaders: false }), frames.continuation(1, 'b', false)]).events).to.deep.equal([
        frameEvent(SETTINGS_EMPTY),
      ]);
    });

    for (const [name, interloper] of [
      ['a PING', frames.ping()],
      ['a DATA frame on the same stream', frames.data(1, 'x')],
      ['a HEADERS frame on the same stream', frames.headers(1, 'x')],
      ['a CONTINUATION on another stream', frames.continuation(3, 'x')],
      ['an unknown (extension) frame (§5.5)', frames.raw(0xcc, 0, 1, 'x')],
      ['a frame with a stream-level error', frames.raw(FrameType.PRIORITY, 0, 1, [0, 0, 0, 0])],
    ] as const) {
      it(`rejects ${name} inside an open header block with PROTOCOL_ERROR`, () => {
        const sink = read([START, frames.headers(1, 'a', { endHeaders: false }), interloper, frames.continuation(1, 'b'), frames.ping()]);
        expect(sink.events).to.deep.equal([frameEvent(SETTINGS_EMPTY), connectionError(ErrorCode.PROTOCOL_ERROR)]);
      });
    }

    it('rejects a CONTINUATION without an open block with PROTOCOL_ERROR', () => {
      expect(read([START, frames.continuation(1, 'x')]).events).to.deep.equal([frameEvent(SETTINGS_EMPTY), connectionError(ErrorCode.PROTOCOL_ERROR)]);
      const afterComplete = read([START, frames.headers(1, 'a'), frames.continuation(1, 'x')]).events;
      expect(afterComplete.at(-1)).to.deep.equal(connectionError(ErrorCode.PROTOCOL_ERROR));
      expect(afterComplete).to.have.length(3);
    });

    it('rejects a header block over maxHeaderBlockSize with ENHANCE_YOUR_CALM', () => {
      const options = { expectPreface: true, maxHeaderBlockSize: 100 };
      const atLimit = read([START, frames.headers(1, Buffer.alloc(60), { endHeaders: false }), frames.continuation(1, Buffer.alloc(40))], options);
      expect(atLimit.connectionErrors).to.deep.equal([]);
      expect(atLimit.events).to.have.length(2);

      const over = read([START, frames.headers(1, Buffer.alloc(60), { endHeaders: false }), frames.continuation(1, Buffer.alloc(41), false)], options);
      expect(over.events).to.deep.equal([frameEvent(SETTINGS_EMPTY), connectionError(ErrorCode.ENHANCE_YOUR_CALM)]);

      const firstFragment = read([START, frames.headers(1, Buffer.alloc(101), { endHeaders: false })], options);
      expect(firstFragment.events.at(-1)).to.deep.equal(connectionError(ErrorCode.ENHANCE_YOUR_CALM));
    });

    it('allows 8 CONTINUATION frames per block and answers the 9th with ENHANCE_YOUR_CALM, empty ones included', () => {
      const block = (continuations: number) => [
        frames.headers(1, 'a', { endHeaders: false }),
        ...Array.from({ length: continuations - 1 }, () => frames.continuation(1, '', false)),
        frames.continuation(1, 'b'),
      ];
      const eight = read([START, ...block(8)]);
      expect(eight.connectionErrors).to.deep.equal([]);
      expect(eight.events).to.have.length(2);

      const nine = read([START, ...block(9)]);
      expect(nine.events).to.deep.equal([frameEvent(SETTINGS_EMPTY), connectionError(ErrorCode.ENHANCE_YOUR_CALM)]);
    });

    it('stops an endless run of empty CONTINUATION frames after the limit, having buffered nothing', () => {
      const sink = new RecordingSink();
      const reader = new FrameReader(sink, { expectPreface: true, maxContinuationFrames: 8 });
      reader.push(START);
      reader.push(frames.headers(1, '', { endHeaders: false }));
      const empty = frames.continuation(1, '', false);
      let sent = 0;
      while (sink.connectionErrors.length === 0 && sent < 1_000_000) {
        reader.push(empty);
        sent++;
      }
      expect(sent).to.equal(9);
      expect(sink.events.at(-1)).to.deep.equal(connectionError(ErrorCode.ENHANCE_YOUR_CALM));
      expect(reader.bufferedBytes).to.equal(0);
    });

    it('counts CONTINUATION frames per block: the count starts over with each HEADERS', () => {
      const options = { expectPreface: true, maxContinuationFrames: 2 };
      const twoBlocks = [1, 3].flatMap((id) => [
        frames.headers(id, 'a', { endHeaders: false }),
        frames.continuation(id, '', false),
        frames.continuation(id, 'b'),
      ]);
      const sink = read([START, ...twoBlocks], options);
      expect(sink.connectionErrors).to.deep.equal([]);
      expect(sink.events).to.have.length(3);
    });
  });

  describe('errors', () => {
    it('reports a stream-level decode error to onStreamError and goes on with the next frame', () => {
      const events = read([
        START,
        frames.raw(FrameType.PRIORITY, 0, 5, [0, 0, 0, 1]),
        frames.ping('abcdefgh'),
        frames.windowUpdate(7, 0),
        frames.windowUpdate(7, 9),
      ]).events;
      expect(events).to.deep.equal([
        frameEvent(SETTINGS_EMPTY),
        { streamError: [5, 'FRAME_SIZE_ERROR'] },
        frameEvent({ type: FrameType.PING, streamId: 0, ack: false, data: b('abcdefgh') }),
        { streamError: [7, 'PROTOCOL_ERROR'] },
        frameEvent({ type: FrameType.WINDOW_UPDATE, streamId: 7, increment: 9 }),
      ]);
    });

    it('stops for good after a connection-level decode error', () => {
      const sink = new RecordingSink();
      const reader = new FrameReader(sink, { expectPreface: true });
      reader.push(Buffer.concat([START, frames.raw(FrameType.PING, 0, 0, Buffer.alloc(7)), frames.ping()]));
      reader.push(frames.ping());
      reader.resume();
      expect(sink.events).to.deep.equal([frameEvent(SETTINGS_EMPTY), connectionError(ErrorCode.FRAME_SIZE_ERROR)]);
    });
  });

  describe('pause() / resume()', () => {
    const ping = (n: number): Buffer => frames.ping(Buffer.alloc(8, n));
    const pingEvent = (n: number): Event => frameEvent({ type: FrameType.PING, streamId: 0, ack: false, data: Buffer.alloc(8, n) });

    it('pausing inside onFrame stops delivery after that frame; later chunks are buffered; resume delivers the rest in order', () => {
      const sink = new RecordingSink();
      const reader = new FrameReader(sink, { expectPreface: true });
      sink.onEachFrame = (frame) => {
        if (frame.type === FrameType.PING) reader.pause();
      };
      reader.push(Buffer.concat([START, ping(1), ping(2), ping(3)]));
      expect(sink.events).to.deep.equal([frameEvent(SETTINGS_EMPTY), pingEvent(1)]);
      expect(reader.isPaused).to.equal(true);
      expect(reader.bufferedBytes).to.equal(2 * 17);

      const partial = ping(5);
      reader.push(ping(4));
      reader.push(partial.subarray(0, 10));
      expect(sink.events).to.have.length(2);
      expect(reader.bufferedBytes).to.equal(3 * 17 + 10);

      sink.onEachFrame = () => {};
      reader.resume();
      expect(reader.isPaused).to.equal(false);
      expect(sink.events).to.deep.equal([frameEvent(SETTINGS_EMPTY), pingEvent(1), pingEvent(2), pingEvent(3), pingEvent(4)]);
      expect(reader.bufferedBytes).to.equal(10);

      reader.push(partial.subarray(10));
      expect(sink.events.at(-1)).to.deep.equal(pingEvent(5));
      expect(reader.bufferedBytes).to.equal(0);
    });

    it('paused before any data: nothing is parsed, not even the preface', () => {
      const sink = new RecordingSink();
      const reader = new FrameReader(sink, { expectPreface: true });
      reader.pause();
      reader.push(b('definitely not a preface'));
      reader.push(b('!'));
      expect(sink.events).to.deep.equal([]);
      expect(reader.bufferedBytes).to.equal(25);
      reader.resume();
      expect(sink.events).to.deep.equal([connectionError(ErrorCode.PROTOCOL_ERROR)]);
    });

    it('a paused reader still assembles a header block in order after resume', () => {
      const sink = new RecordingSink();
      const reader = new FrameReader(sink, { expectPreface: true });
      reader.push(START);
      reader.pause();
      reader.push(Buffer.concat([frames.headers(1, 'a', { endHeaders: false }), frames.continuation(1, 'b')]));
      reader.push(ping(1));
      expect(sink.events).to.have.length(1);
      reader.resume();
      reader.resume(); // a second resume is a no-op
      expect(sink.events).to.deep.equal([
        frameEvent(SETTINGS_EMPTY),
        frameEvent({ type: FrameType.HEADERS, streamId: 1, endStream: false, endHeaders: true, headerBlock: b('ab') }),
        pingEvent(1),
      ]);
    });
  });

  describe('stop()', () => {
    it('delivers nothing more and keeps nothing buffered', () => {
      const sink = new RecordingSink();
      const reader = new FrameReader(sink, { expectPreface: true });
      reader.push(Buffer.concat([START, frames.ping().subarray(0, 5)]));
      expect(reader.bufferedBytes).to.equal(5);
      reader.stop();
      reader.push(frames.ping().subarray(5));
      reader.resume();
      expect(sink.events).to.deep.equal([frameEvent(SETTINGS_EMPTY)]);
      expect(reader.bufferedBytes).to.equal(0);
    });
  });
});
