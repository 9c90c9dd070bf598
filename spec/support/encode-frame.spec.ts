import { expect } from 'chai';
import { encodeFrame, framePayload } from './encode-frame';
import type { Frame } from '../../lib/transport/frame/frame';
import { FrameFlag, FrameType } from '../../lib/transport/frame/frame-type';
import { SettingId } from '../../lib/transport/settings';
import { decodeOne, plain } from './frames';

const MAX_STREAM_ID = 2 ** 31 - 1;
const b = (text: string): Buffer => Buffer.from(text, 'latin1');

describe('encodeFrame', () => {
  describe('wire layout (RFC 9113 §4.1, §6)', () => {
    it('writes the 9-byte header: 24-bit length, type, flags, 31-bit stream id', () => {
      const wire = encodeFrame({ type: FrameType.DATA, streamId: 0x01020304, endStream: true, data: Buffer.alloc(70000), flowControlLength: 70000 });
      expect(wire.length).to.equal(9 + 70000);
      expect([...wire.subarray(0, 9)]).to.deep.equal([0x01, 0x11, 0x70, 0x00, 0x01, 0x01, 0x02, 0x03, 0x04]);
    });

    it('clears the reserved bit of the stream id', () => {
      const wire = encodeFrame({ type: FrameType.WINDOW_UPDATE, streamId: 0x80000005, increment: 1 });
      expect(wire.readUInt32BE(5)).to.equal(5);
    });

    it('DATA with padding: pad length octet, data, zeroed padding, PADDED|END_STREAM', () => {
      const wire = encodeFrame({ type: FrameType.DATA, streamId: 1, endStream: true, data: b('ab'), flowControlLength: 6, padLength: 3 });
      expect(wire.toString('hex')).to.equal('000006' + '00' + '09' + '00000001' + '03' + '6162' + '000000');
    });

    it('DATA with padLength 0 still sets PADDED and writes the pad length octet', () => {
      const wire = encodeFrame({ type: FrameType.DATA, streamId: 1, endStream: false, data: b('x'), flowControlLength: 2, padLength: 0 });
      expect(wire.toString('hex')).to.equal('000002' + '00' + '08' + '00000001' + '00' + '78');
    });

    it('HEADERS with padding and priority: pad length, E|dependency, weight-1, block, padding', () => {
      const wire = encodeFrame({
        type: FrameType.HEADERS,
        streamId: 3,
        endStream: true,
        endHeaders: true,
        headerBlock: b('hb'),
        priority: { exclusive: true, dependsOn: 1, weight: 256 },
        padLength: 2,
      });
      const flags = FrameFlag.PADDED | FrameFlag.PRIORITY | FrameFlag.END_HEADERS | FrameFlag.END_STREAM;
      expect(flags).to.equal(0x2d);
      expect(wire.toString('hex')).to.equal('00000a' + '01' + '2d' + '00000003' + '02' + '80000001' + 'ff' + '6862' + '0000');
    });

    it('PRIORITY: a non-exclusive dependency with weight 1 is written as weight 0', () => {
      const wire = encodeFrame({ type: FrameType.PRIORITY, streamId: 5, priority: { exclusive: false, dependsOn: MAX_STREAM_ID, weight: 1 } });
      expect(wire.toString('hex')).to.equal('000005' + '02' + '00' + '00000005' + '7fffffff' + '00');
    });

    it('SETTINGS: six octets per entry; ACK is flag 0x1 with an empty payload', () => {
      const wire = encodeFrame({
        type: FrameType.SETTINGS,
        streamId: 0,
        ack: false,
        entries: [
          { id: SettingId.INITIAL_WINDOW_SIZE, value: 0x7fffffff },
          { id: 0xffff, value: 0xffffffff },
        ],
      });
      expect(wire.toString('hex')).to.equal('00000c' + '04' + '00' + '00000000' + '0004' + '7fffffff' + 'ffff' + 'ffffffff');
      expect(encodeFrame({ type: FrameType.SETTINGS, streamId: 0, ack: true, entries: [] }).toString('hex')).to.equal('000000' + '04' + '01' + '00000000');
    });

    it('PUSH_PROMISE: padded, promised stream id before the header block', () => {
      const wire = encodeFrame({ type: FrameType.PUSH_PROMISE, streamId: 1, promisedStreamId: 2, endHeaders: true, headerBlock: b('h'), padLength: 1 });
      expect(wire.toString('hex')).to.equal('000007' + '05' + '0c' + '00000001' + '01' + '00000002' + '68' + '00');
    });

    it('RST_STREAM, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION and an unknown type', () => {
      expect(encodeFrame({ type: FrameType.RST_STREAM, streamId: 7, errorCode: 0xffffffff }).toString('hex')).to.equal('000004030000000007ffffffff');
      expect(encodeFrame({ type: FrameType.PING, streamId: 0, ack: true, data: b('12345678') }).toString('hex')).to.equal(
        '000008060100000000' + b('12345678').toString('hex'),
      );
      expect(encodeFrame({ type: FrameType.GOAWAY, streamId: 0, lastStreamId: 9, errorCode: 2, debugData: b('x') }).toString('hex')).to.equal(
        '000009070000000000' + '00000009' + '00000002' + '78',
      );
      expect(encodeFrame({ type: FrameType.WINDOW_UPDATE, streamId: 0, increment: MAX_STREAM_ID }).toString('hex')).to.equal('0000040800000000007fffffff');
      expect(encodeFrame({ type: FrameType.CONTINUATION, streamId: 1, endHeaders: true, headerBlock: b('c') }).toString('hex')).to.equal(
        '00000109040000000163',
      );
      expect(encodeFrame({ type: 'unknown', frameType: 0xfa, flags: 0xff, streamId: 2, payload: b('?') }).toString('hex')).to.equal('000001faff000000023f');
    });

    it('framePayload gives the header fields and payload parts without the 9-byte header', () => {
      const encoded = framePayload({ type: FrameType.DATA, streamId: 9, endStream: true, data: b('abc'), flowControlLength: 5, padLength: 1 });
      expect(encoded.type).to.equal(FrameType.DATA);
      expect(encoded.streamId).to.equal(9);
      expect(encoded.flags).to.equal(FrameFlag.PADDED | FrameFlag.END_STREAM);
      expect(Buffer.concat(encoded.parts).toString('hex')).to.equal('01' + '616263' + '00');
    });
  });

  describe('round trip: encodeFrame → readFrameHeader + decodeFrame', () => {
    const cases: Array<[string, Frame]> = [
      ['DATA', { type: FrameType.DATA, streamId: 1, endStream: false, data: b('hello'), flowControlLength: 5 }],
      ['DATA, empty, END_STREAM', { type: FrameType.DATA, streamId: MAX_STREAM_ID, endStream: true, data: Buffer.alloc(0), flowControlLength: 0 }],
      ['DATA, padded', { type: FrameType.DATA, streamId: 3, endStream: true, data: b('padded'), flowControlLength: 6 + 1 + 7, padLength: 7 }],
      ['DATA, padLength 0', { type: FrameType.DATA, streamId: 3, endStream: false, data: b('p'), flowControlLength: 2, padLength: 0 }],
      ['DATA, padLength 255', { type: FrameType.DATA, streamId: 3, endStream: false, data: b(''), flowControlLength: 256, padLength: 255 }],
      ['HEADERS', { type: FrameType.HEADERS, streamId: 1, endStream: false, endHeaders: true, headerBlock: b('\x82\x86\x84') }],
      ['HEADERS, END_STREAM, no END_HEADERS', { type: FrameType.HEADERS, streamId: 5, endStream: true, endHeaders: false, headerBlock: b('abc') }],
      ['HEADERS, padded', { type: FrameType.HEADERS, streamId: 1, endStream: false, endHeaders: true, headerBlock: b('block'), padLength: 10 }],
      [
        'HEADERS, priority',
        {
          type: FrameType.HEADERS,
          streamId: 7,
          endStream: false,
          endHeaders: true,
          headerBlock: b('block'),
          priority: { exclusive: true, dependsOn: MAX_STREAM_ID, weight: 256 },
        },
      ],
      [
        'HEADERS, padded + priority, empty block',
        {
          type: FrameType.HEADERS,
          streamId: 7,
          endStream: true,
          endHeaders: true,
          headerBlock: b(''),
          priority: { exclusive: false, dependsOn: 0, weight: 1 },
          padLength: 4,
        },
      ],
      ['PRIORITY, exclusive', { type: FrameType.PRIORITY, streamId: 3, priority: { exclusive: true, dependsOn: 1, weight: 1 } }],
      ['PRIORITY, weight 256', { type: FrameType.PRIORITY, streamId: 3, priority: { exclusive: false, dependsOn: MAX_STREAM_ID, weight: 256 } }],
      ['RST_STREAM', { type: FrameType.RST_STREAM, streamId: 1, errorCode: 0x8 }],
      ['RST_STREAM, unknown code', { type: FrameType.RST_STREAM, streamId: 1, errorCode: 0xffffffff }],
      ['SETTINGS, empty', { type: FrameType.SETTINGS, streamId: 0, ack: false, entries: [] }],
      [
        'SETTINGS, entries',
        {
          type: FrameType.SETTINGS,
          streamId: 0,
          ack: false,
          entries: [
            { id: SettingId.HEADER_TABLE_SIZE, value: 0 },
            { id: SettingId.MAX_FRAME_SIZE, value: 2 ** 24 - 1 },
            { id: 0xabcd, value: 0xffffffff },
          ],
        },
      ],
      ['SETTINGS, ACK', { type: FrameType.SETTINGS, streamId: 0, ack: true, entries: [] }],
      ['PUSH_PROMISE', { type: FrameType.PUSH_PROMISE, streamId: 1, promisedStreamId: 2, endHeaders: true, headerBlock: b('pp') }],
      [
        'PUSH_PROMISE, padded, no END_HEADERS',
        { type: FrameType.PUSH_PROMISE, streamId: 3, promisedStreamId: MAX_STREAM_ID - 1, endHeaders: false, headerBlock: b('pp'), padLength: 3 },
      ],
      ['PING', { type: FrameType.PING, streamId: 0, ack: false, data: b('\x00\x01\x02\x03\x04\x05\x06\x07') }],
      ['PING, ACK', { type: FrameType.PING, streamId: 0, ack: true, data: b('ABCDEFGH') }],
      ['GOAWAY', { type: FrameType.GOAWAY, streamId: 0, lastStreamId: MAX_STREAM_ID, errorCode: 0xb, debugData: b('calm down') }],
      ['GOAWAY, no debug data', { type: FrameType.GOAWAY, streamId: 0, lastStreamId: 0, errorCode: 0xffffffff, debugData: Buffer.alloc(0) }],
      ['WINDOW_UPDATE, connection', { type: FrameType.WINDOW_UPDATE, streamId: 0, increment: 1 }],
      ['WINDOW_UPDATE, stream', { type: FrameType.WINDOW_UPDATE, streamId: 9, increment: MAX_STREAM_ID }],
      ['CONTINUATION', { type: FrameType.CONTINUATION, streamId: 1, endHeaders: true, headerBlock: b('cont') }],
      ['CONTINUATION, empty, no END_HEADERS', { type: FrameType.CONTINUATION, streamId: 1, endHeaders: false, headerBlock: Buffer.alloc(0) }],
      ['unknown type', { type: 'unknown', frameType: 0x0a, flags: 0, streamId: 0, payload: b('') }],
      ['unknown type, flags and payload', { type: 'unknown', frameType: 0xff, flags: 0xff, streamId: 11, payload: b('extension') }],
    ];

    for (const [name, frame] of cases) {
      it(name, () => {
        expect(plain(decodeOne(encodeFrame(frame)))).to.deep.equal(plain(frame));
      });
    }

    it('covers every frame type of RFC 9113 §6 plus an unknown one', () => {
      const types = new Set(cases.map(([, frame]) => frame.type));
      expect([...types].sort()).to.deep.equal([...Object.values(FrameType), 'unknown'].sort());
    });
  });
});
