import { expect } from 'chai';
import { ConnectionError, ErrorCode, StreamError, errorCodeName } from '../../../lib/transport/errors';
import type { Frame } from '../../../lib/transport/frame/frame';
import { FrameFlag, FrameType } from '../../../lib/transport/frame/frame-type';
import { decodeOne, frames, plain } from '../../support/frames';

const { DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION } = FrameType;
const { END_STREAM, ACK, END_HEADERS, PADDED, PRIORITY: PRIORITY_FLAG } = FrameFlag;

function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  expect.fail('expected an error to be thrown');
}

function expectConnectionError(wire: Buffer, errorCode: number): void {
  const error = thrownBy(() => decodeOne(wire));
  expect(error).to.be.instanceOf(ConnectionError);
  expect(errorCodeName((error as ConnectionError).errorCode)).to.equal(errorCodeName(errorCode));
}

function expectStreamError(wire: Buffer, streamId: number, errorCode: number): void {
  const error = thrownBy(() => decodeOne(wire));
  expect(error).to.be.instanceOf(StreamError);
  expect((error as StreamError).streamId).to.equal(streamId);
  expect(errorCodeName((error as StreamError).errorCode)).to.equal(errorCodeName(errorCode));
}

function expectDecoded(wire: Buffer, expected: Frame): void {
  expect(plain(decodeOne(wire))).to.deep.equal(plain(expected));
}

const priorityBytes = [0x80, 0, 0, 0x01, 0xff]; // exclusive, depends on 1, weight 256

