import { expect } from 'chai';
import fc from 'fast-check';
import { ConnectionError, ErrorCode } from '../../../lib/transport/errors';
import { ReceiveWindow } from '../../../lib/transport/flow-control';
import type { DataFrame, Frame, HeadersFrame } from '../../../lib/transport/frame/frame';
import { FrameType } from '../../../lib/transport/frame/frame-type';
import { HeaderBlockDecoder, HeaderBlockEncoder, HeaderTemplate, type HeaderList } from '../../../lib/transport/hpack/header-block';
import { FrameReader } from '../../../lib/transport/inbound/frame-reader';
import { ControlBuffer } from '../../../lib/transport/outbound/control-buffer';
import type { ControlItem } from '../../../lib/transport/outbound/control-item';
import { FrameWriter } from '../../../lib/transport/outbound/frame-writer';
import { LoopyWriter, type LoopyHost } from '../../../lib/transport/outbound/loopy-writer';
import { MAX_MAX_FRAME_SIZE, MAX_WINDOW_SIZE, SettingId } from '../../../lib/transport/settings';
import { Http2Stream, type StreamHost } from '../../../lib/transport/stream/http2-stream';
import { FakeSocket } from '../../support/fake-socket';
import { frames as frameBuilder } from '../../support/frames';

class RecordingLoopyHost implements LoopyHost {
  readonly connectionErrors: ConnectionError[] = [];
  readonly streamErrors: number[] = [];
  readonly failures: unknown[] = [];
  closed = 0;
  connectionError(error: ConnectionError): void {
    this.connectionErrors.push(error);
  }
  streamFlowControlError(streamId: number): void {
    this.streamErrors.push(streamId);
  }
  closeSocket(): void {
    this.closed++;
  }
  writerFailed(error: unknown): void {
    this.failures.push(error);
  }
  writeBlocked(): void {}
}

class RecordingStreamHost implements StreamHost {
  readonly consumedCalls: [number, number][] = [];
  readonly closedStreams: number[] = [];
  readonly queuedDeltas: number[] = [];
  constructor(private readonly buffer: ControlBuffer) {}
  put(item: ControlItem): boolean {
    return this.buffer.put(item);
  }
  consumed(stream: Http2Stream, bytes: number): void {
    this.consumedCalls.push([stream.id, bytes]);
  }
  streamReleased(): void {}
  readonly maxSendHeaderListSize = Infinity;
  spendWrite(): boolean {
    return true;
  }
  queueDrain(stream: Http2Stream): void {
    stream.deliverDrain();
  }
  exemptFromDataRate(): void {}

  streamClosed(stream: Http2Stream): void {
    this.closedStreams.push(stream.id);
  }
  queuedBytesChanged(delta: number): void {
    this.queuedDeltas.push(delta);
  }
}

/** A LoopyWriter running over a fake socket, and a parser for what it wrote. */
class Harness {
  readonly socket = new FakeSocket();
  readonly buffer = new ControlBuffer();
  readonly framer = new FrameWriter(this.socket);
  readonly encoder = new HeaderBlockEncoder();
  readonly host = new RecordingLoopyHost();
  readonly loopy = new LoopyWriter(this.buffer, this.framer, this.encoder, this.host);
  readonly streamHost = new RecordingStreamHost(this.buffer);
  readonly running: Promise<void>;
  private readonly decoder = new HeaderBlockDecoder();
  private parsedChunks = 0;
  private reader: FrameReader;
  private readonly parsed: Frame[] = [];
  private consumedFrames = 0;

  constructor() {
    this.reader = new FrameReader(
      {
        onFrame: (frame) => this.parsed.push(frame),
        onStreamError: (error) => expect.fail(String(error)),
        onConnectionError: (error) => expect.fail(String(error)),
      },
      { expectPreface: false, maxFrameSize: MAX_MAX_FRAME_SIZE },
    );
    // The reader insists on a SETTINGS frame first, as a connection starts.
    this.reader.push(frameBuilder.settings());
    this.parsed.length = 0;
    this.running = this.loopy.run();
  }

  /**
   * A stream the peer opened (as on a server): registered with the writer before any headers. It
   * is not reset after our END_STREAM (as a server's would be while the peer still sends), so the
   * writer's frames are all there is, unless `resetAfterEnd` asks for it.
   */
  stream(id: number, writeQuota = 1 << 30, resetAfterEnd: number | null = null): Http2Stream {
    const stream = new Http2Stream(id, this.streamHost, new ReceiveWindow(65535), writeQuota, { state: 'open', headers: [], by: 'remote' });
    stream.resetAfterEnd(resetAfterEnd);
    this.put({ kind: 'registerStream', streamId: id, events: stream });
    return stream;
  }

  /** A stream we open (as on a client): the peer knows it only once our HEADERS are written. */
  localStream(id: number): Http2Stream {
    return new Http2Stream(id, this.streamHost, new ReceiveWindow(65535), 1 << 30, { state: 'open', headers: [], by: 'local' });
  }

  put(item: ControlItem): void {
    expect(this.buffer.put(item)).to.equal(true);
  }

  windowUpdate(streamId: number, increment: number): void {
    this.put({ kind: 'incomingWindowUpdate', streamId, increment });
  }

  settings(entries: { id: number; value: number }[]): void {
    this.put({ kind: 'incomingSettings', entries });
  }

