import { expect } from 'chai';
import fc from 'fast-check';
import { ConnectionError, StreamError, errorCodeName } from '../../lib/transport/errors';
import { encodeFrame } from '../support/encode-frame';
import type { Frame, HeadersFrame, PriorityInfo, PushPromiseFrame } from '../../lib/transport/frame/frame';
import { FrameType } from '../../lib/transport/frame/frame-type';
import { FrameReader } from '../../lib/transport/inbound/frame-reader';
import { PREFACE, frames, plain } from '../support/frames';

const MAX_STREAM_ID = 2 ** 31 - 1;

/** Some frames as written (wire) and the frame(s) a reader must deliver for them. */
interface Written {
  wire: Buffer[];
  expected: Frame;
}

const streamId = fc.integer({ min: 1, max: MAX_STREAM_ID });
const anyStreamId = fc.integer({ min: 0, max: MAX_STREAM_ID });
const uint32 = fc.integer({ min: 0, max: 0xffffffff });
const bytes = (maxLength: number, minLength = 0) => fc.uint8Array({ minLength, maxLength }).map((array) => Buffer.from(array));
const padLength = fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined });
const priorityInfo: fc.Arbitrary<PriorityInfo> = fc.record({
  exclusive: fc.boolean(),
  dependsOn: anyStreamId,
  weight: fc.integer({ min: 1, max: 256 }),
});
const single = (frame: Frame): Written => ({ wire: [encodeFrame(frame)], expected: frame });

/** Splits `block` at up to 3 random points: the first piece goes in the opening frame, the rest in CONTINUATIONs. */
const fragmented = fc.tuple(bytes(120), fc.array(fc.nat(), { maxLength: 3 })).map(([block, cuts]) => {
  const points = cuts.map((cut) => cut % (block.length + 1)).sort((a, b) => a - b);
  return [0, ...points].map((start, index) => block.subarray(start, [...points, block.length][index]));
});

function withContinuations(opening: HeadersFrame | PushPromiseFrame, fragments: Buffer[]): Written {
  const [first, ...rest] = fragments;
  const wire = [encodeFrame({ ...opening, headerBlock: first, endHeaders: rest.length === 0 })];
  rest.forEach((fragment, index) => {
    wire.push(frames.continuation(opening.streamId, fragment, index === rest.length - 1));
  });
  // padLength only shapes the encoding; plain() drops it when comparing.
  return { wire, expected: { ...opening, headerBlock: Buffer.concat(fragments), endHeaders: true } };
}

const anyWritten: fc.Arbitrary<Written> = fc.oneof(
  fc.record({ streamId, endStream: fc.boolean(), data: bytes(100), padLength }).map(({ streamId, endStream, data, padLength }) =>
    single({
      type: FrameType.DATA,
      streamId,
      endStream,
      data,
      padLength,
      flowControlLength: data.length + (padLength === undefined ? 0 : padLength + 1),
    }),
  ),
  fc
    .record({ streamId, endStream: fc.boolean(), priority: fc.option(priorityInfo, { nil: undefined }), padLength, fragments: fragmented })
    .map(({ fragments, ...fields }) => withContinuations({ type: FrameType.HEADERS, ...fields, endHeaders: true, headerBlock: Buffer.alloc(0) }, fragments)),
  fc
    .record({ streamId, priority: priorityInfo })
    .filter(({ streamId, priority }) => priority.dependsOn !== streamId)
    .map(({ streamId, priority }) => single({ type: FrameType.PRIORITY, streamId, priority })),
  fc.record({ streamId, errorCode: uint32 }).map(({ streamId, errorCode }) => single({ type: FrameType.RST_STREAM, streamId, errorCode })),
  fc
    .record({ ack: fc.boolean(), entries: fc.array(fc.record({ id: fc.integer({ min: 0, max: 0xffff }), value: uint32 }), { maxLength: 6 }) })
    .map(({ ack, entries }) => single({ type: FrameType.SETTINGS, streamId: 0, ack, entries: ack ? [] : entries })),
  fc
    .record({ streamId, promisedStreamId: streamId, padLength, fragments: fragmented })
    .map(({ fragments, ...fields }) =>
      withContinuations({ type: FrameType.PUSH_PROMISE, ...fields, endHeaders: true, headerBlock: Buffer.alloc(0) }, fragments),
    ),
  fc.record({ ack: fc.boolean(), data: bytes(8, 8) }).map(({ ack, data }) => single({ type: FrameType.PING, streamId: 0, ack, data })),
  fc.record({ lastStreamId: anyStreamId, errorCode: uint32, debugData: bytes(40) }).map((fields) => single({ type: FrameType.GOAWAY, streamId: 0, ...fields })),
  fc
    .record({ streamId: anyStreamId, increment: fc.integer({ min: 1, max: MAX_STREAM_ID }) })
    .map(({ streamId, increment }) => single({ type: FrameType.WINDOW_UPDATE, streamId, increment })),
  fc
    .record({ frameType: fc.integer({ min: 0x0a, max: 0xff }), flags: fc.integer({ min: 0, max: 0xff }), streamId: anyStreamId, payload: bytes(40) })
    .map((fields) => single({ type: 'unknown', ...fields })),
);