describe('decodeFrame', () => {
  describe('valid frames built byte by byte', () => {
    it('DATA: strips padding; flowControlLength is the whole payload', () => {
      expectDecoded(frames.raw(DATA, PADDED | END_STREAM, 1, [2, 0x61, 0x62, 0, 0]), {
        type: DATA,
        streamId: 1,
        endStream: true,
        data: Buffer.from('ab'),
        flowControlLength: 5,
      });
    });

    it('DATA: padding of payload length - 1 leaves empty data', () => {
      expectDecoded(frames.raw(DATA, PADDED, 1, [3, 0, 0, 0]), { type: DATA, streamId: 1, endStream: false, data: Buffer.alloc(0), flowControlLength: 4 });
    });

    it('HEADERS: pad length, then priority, then the header block, then padding', () => {
      expectDecoded(frames.raw(HEADERS, PADDED | PRIORITY_FLAG | END_HEADERS, 3, [1, ...priorityBytes, 0x82, 0x86, 0]), {
        type: HEADERS,
        streamId: 3,
        endStream: false,
        endHeaders: true,
        headerBlock: Buffer.from([0x82, 0x86]),
        priority: { exclusive: true, dependsOn: 1, weight: 256 },
      });
    });

    it('HEADERS: PRIORITY with exactly 5 octets gives an empty block', () => {
      const frame = decodeOne(frames.raw(HEADERS, PRIORITY_FLAG, 3, [0, 0, 0, 5, 0]));
      expect(plain(frame)).to.deep.include({ headerBlock: '', priority: { exclusive: false, dependsOn: 5, weight: 1 }, endHeaders: false });
    });

    it('PUSH_PROMISE: padded; the reserved bit of the promised stream id is ignored', () => {
      expectDecoded(frames.raw(PUSH_PROMISE, PADDED | END_HEADERS, 1, [1, 0x80, 0, 0, 2, 0x68, 0]), {
        type: PUSH_PROMISE,
        streamId: 1,
        promisedStreamId: 2,
        endHeaders: true,
        headerBlock: Buffer.from('h'),
      });
    });

    it('SETTINGS: one entry per six octets, unknown ids kept', () => {
      expectDecoded(frames.raw(SETTINGS, 0, 0, [0, 4, 0, 1, 0, 0, 0xab, 0xcd, 0xff, 0xff, 0xff, 0xff]), {
        type: SETTINGS,
        streamId: 0,
        ack: false,
        entries: [
          { id: 4, value: 0x10000 },
          { id: 0xabcd, value: 0xffffffff },
        ],
      });
      expectDecoded(frames.raw(SETTINGS, ACK, 0), { type: SETTINGS, streamId: 0, ack: true, entries: [] });
    });

    it('GOAWAY and WINDOW_UPDATE: reserved bits are ignored', () => {
      expectDecoded(frames.raw(GOAWAY, 0, 0, [0x80, 0, 0, 7, 0, 0, 0, 1, 0x64]), {
        type: GOAWAY,
        streamId: 0,
        lastStreamId: 7,
        errorCode: 1,
        debugData: Buffer.from('d'),
      });
      expectDecoded(frames.raw(WINDOW_UPDATE, 0, 5, [0x80, 0, 0, 1]), { type: WINDOW_UPDATE, streamId: 5, increment: 1 });
    });

    it('the reserved bit of the stream id in the frame header is ignored', () => {
      const wire = frames.rstStream(3, ErrorCode.CANCEL);
      wire[5] |= 0x80;
      expectDecoded(wire, { type: RST_STREAM, streamId: 3, errorCode: ErrorCode.CANCEL });
    });

    it('flags a frame type does not define are ignored', () => {
      expectDecoded(frames.raw(PING, 0xfe, 0, '12345678'), { type: PING, streamId: 0, ack: false, data: Buffer.from('12345678') });
      expectDecoded(frames.raw(DATA, END_HEADERS | PRIORITY_FLAG, 1, 'x'), {
        type: DATA,
        streamId: 1,
        endStream: false,
        data: Buffer.from('x'),
        flowControlLength: 1,
      });
    });

    it('an unknown type becomes an unknown frame, whatever its stream, flags or payload (§4.1)', () => {
      expectDecoded(frames.raw(0x0a, 0xff, 0, 'anything'), { type: 'unknown', frameType: 0x0a, flags: 0xff, streamId: 0, payload: Buffer.from('anything') });
      expectDecoded(frames.raw(0xff, 0, 9), { type: 'unknown', frameType: 0xff, flags: 0, streamId: 9, payload: Buffer.alloc(0) });
    });
  });

  describe('RFC 9113 §6 MUSTs', () => {
    describe('frames that need a stream: stream 0 is a connection error PROTOCOL_ERROR', () => {
      const onStreamZero: Array<[string, Buffer]> = [
        ['DATA (§6.1)', frames.raw(DATA, 0, 0, 'data')],
        ['HEADERS (§6.2)', frames.raw(HEADERS, END_HEADERS, 0, [0x82])],
        ['PRIORITY (§6.3)', frames.raw(PRIORITY, 0, 0, [0, 0, 0, 1, 15])],
        ['RST_STREAM (§6.4)', frames.raw(RST_STREAM, 0, 0, [0, 0, 0, 8])],
        ['PUSH_PROMISE (§6.6)', frames.raw(PUSH_PROMISE, END_HEADERS, 0, [0, 0, 0, 2, 0x82])],
        ['CONTINUATION (§6.10)', frames.raw(CONTINUATION, END_HEADERS, 0, [0x82])],
      ];
      for (const [name, wire] of onStreamZero) {
        it(name, () => expectConnectionError(wire, ErrorCode.PROTOCOL_ERROR));
      }
    });

    describe('connection frames: a non-zero stream is a connection error PROTOCOL_ERROR', () => {
      const onAStream: Array<[string, Buffer]> = [
        ['SETTINGS (§6.5)', frames.raw(SETTINGS, 0, 1)],
        ['SETTINGS ACK (§6.5)', frames.raw(SETTINGS, ACK, 3)],
        ['PING (§6.7)', frames.raw(PING, 0, 1, '12345678')],
        ['GOAWAY (§6.8)', frames.raw(GOAWAY, 0, 1, [0, 0, 0, 0, 0, 0, 0, 0])],
      ];
      for (const [name, wire] of onAStream) {
        it(name, () => expectConnectionError(wire, ErrorCode.PROTOCOL_ERROR));
      }
    });

    it('SETTINGS with ACK and a payload: FRAME_SIZE_ERROR (§6.5)', () => {
      expectConnectionError(frames.raw(SETTINGS, ACK, 0, [0, 1, 0, 0, 0x10, 0]), ErrorCode.FRAME_SIZE_ERROR);
    });

    for (const length of [1, 5, 7, 13]) {
      it(`SETTINGS of length ${length} (not a multiple of 6): FRAME_SIZE_ERROR (§6.5)`, () => {
        expectConnectionError(frames.raw(SETTINGS, 0, 0, Buffer.alloc(length)), ErrorCode.FRAME_SIZE_ERROR);
      });
    }

    for (const length of [0, 7, 9, 16]) {
      it(`PING of length ${length}: FRAME_SIZE_ERROR (§6.7)`, () => {
        expectConnectionError(frames.raw(PING, 0, 0, Buffer.alloc(length)), ErrorCode.FRAME_SIZE_ERROR);
        expectConnectionError(frames.raw(PING, ACK, 0, Buffer.alloc(length)), ErrorCode.FRAME_SIZE_ERROR);
      });
    }

    for (const length of [0, 3, 5]) {
      it(`RST_STREAM of length ${length}: connection error FRAME_SIZE_ERROR (§6.4)`, () => {
        expectConnectionError(frames.raw(RST_STREAM, 0, 1, Buffer.alloc(length)), ErrorCode.FRAME_SIZE_ERROR);
      });
      it(`WINDOW_UPDATE of length ${length}: connection error FRAME_SIZE_ERROR, on stream 0 or a stream (§6.9)`, () => {
        expectConnectionError(frames.raw(WINDOW_UPDATE, 0, 0, Buffer.alloc(length, 1)), ErrorCode.FRAME_SIZE_ERROR);
        expectConnectionError(frames.raw(WINDOW_UPDATE, 0, 1, Buffer.alloc(length, 1)), ErrorCode.FRAME_SIZE_ERROR);
      });
    }

    it('WINDOW_UPDATE increment 0 on a stream: stream error PROTOCOL_ERROR (§6.9)', () => {
      expectStreamError(frames.raw(WINDOW_UPDATE, 0, 7, [0, 0, 0, 0]), 7, ErrorCode.PROTOCOL_ERROR);
    });

    it('WINDOW_UPDATE increment 0 on the connection: connection error PROTOCOL_ERROR (§6.9)', () => {
      expectConnectionError(frames.raw(WINDOW_UPDATE, 0, 0, [0, 0, 0, 0]), ErrorCode.PROTOCOL_ERROR);
    });

    it('WINDOW_UPDATE with only the reserved bit set is an increment of 0', () => {
      expectStreamError(frames.raw(WINDOW_UPDATE, 0, 7, [0x80, 0, 0, 0]), 7, ErrorCode.PROTOCOL_ERROR);
    });

    describe('padding as long as the payload or longer: connection error PROTOCOL_ERROR (§6.1, §6.2, §6.6)', () => {
      const cases: Array<[string, Buffer]> = [
        ['DATA, pad length = payload length', frames.raw(DATA, PADDED, 1, [4, 0x61, 0, 0])],
        ['DATA, pad length 255 in a 1-octet payload', frames.raw(DATA, PADDED, 1, [255])],
        ['DATA, pad length 1 in a 1-octet payload', frames.raw(DATA, PADDED, 1, [1])],
        ['HEADERS, pad length > payload', frames.raw(HEADERS, PADDED | END_HEADERS, 1, [3, 0x82, 0])],
        ['PUSH_PROMISE, pad length = payload length', frames.raw(PUSH_PROMISE, PADDED | END_HEADERS, 1, [6, 0, 0, 0, 2, 0])],
      ];
      for (const [name, wire] of cases) {
        it(name, () => expectConnectionError(wire, ErrorCode.PROTOCOL_ERROR));
      }
    });

    // RFC 9113 §6.2: "Padding that exceeds the size remaining for the field block fragment MUST be
    // treated as a PROTOCOL_ERROR." With PRIORITY set, 5 octets of the payload are not fragment.
    it('HEADERS with PRIORITY whose padding eats into the priority fields: PROTOCOL_ERROR (§6.2)', () => {
      // pad length 1, 5 priority octets, no room left for the 1 octet of padding
      expectConnectionError(frames.raw(HEADERS, PADDED | PRIORITY_FLAG | END_HEADERS, 1, [1, 0, 0, 0, 0, 15]), ErrorCode.PROTOCOL_ERROR);
    });

    it('PADDED with an empty payload (no room for the pad length): FRAME_SIZE_ERROR (§4.2)', () => {
      expectConnectionError(frames.raw(DATA, PADDED, 1), ErrorCode.FRAME_SIZE_ERROR);
      expectConnectionError(frames.raw(HEADERS, PADDED | END_HEADERS, 1), ErrorCode.FRAME_SIZE_ERROR);
      expectConnectionError(frames.raw(PUSH_PROMISE, PADDED | END_HEADERS, 1), ErrorCode.FRAME_SIZE_ERROR);
    });

    it('frames too short for their mandatory fields: FRAME_SIZE_ERROR (§4.2)', () => {
      expectConnectionError(frames.raw(HEADERS, PRIORITY_FLAG | END_HEADERS, 1, [0, 0, 0, 0]), ErrorCode.FRAME_SIZE_ERROR);
      expectConnectionError(frames.raw(PUSH_PROMISE, END_HEADERS, 1, [0, 0, 2]), ErrorCode.FRAME_SIZE_ERROR);
      expectConnectionError(frames.raw(GOAWAY, 0, 0, [0, 0, 0, 0, 0, 0, 0]), ErrorCode.FRAME_SIZE_ERROR);
    });

    for (const length of [0, 4, 6]) {
      it(`PRIORITY of length ${length}: stream error FRAME_SIZE_ERROR (§6.3)`, () => {
        expectStreamError(frames.raw(PRIORITY, 0, 5, Buffer.alloc(length)), 5, ErrorCode.FRAME_SIZE_ERROR);
      });
    }

    it('PRIORITY making a stream depend on itself: stream error PROTOCOL_ERROR (§5.3.1)', () => {
      expectStreamError(frames.priority(5, { dependsOn: 5 }), 5, ErrorCode.PROTOCOL_ERROR);
      expectStreamError(frames.priority(5, { dependsOn: 5, exclusive: true }), 5, ErrorCode.PROTOCOL_ERROR);
    });
  });
});