  /** Lets the writer run (microtasks and one macrotask turn) until the control buffer is empty. */
  async settle(): Promise<void> {
    do {
      await new Promise(setImmediate);
    } while (this.buffer.size > 0 && this.host.failures.length === 0);
    expect(this.host.failures, 'writer failures').to.deep.equal([]);
  }

  /** Frames written since the last call (CONTINUATIONs joined into their HEADERS). */
  newFrames(): Frame[] {
    for (; this.parsedChunks < this.socket.chunks.length; this.parsedChunks++) this.reader.push(this.socket.chunks[this.parsedChunks]);
    const out = this.parsed.slice(this.consumedFrames);
    this.consumedFrames = this.parsed.length;
    return out;
  }

  decode(frame: HeadersFrame): HeaderList {
    return this.decoder.decode(frame.headerBlock, Infinity).headers;
  }

  async stop(): Promise<void> {
    this.buffer.finish();
    await this.running;
  }
}

const dataFrames = (frames: Frame[]): DataFrame[] => frames.filter((frame): frame is DataFrame => frame.type === FrameType.DATA);
const describeFrame = (frame: Frame): string => {
  switch (frame.type) {
    case FrameType.DATA:
      return `DATA(${frame.streamId},${frame.data.length}${frame.endStream ? ',ES' : ''})`;
    case FrameType.HEADERS:
      return `HEADERS(${frame.streamId}${frame.endStream ? ',ES' : ''})`;
    case FrameType.SETTINGS:
      return frame.ack ? 'SETTINGS(ACK)' : 'SETTINGS';
    case FrameType.RST_STREAM:
      return `RST_STREAM(${frame.streamId},${frame.errorCode})`;
    case FrameType.WINDOW_UPDATE:
      return `WINDOW_UPDATE(${frame.streamId},${frame.increment})`;
    case FrameType.PING:
      return frame.ack ? 'PING(ACK)' : 'PING';
    default:
      return String(frame.type);
  }
};
const bytesPerStream = (frames: Frame[]): Map<number, number> => {
  const totals = new Map<number, number>();
  for (const frame of dataFrames(frames)) totals.set(frame.streamId, (totals.get(frame.streamId) ?? 0) + frame.data.length);
  return totals;
};
const sum = (values: Iterable<number>): number => {
  let total = 0;
  for (const value of values) total += value;
  return total;
};

function pattern(length: number, seed: number): Buffer {
  const buffer = Buffer.alloc(length);
  for (let index = 0; index < length; index++) buffer[index] = (index * 7 + seed * 13) & 0xff;
  return buffer;
}

const BIG = 1 << 24;