/** Cuts `wire` at random points (possibly repeated, giving empty chunks). */
function chunk(wire: Buffer, cuts: number[]): Buffer[] {
  const points = cuts.map((cut) => cut % (wire.length + 1)).sort((a, b) => a - b);
  return [0, ...points].map((start, index) => wire.subarray(start, [...points, wire.length][index]));
}

type Event = { frame: Frame } | { streamError: StreamError } | { connectionError: ConnectionError };

function readChunks(chunks: Buffer[]): Event[] {
  const events: Event[] = [];
  const reader = new FrameReader(
    {
      onFrame: (frame) => events.push({ frame }),
      onStreamError: (streamError) => events.push({ streamError }),
      onConnectionError: (connectionError) => events.push({ connectionError }),
    },
    { expectPreface: true },
  );
  for (const piece of chunks) reader.push(piece);
  return events;
}

const START = Buffer.concat([PREFACE, frames.settings()]);
const cutsArb = fc.array(fc.nat(), { maxLength: 12 });

/** What must hold whatever bytes arrive: only typed errors, at most one connection error and nothing after it. */
function expectOnlyTypedErrors(events: Event[]): void {
  events.forEach((event, index) => {
    if ('streamError' in event) {
      expect(event.streamError).to.be.instanceOf(StreamError);
      expect(event.streamError.streamId).to.be.greaterThan(0);
    }
    if ('connectionError' in event) {
      expect(event.connectionError).to.be.instanceOf(ConnectionError);
      expect(index, 'a connection error is the last event').to.equal(events.length - 1);
      // INTERNAL_ERROR is what the reader reports when something other than a ConnectionError was thrown.
      expect(errorCodeName(event.connectionError.errorCode)).to.be.oneOf(['PROTOCOL_ERROR', 'FRAME_SIZE_ERROR', 'ENHANCE_YOUR_CALM']);
    }
  });
}

describe('frame encoding and FrameReader (property)', () => {
  it('valid frame sequences, encoded and cut at random chunk boundaries, read back as written', () => {
    fc.assert(
      fc.property(fc.array(anyWritten, { maxLength: 12 }), cutsArb, (written, cuts) => {
        const wire = Buffer.concat([START, ...written.flatMap((item) => item.wire)]);
        const events = readChunks(chunk(wire, cuts));
        const expected = [{ type: FrameType.SETTINGS, streamId: 0, ack: false, entries: [] } as Frame, ...written.map((item) => item.expected)];
        expect(events.map((event) => ('frame' in event ? plain(event.frame) : event))).to.deep.equal(expected.map(plain));
      }),
      { numRuns: 300 },
    );
  });

  it('random bytes after the preface never throw out of push()', () => {
    fc.assert(
      fc.property(bytes(300), cutsArb, (garbage, cuts) => {
        expectOnlyTypedErrors(readChunks(chunk(Buffer.concat([PREFACE, garbage]), cuts)));
        expectOnlyTypedErrors(readChunks(chunk(Buffer.concat([START, garbage]), cuts)));
      }),
      { numRuns: 300 },
    );
  });

  it('random well-framed but arbitrary frames after the preface and SETTINGS never throw out of push()', () => {
    const rawFrame = fc
      .record({
        type: fc.integer({ min: 0, max: 0x0c }),
        flags: fc.integer({ min: 0, max: 0xff }),
        streamId: fc.oneof(fc.constantFrom(0, 1, 3), anyStreamId),
        payload: bytes(24),
      })
      .map(({ type, flags, streamId, payload }) => frames.raw(type, flags, streamId, payload));
    fc.assert(
      fc.property(fc.array(rawFrame, { maxLength: 20 }), cutsArb, (raw, cuts) => {
        const events = readChunks(chunk(Buffer.concat([START, ...raw]), cuts));
        expect(events.length).to.be.greaterThan(0);
        expectOnlyTypedErrors(events);
      }),
      { numRuns: 400 },
    );
  });
});