describe('LoopyWriter', () => {
  let h: Harness;

  beforeEach(() => {
    h = new Harness();
  });

  afterEach(async () => {
    await h.stop();
  });

  it('answers incoming SETTINGS with a SETTINGS ACK', async () => {
    h.settings([]);
    h.settings([{ id: SettingId.MAX_CONCURRENT_STREAMS, value: 10 }]);
    await h.settle();
    expect(h.newFrames().map(describeFrame)).to.deep.equal(['SETTINGS(ACK)', 'SETTINGS(ACK)']);
  });

  it('writes outgoing SETTINGS, PING, WINDOW_UPDATE and GOAWAY items as frames', async () => {
    h.put({ kind: 'outgoingSettings', entries: [{ id: SettingId.INITIAL_WINDOW_SIZE, value: 1 << 20 }] });
    h.put({ kind: 'ping', ack: true, data: Buffer.from('pingpong') });
    h.put({ kind: 'outgoingWindowUpdate', streamId: 0, increment: 1000 });
    await h.settle();
    expect(h.newFrames().map(describeFrame)).to.deep.equal(['SETTINGS', 'PING(ACK)', 'WINDOW_UPDATE(0,1000)']);
    h.put({ kind: 'goAway', lastStreamId: 5, errorCode: ErrorCode.NO_ERROR, debugData: Buffer.alloc(0), closeConnection: true });
    await h.running;
    expect(h.host.closed).to.equal(1);
    const [goAway] = h.newFrames();
    expect(goAway).to.deep.include({ type: FrameType.GOAWAY, lastStreamId: 5, errorCode: ErrorCode.NO_ERROR });
  });

  it('sends DATA round robin across streams, each frame at most the peer max frame size', async () => {
    h.settings([{ id: SettingId.INITIAL_WINDOW_SIZE, value: 1 << 20 }]);
    h.windowUpdate(0, 1 << 20);
    const streams = [1, 3, 5].map((id) => h.stream(id));
    const payloads = streams.map((stream) => pattern(64 * 1024, stream.id));
    streams.forEach((stream, index) => stream.write(payloads[index]));
    await h.settle();

    const frames = h.newFrames();
    expect(describeFrame(frames[0])).to.equal('SETTINGS(ACK)');
    const data = dataFrames(frames);
    const order = data.map((frame) => frame.streamId);
    expect(order).to.deep.equal([1, 3, 5, 1, 3, 5, 1, 3, 5, 1, 3, 5]);
    for (const frame of data) {
      expect(frame.data.length).to.be.at.most(16384);
      expect(frame.data.length).to.be.greaterThan(0);
    }
    streams.forEach((stream, index) => {
      const sent = Buffer.concat(data.filter((frame) => frame.streamId === stream.id).map((frame) => frame.data));
      expect(sent.equals(payloads[index]), `stream ${stream.id} payload`).to.equal(true);
      expect(stream.queuedBytes).to.equal(0);
    });
  });

  it('packs many small writes of a stream into one DATA frame, bytes in order', async () => {
    const s1 = h.stream(1);
    const messages = Array.from({ length: 200 }, (_, index) => pattern(23, index));
    for (const message of messages) s1.write(message);
    s1.write(Buffer.alloc(0), true);
    await h.settle();
    const data = dataFrames(h.newFrames());
    expect(data).to.have.length(1);
    expect(data[0].endStream).to.equal(true);
    expect(data[0].data.equals(Buffer.concat(messages))).to.equal(true);
  });

  it('keeps the round robin fair when streams write several chunks', async () => {
    h.settings([{ id: SettingId.INITIAL_WINDOW_SIZE, value: 1 << 20 }]);
    h.windowUpdate(0, 1 << 20);
    const [s1, s3] = [1, 3].map((id) => h.stream(id));
    for (let index = 0; index < 4; index++) s1.write(pattern(10000, index));
    s3.write(pattern(30000, 9));
    await h.settle();
    const data = dataFrames(h.newFrames());
    // Each turn gives a stream one frame of at most 16 KiB, filled from as many of its queued
    // writes as fit; s3 alternates with s1 until it is done.
    expect(data.map((frame) => `${frame.streamId}:${frame.data.length}`)).to.deep.equal(['1:16384', '3:16384', '1:16384', '3:13616', '1:7232']);
  });

  it('uses the max frame size from the peer SETTINGS', async () => {
    h.settings([
      { id: SettingId.MAX_FRAME_SIZE, value: 40000 },
      { id: SettingId.INITIAL_WINDOW_SIZE, value: 1 << 20 },
    ]);
    h.windowUpdate(0, 1 << 20);
    h.stream(1).write(pattern(100000, 1));
    await h.settle();
    expect(dataFrames(h.newFrames()).map((frame) => frame.data.length)).to.deep.equal([40000, 40000, 20000]);
  });

  it('never exceeds the stream windows nor the connection window until WINDOW_UPDATEs arrive', async () => {
    const streamWindow = 30000;
    const total = 50000;
    h.settings([{ id: SettingId.INITIAL_WINDOW_SIZE, value: streamWindow }]);
    const streams = [1, 3, 5].map((id) => h.stream(id));
    const payloads = streams.map((stream) => pattern(total, stream.id));
    streams.forEach((stream, index) => stream.write(payloads[index]));
    await h.settle();

    const phase1 = h.newFrames();
    const sent1 = bytesPerStream(phase1);
    for (const stream of streams) expect(sent1.get(stream.id) ?? 0, `stream ${stream.id}`).to.be.at.most(streamWindow);
    // The connection window is the limit here (3 × 30000 > 65535), and all of it is used.
    expect(sum(sent1.values())).to.equal(65535);
    expect(h.loopy.connectionSendWindow).to.equal(0);

    // A stream WINDOW_UPDATE alone does not get past the exhausted connection window.
    h.windowUpdate(1, 100000);
    await h.settle();
    expect(dataFrames(h.newFrames())).to.deep.equal([]);

    // The connection window opens: every stream may now fill its own window.
    h.windowUpdate(0, 1 << 20);
    await h.settle();
    const sent2 = bytesPerStream([...phase1, ...h.newFrames()]);
    expect(sent2.get(1)).to.equal(total);
    expect(sent2.get(3)).to.equal(streamWindow);
    expect(sent2.get(5)).to.equal(streamWindow);

    h.windowUpdate(3, 100000);
    h.windowUpdate(5, 100000);
    await h.settle();
    const rest = dataFrames(h.newFrames());
    const sent3 = new Map(sent2);
    for (const frame of rest) sent3.set(frame.streamId, (sent3.get(frame.streamId) ?? 0) + frame.data.length);
    for (const stream of streams) expect(sent3.get(stream.id), `stream ${stream.id}`).to.equal(total);
    for (const stream of streams) expect(stream.queuedBytes).to.equal(0);
  });

  it('delivers the bytes of every stream intact and in order under window pressure', async () => {
    h.settings([{ id: SettingId.INITIAL_WINDOW_SIZE, value: 1000 }]);
    const streams = [1, 3].map((id) => h.stream(id));
    const payloads = streams.map((stream) => [pattern(700, stream.id), pattern(2500, stream.id + 1), pattern(1, stream.id + 2)]);
    streams.forEach((stream, index) => payloads[index].forEach((chunk) => stream.write(chunk)));
    const collected: DataFrame[] = [];
    for (let round = 0; round < 6; round++) {
      await h.settle();
      collected.push(...dataFrames(h.newFrames()));
      for (const stream of streams) h.windowUpdate(stream.id, 1000);
    }
    await h.settle();
    collected.push(...dataFrames(h.newFrames()));
    streams.forEach((stream, index) => {
      const got = Buffer.concat(collected.filter((frame) => frame.streamId === stream.id).map((frame) => frame.data));
      expect(got.equals(Buffer.concat(payloads[index]))).to.equal(true);
    });
  });

  it('resumes a stream waiting for window on a WINDOW_UPDATE for that stream only', async () => {
    h.windowUpdate(0, 1 << 20);
    h.settings([{ id: SettingId.INITIAL_WINDOW_SIZE, value: 1000 }]);
    const s1 = h.stream(1);
    s1.write(pattern(3000, 1), true);
    await h.settle();
    expect(dataFrames(h.newFrames()).map(describeFrame)).to.deep.equal(['DATA(1,1000)']);
    expect(s1.queuedBytes).to.equal(2000);

    // Another stream's update (unknown to the writer) and the connection's do not release it.
    h.windowUpdate(3, 5000);
    h.windowUpdate(0, 5000);
    await h.settle();
    expect(h.newFrames()).to.deep.equal([]);

    h.windowUpdate(1, 500);
    await h.settle();
    expect(h.newFrames().map(describeFrame)).to.deep.equal(['DATA(1,500)']);

    h.windowUpdate(1, 10000);
    await h.settle();
    expect(h.newFrames().map(describeFrame)).to.deep.equal(['DATA(1,1500,ES)']);
    expect(s1.queuedBytes).to.equal(0);
    expect(s1.state).to.equal('halfClosedLocal');
    expect(h.loopy.trackedStreams).to.equal(0);
  });

  it('resumes a stream that waited for the connection window, keeping its turn', async () => {
    h.settings([{ id: SettingId.INITIAL_WINDOW_SIZE, value: 1 << 20 }]);
    const [s1, s3] = [1, 3].map((id) => h.stream(id));
    s1.write(pattern(65535, 1));
    s3.write(pattern(100, 3));
    await h.settle();
    // Stream 1 took the whole connection window (4 frames); stream 3 got its first turn in between.
    const first = h.newFrames().filter((frame) => frame.type === FrameType.DATA);
    expect(first.map(describeFrame)).to.deep.equal(['DATA(1,16384)', 'DATA(3,100)', 'DATA(1,16384)', 'DATA(1,16384)', 'DATA(1,16283)']);
    s3.write(pattern(10, 4));
    await h.settle();
    expect(h.newFrames()).to.deep.equal([]);
    // Stream 1 still has 100 bytes and was cut off by the connection window: it goes first.
    h.windowUpdate(0, 1000);
    await h.settle();
    expect(h.newFrames().map(describeFrame)).to.deep.equal(['DATA(1,100)', 'DATA(3,10)']);
  });

  it('writes HEADERS before the DATA of the stream', async () => {
    const s1 = h.stream(1);
    s1.sendHeaders([':status', '200', 'content-type', 'application/grpc']);
    s1.write(Buffer.from('payload'));
    await h.settle();
    const frames = h.newFrames();
    expect(frames.map(describeFrame)).to.deep.equal(['HEADERS(1)', 'DATA(1,7)']);
    expect(h.decode(frames[0] as HeadersFrame)).to.deep.equal([':status', '200', 'content-type', 'application/grpc']);
  });

  it('writes headers with endStream at once and finishes the stream', async () => {
    h.settings([{ id: SettingId.INITIAL_WINDOW_SIZE, value: 0 }]);
    const s1 = h.stream(1);
    s1.sendHeaders([':status', '200', 'grpc-status', '0'], true);
    await h.settle();
    const frames = h.newFrames();
    expect(frames.map(describeFrame)).to.deep.equal(['SETTINGS(ACK)', 'HEADERS(1,ES)']);
    expect(h.decode(frames[1] as HeadersFrame)).to.deep.equal([':status', '200', 'grpc-status', '0']);
    expect(s1.state).to.equal('halfClosedLocal');
    expect(h.loopy.trackedStreams).to.equal(0);
  });

  it('splits a header block larger than the max frame size into HEADERS + CONTINUATION', async () => {
    const s1 = h.stream(1);
    const big: HeaderList = [':status', '200', 'x-big', 'v'.repeat(40000)];
    s1.sendHeaders(big, true);
    await h.settle();
    let raw = 0;
    for (const chunk of h.socket.chunks) raw += chunk.length;
    const frames = h.newFrames();
    expect(frames.map(describeFrame)).to.deep.equal(['HEADERS(1,ES)']);
    expect(h.decode(frames[0] as HeadersFrame)).to.deep.equal(big);
    // More than one frame header on the wire: it was split (the reader joined it back).
    expect(raw).to.be.greaterThan((frames[0] as HeadersFrame).headerBlock.length + 9);
  });

  it('writes trailers only after all queued DATA, even when the DATA waits for window', async () => {
    h.settings([{ id: SettingId.INITIAL_WINDOW_SIZE, value: 10000 }]);
    const s1 = h.stream(1);
    s1.sendHeaders([':status', '200']);
    s1.write(pattern(15000, 1));
    s1.write(pattern(5000, 2));
    s1.end(['grpc-status', '0', 'grpc-message', 'OK']);
    await h.settle();
    expect(h.newFrames().map(describeFrame)).to.deep.equal(['SETTINGS(ACK)', 'HEADERS(1)', 'DATA(1,10000)']);
    expect(s1.state).to.equal('open');

    h.windowUpdate(1, 6000);
    await h.settle();
    // The rest of the first write and the start of the second share one frame.
    expect(h.newFrames().map(describeFrame)).to.deep.equal(['DATA(1,6000)']);

    h.windowUpdate(1, 4000);
    await h.settle();
    const frames = h.newFrames();
    expect(frames.map(describeFrame)).to.deep.equal(['DATA(1,4000)', 'HEADERS(1,ES)']);
    expect(h.decode(frames[1] as HeadersFrame)).to.deep.equal(['grpc-status', '0', 'grpc-message', 'OK']);
    expect(s1.state).to.equal('halfClosedLocal');
    expect(s1.queuedBytes).to.equal(0);
  });

  it('writes trailers with a header template plus extra headers', async () => {
    const s1 = h.stream(1);
    s1.sendHeaders([':status', '200']);
    s1.write(Buffer.from('x'));
    s1.end(['grpc-message', 'fine'], new HeaderTemplate(['grpc-status', '0']));
    await h.settle();
    const frames = h.newFrames();
    expect(frames.map(describeFrame)).to.deep.equal(['HEADERS(1)', 'DATA(1,1)', 'HEADERS(1,ES)']);
    expect(h.decode(frames[2] as HeadersFrame)).to.deep.equal(['grpc-status', '0', 'grpc-message', 'fine']);
  });

  it('puts a pending table size update before a header template (RFC 7541 §4.2)', async () => {
    const template = new HeaderTemplate([':status', '200', 'content-type', 'application/grpc']);
    const cached = template.staticBlock;
    h.settings([{ id: SettingId.HEADER_TABLE_SIZE, value: 0 }]);
    const s1 = h.stream(1);
    s1.sendHeaders(null, false, template);
    s1.end(['grpc-status', '0']);
    await h.settle();
    const [, headers, trailers] = h.newFrames() as [Frame, HeadersFrame, HeadersFrame];
    expect(headers.headerBlock[0]).to.equal(0x20);
    expect(headers.headerBlock.subarray(1).equals(cached)).to.equal(true);
    expect(h.decode(headers)).to.deep.equal([':status', '200', 'content-type', 'application/grpc']);
    // The update is owed once only.
    expect(h.decode(trailers)).to.deep.equal(['grpc-status', '0']);
    expect(trailers.headerBlock[0]).to.not.equal(0x20);
  });

  it('sends RST_STREAM after END_STREAM when the peer is still sending (RFC 9113 §8.1), with the code asked for', async () => {
    const s1 = h.stream(1, 1 << 30, ErrorCode.CANCEL);
    s1.sendHeaders([':status', '200']);
    s1.write(Buffer.from('answer'));
    s1.end(['grpc-status', '0']);
    await h.settle();
    expect(h.newFrames().map(describeFrame)).to.deep.equal(['HEADERS(1)', 'DATA(1,6)', 'HEADERS(1,ES)', `RST_STREAM(1,${ErrorCode.CANCEL})`]);
    // (The RST is queued from inside the drain, so it goes out in a second socket write.)
    expect(s1.state).to.equal('closed');
  });

  it('starts the next header block with a table size update after the peer changes HEADER_TABLE_SIZE', async () => {
    h.settings([{ id: SettingId.HEADER_TABLE_SIZE, value: 0 }]);
    const s1 = h.stream(1);
    s1.sendHeaders([':status', '200'], true);
    await h.settle();
    const [, headers] = h.newFrames() as [Frame, HeadersFrame];
    // 0x20 = dynamic table size update to 0 (RFC 7541 §6.3), then :status 200 (static index 8).
    expect([...headers.headerBlock]).to.deep.equal([0x20, 0x88]);
  });

  it('ends a stream with an empty DATA frame with END_STREAM when there are no trailers', async () => {
    h.settings([{ id: SettingId.INITIAL_WINDOW_SIZE, value: 0 }]);
    const s1 = h.stream(1);
    s1.sendHeaders([':status', '200']);
    s1.end();
    await h.settle();
    // An empty DATA frame costs no window, so it goes out even with a zero stream window.
    expect(h.newFrames().map(describeFrame)).to.deep.equal(['SETTINGS(ACK)', 'HEADERS(1)', 'DATA(1,0,ES)']);
    expect(s1.state).to.equal('halfClosedLocal');
  });

  it('cleanupStream with rstCode writes RST_STREAM and drops the queued data', async () => {
    h.settings([{ id: SettingId.INITIAL_WINDOW_SIZE, value: 4000 }]);
    const s1 = h.stream(1);
    s1.sendHeaders([':status', '200']);
    s1.write(pattern(10000, 1));
    s1.write(pattern(3000, 2));
    await h.settle();
    expect(h.newFrames().map(describeFrame)).to.deep.equal(['SETTINGS(ACK)', 'HEADERS(1)', 'DATA(1,4000)']);
    expect(s1.queuedBytes).to.equal(9000);

    s1.reset(ErrorCode.CANCEL);
    await h.settle();
    expect(h.newFrames().map(describeFrame)).to.deep.equal([`RST_STREAM(1,${ErrorCode.CANCEL})`]);
    expect(s1.queuedBytes).to.equal(0);
    expect(sum(h.streamHost.queuedDeltas)).to.equal(0);
    expect(h.loopy.trackedStreams).to.equal(0);

    // Nothing of the dropped data comes out later.
    h.windowUpdate(1, 100000);
    await h.settle();
    expect(h.newFrames()).to.deep.equal([]);
  });

  it('cleanupStream from the connection (peer reset) also removes the stream from the round robin', async () => {
    h.settings([{ id: SettingId.INITIAL_WINDOW_SIZE, value: 1 << 20 }]);
    h.windowUpdate(0, 1 << 20);
    const [s1, s3] = [1, 3].map((id) => h.stream(id));
    // Queued in the same turn as the cleanup: stream 1 is active when it is cleaned up.
    s1.write(pattern(50000, 1));
    s3.write(pattern(20000, 3));
    // As the connection does: the writer drops its record, the stream writes off what it had queued.
    h.put({ kind: 'cleanupStream', streamId: 1, rstCode: ErrorCode.STREAM_CLOSED, responseToPeer: true });
    s1.receiveReset(ErrorCode.STREAM_CLOSED, 'library');
    await h.settle();
    const frames = h.newFrames();
    expect(frames.map(describeFrame)).to.deep.equal(['SETTINGS(ACK)', `RST_STREAM(1,${ErrorCode.STREAM_CLOSED})`, 'DATA(3,16384)', 'DATA(3,3616)']);
    expect(s1.queuedBytes).to.equal(0);
  });

  it('sends no RST_STREAM for a stream of ours reset before its HEADERS went out (RFC 9113 §6.4)', async () => {
    const s1 = h.localStream(1);
    s1.sendHeaders([':method', 'POST']);
    s1.reset(ErrorCode.CANCEL);
    const s3 = h.localStream(3);
    s3.sendHeaders([':method', 'POST']);
    await h.settle();
    s3.reset(ErrorCode.CANCEL);
    await h.settle();
    expect(h.newFrames().map(describeFrame)).to.deep.equal(['HEADERS(3)', `RST_STREAM(3,${ErrorCode.CANCEL})`]);
  });

  it('drops data queued on a stream that was already reset', async () => {
    const s1 = h.stream(1);
    s1.write(pattern(100, 1));
    s1.reset(ErrorCode.INTERNAL_ERROR);
    await h.settle();
    expect(h.newFrames().map(describeFrame)).to.deep.equal([`RST_STREAM(1,${ErrorCode.INTERNAL_ERROR})`]);
    expect(s1.queuedBytes).to.equal(0);
  });

  it('a WINDOW_UPDATE overflowing the connection window is a connection FLOW_CONTROL_ERROR', async () => {
    h.windowUpdate(0, MAX_WINDOW_SIZE - 65535); // exactly 2^31-1: allowed
    await h.settle();
    expect(h.host.connectionErrors).to.deep.equal([]);
    expect(h.loopy.connectionSendWindow).to.equal(MAX_WINDOW_SIZE);
    h.windowUpdate(0, 1);
    await h.settle();
    expect(h.host.connectionErrors).to.have.length(1);
    expect(h.host.connectionErrors[0]).to.be.instanceOf(ConnectionError);
    expect(h.host.connectionErrors[0].errorCode).to.equal(ErrorCode.FLOW_CONTROL_ERROR);
    expect(h.loopy.connectionSendWindow).to.equal(MAX_WINDOW_SIZE);
    expect(h.host.streamErrors).to.deep.equal([]);
  });

  it('a WINDOW_UPDATE overflowing a stream window reports that stream, not the connection', async () => {
    const s1 = h.stream(1);
    const s3 = h.stream(3);
    h.put({ kind: 'registerStream', streamId: 1, events: s1 });
    h.put({ kind: 'registerStream', streamId: 3, events: s3 });
    h.windowUpdate(1, MAX_WINDOW_SIZE - 65535);
    await h.settle();
    expect(h.host.streamErrors).to.deep.equal([]);
    h.windowUpdate(1, 1);
    h.windowUpdate(3, MAX_WINDOW_SIZE);
    await h.settle();
    expect(h.host.streamErrors).to.have.length(2);
    expect(h.host.streamErrors[0]).to.equal(1);
    expect(h.host.streamErrors[1]).to.equal(3);
    expect(h.host.connectionErrors).to.deep.equal([]);
    expect(h.loopy.trackedStreams).to.equal(0);
  });

  it('flushes once per drain when several streams became ready in the same turn', async () => {
    h.settings([]);
    await h.settle();
    expect(h.newFrames().map(describeFrame)).to.deep.equal(['SETTINGS(ACK)']);
    const before = h.socket.batches;
    const writesBefore = h.socket.writes;
    expect(before).to.equal(1);
    const streams = [1, 3, 5, 7, 9].map((id) => h.stream(id));
    for (const stream of streams) {
      stream.sendHeaders([':status', '200', 'content-type', 'application/grpc']);
      stream.write(Buffer.from([0, 0, 0, 0, 2, 0x0a, 0x00]));
      stream.end(['grpc-status', '0']);
    }
    h.put({ kind: 'ping', ack: true, data: Buffer.from('87654321') });
    await h.settle();
    expect(h.socket.batches - before).to.equal(1);
    expect(h.socket.writes - writesBefore).to.equal(1);
    const frames = h.newFrames();
    expect(frames).to.have.length(16);
    expect(frames.filter((frame) => frame.type === FrameType.HEADERS && frame.endStream)).to.have.length(5);

    // Large responses go out as one corked batch.
    const more = [11, 13].map((id) => h.stream(id));
    for (const stream of more) stream.write(pattern(5000, stream.id), true);
    await h.settle();
    expect(h.socket.batches - before).to.equal(2);
    expect(h.socket.corks).to.equal(1);
  });

  it('a SETTINGS_INITIAL_WINDOW_SIZE decrease makes windows negative; nothing is sent until they are positive (RFC 9113 §6.9.2)', async () => {
    h.windowUpdate(0, 1 << 20);
    const s1 = h.stream(1);
    s1.write(pattern(10000, 1));
    await h.settle();
    expect(dataFrames(h.newFrames()).map(describeFrame)).to.deep.equal(['DATA(1,10000)']);

    // 65535 - 10000 = 55535 left; the initial window drops by 64535 → -9000.
    h.settings([{ id: SettingId.INITIAL_WINDOW_SIZE, value: 1000 }]);
    s1.write(pattern(5000, 2));
    await h.settle();
    expect(h.newFrames().map(describeFrame)).to.deep.equal(['SETTINGS(ACK)']);

    h.windowUpdate(1, 8000); // -1000
    await h.settle();
    expect(h.newFrames()).to.deep.equal([]);
    h.windowUpdate(1, 1000); // 0
    await h.settle();
    expect(h.newFrames()).to.deep.equal([]);
    h.windowUpdate(1, 1); // 1
    await h.settle();
    expect(h.newFrames().map(describeFrame)).to.deep.equal(['DATA(1,1)']);

    // An increase applies to existing streams too; new streams start at the new initial window.
    h.settings([{ id: SettingId.INITIAL_WINDOW_SIZE, value: 3000 }]); // s1: 0 + 2000
    const s3 = h.stream(3);
    s3.write(pattern(5000, 3));
    await h.settle();
    expect(h.newFrames().map(describeFrame)).to.deep.equal(['SETTINGS(ACK)', 'DATA(1,2000)', 'DATA(3,3000)']);
  });

  it('a SETTINGS increase that overflows a stream window is a connection FLOW_CONTROL_ERROR', async () => {
    const s1 = h.stream(1);
    h.put({ kind: 'registerStream', streamId: 1, events: s1 });
    h.windowUpdate(1, MAX_WINDOW_SIZE - 65535);
    h.settings([{ id: SettingId.INITIAL_WINDOW_SIZE, value: 65536 }]);
    await h.settle();
    expect(h.host.connectionErrors.map((error) => error.errorCode)).to.deep.equal([ErrorCode.FLOW_CONTROL_ERROR]);
  });

  it('waits for drain when the socket is over its high-water mark', async () => {
    h.socket.writeResult = false;
    h.put({ kind: 'ping', ack: false, data: Buffer.alloc(8) });
    await h.settle();
    expect(h.socket.writes).to.equal(1);
    // Queued while the writer waits for 'drain': not written yet.
    h.put({ kind: 'ping', ack: true, data: Buffer.alloc(8) });
    await new Promise(setImmediate);
    await new Promise(setImmediate);
    expect(h.socket.writes).to.equal(1);
    h.socket.writeResult = true;
    h.socket.emit('drain');
    await h.settle();
    expect(h.socket.writes).to.equal(2);
    expect(h.newFrames().map(describeFrame)).to.deep.equal(['PING', 'PING(ACK)']);
  });

  // Bug demonstration (see frame-writer.spec.ts): WINDOW_UPDATE and RST_STREAM items written at a
  // slab offset 9..12 bytes before the end of the FrameWriter's 64 KiB slab throw ERR_OUT_OF_RANGE,
  // and the writer dies (host.writerFailed). 1 PING (17 bytes) + 5039 WINDOW_UPDATEs (13 bytes)
  // fill 65524 bytes of the slab over many flushes; the next WINDOW_UPDATE hits it.
  it('survives a long run of WINDOW_UPDATE and PING frames across many flushes', async () => {
    h.put({ kind: 'ping', ack: true, data: Buffer.from('abcdefgh') });
    let written = 0;
    for (let batch = 0; batch < 60; batch++) {
      for (let index = 0; index < 100; index++) h.put({ kind: 'outgoingWindowUpdate', streamId: 1 + 2 * index, increment: 1 + written++ });
      do {
        await new Promise(setImmediate);
      } while (h.buffer.size > 0 && h.host.failures.length === 0);
      if (h.host.failures.length > 0) break;
    }
    expect(h.host.failures.map(String)).to.deep.equal([]);
    const frames = h.newFrames();
    expect(frames).to.have.length(1 + written);
    expect(frames.filter((frame) => frame.type === FrameType.WINDOW_UPDATE).map((frame) => (frame as { increment: number }).increment)).to.deep.equal(
      Array.from({ length: written }, (_, index) => index + 1),
    );
  });

  describe('flow-control property', () => {
    type Op =
      | { op: 'write'; stream: number; length: number; end: boolean }
      | { op: 'update'; stream: number; increment: number }
      | { op: 'settings'; initialWindow: number };
    const STREAM_IDS = [1, 3, 5];
    const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
      fc.record({
        op: fc.constant('write' as const),
        stream: fc.constantFrom(...STREAM_IDS),
        length: fc.integer({ min: 0, max: 40000 }),
        end: fc.constant(false),
      }),
      fc.record({ op: fc.constant('update' as const), stream: fc.constantFrom(0, ...STREAM_IDS), increment: fc.integer({ min: 1, max: 30000 }) }),
      fc.record({ op: fc.constant('settings' as const), initialWindow: fc.integer({ min: 0, max: 100000 }) }),
    );

    it('never sends more than the windows allow, and sends everything once they are open', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(opArbitrary, { maxLength: 25 }), async (ops) => {
          const run = new Harness();
          try {
            const streams = new Map(STREAM_IDS.map((id) => [id, run.stream(id)]));
            // Register every stream up front so SETTINGS deltas apply to all of them.
            for (const stream of streams.values()) run.put({ kind: 'registerStream', streamId: stream.id, events: stream });
            let initial = 65535;
            let connectionGranted = 65535;
            const granted = new Map(STREAM_IDS.map((id) => [id, 65535]));
            const sent = new Map(STREAM_IDS.map((id) => [id, 0]));
            const queued = new Map(STREAM_IDS.map((id) => [id, [] as Buffer[]]));
            const received = new Map(STREAM_IDS.map((id) => [id, [] as Buffer[]]));
            let seed = 0;
            // The windows may go negative (SETTINGS decrease): what a step may send is bounded by
            // the window after the step's item was applied, or nothing if that is not positive.
            const check = async (): Promise<void> => {
              const sentBefore = new Map(sent);
              const connectionSentBefore = sum(sent.values());
              await run.settle();
              for (const frame of dataFrames(run.newFrames())) {
                sent.set(frame.streamId, sent.get(frame.streamId)! + frame.data.length);
                received.get(frame.streamId)!.push(frame.data);
                expect(frame.data.length).to.be.at.most(16384);
              }
              for (const id of STREAM_IDS) {
                expect(sent.get(id), `stream ${id}`).to.be.at.most(Math.max(sentBefore.get(id)!, granted.get(id)!));
              }
              expect(sum(sent.values()), 'connection').to.be.at.most(Math.max(connectionSentBefore, connectionGranted));
            };
            for (const op of ops) {
              if (op.op === 'write') {
                const chunk = pattern(op.length, seed++);
                queued.get(op.stream)!.push(chunk);
                streams.get(op.stream)!.write(chunk);
              } else if (op.op === 'update') {
                if (op.stream === 0) connectionGranted += op.increment;
                else granted.set(op.stream, granted.get(op.stream)! + op.increment);
                run.windowUpdate(op.stream, op.increment);
              } else {
                const delta = op.initialWindow - initial;
                initial = op.initialWindow;
                for (const id of STREAM_IDS) granted.set(id, granted.get(id)! + delta);
                run.settings([{ id: SettingId.INITIAL_WINDOW_SIZE, value: op.initialWindow }]);
              }
              await check();
            }
            // Open every window wide: everything queued must come out, in order.
            run.windowUpdate(0, BIG);
            connectionGranted += BIG;
            for (const id of STREAM_IDS) {
              const missing = Math.max(0, -(granted.get(id)! - sent.get(id)!)) + BIG;
              granted.set(id, granted.get(id)! + missing);
              run.windowUpdate(id, missing);
            }
            await check();
            for (const id of STREAM_IDS) {
              expect(Buffer.concat(received.get(id)!).equals(Buffer.concat(queued.get(id)!)), `stream ${id} bytes`).to.equal(true);
              expect(streams.get(id)!.queuedBytes).to.equal(0);
            }
            expect(run.host.connectionErrors).to.deep.equal([]);
          } finally {
            await run.stop();
          }
        }),
        { numRuns: 60 },
      );
    });
  });
});

describe('LoopyWriter: header templates through the HPACK dynamic table', () => {
  let h: Harness;
  beforeEach(() => {
    h = new Harness();
  });
  afterEach(() => h.stop());

  it('inserts template fields once, then sends one byte per field, and the peer decodes the same list', async () => {
    const template = new HeaderTemplate([':status', '200', 'content-type', 'application/grpc', 'grpc-accept-encoding', 'identity,deflate,gzip']);
    const blocks: Buffer[] = [];
    for (const id of [1, 3, 5]) {
      h.stream(id).sendHeaders(null, false, template);
      await h.settle();
      const frames = h.newFrames() as HeadersFrame[];
      expect(h.decode(frames[0])).to.deep.equal(template.fields);
      blocks.push(frames[0].headerBlock);
    }
    expect(blocks[0].length).to.be.greaterThan(10);
    // :status 200 is a static index; the two other fields are now dynamic entries.
    expect(blocks[1].length).to.equal(3);
    expect(blocks[2].equals(blocks[1])).to.equal(true);
  });

  it('after the peer shrinks its table to 0, falls back to the static block and stays decodable', async () => {
    const template = new HeaderTemplate(['content-type', 'application/grpc', 'grpc-status', '0']);
    h.stream(1).sendHeaders(null, false, template);
    await h.settle();
    h.newFrames();
    h.settings([{ id: SettingId.HEADER_TABLE_SIZE, value: 0 }]);
    h.stream(3).sendHeaders(null, false, template);
    await h.settle();
    const frames = h.newFrames().filter((frame): frame is HeadersFrame => frame.type === FrameType.HEADERS);
    expect(h.decode(frames[0])).to.deep.equal(template.fields);
    expect(frames[0].headerBlock[0]).to.equal(0x20);
    expect(frames[0].headerBlock.subarray(1).equals(template.staticBlock)).to.equal(true);
  });
});
