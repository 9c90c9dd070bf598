import { expect } from 'chai';
import { gzipSync } from 'node:zlib';
import type { Encoding } from '../../../lib/grpc/compression';
import { Metadata } from '../../../lib/grpc/metadata';
import { OK_TRAILERS, OK_TRAILERS_ONLY, RESPONSE_HEADERS } from '../../../lib/grpc/protocol/headers';
import { encodeMessage } from '../../../lib/grpc/protocol/message-framing';
import type { RpcStream } from '../../../lib/grpc/rpc-stream';
import { type CallSink, type CallStart, ServerCall } from '../../../lib/grpc/server/server-call';
import { Status } from '../../../lib/grpc/status';
import { ErrorCode, type HeaderList, type PreparedHeaders, type StreamListener } from '../../../lib/transport';
import { headerListSize } from '../../../lib/transport/hpack/header-block';

/** The RpcStream seam over nothing: records every call. */
class FakeStream implements RpcStream {
  readonly headers: HeaderList = [':method', 'POST', ':path', '/pkg.Svc/Method', 'x-user', 'alice'];
  readonly calls: unknown[][] = [];
  listener: StreamListener | null = null;
  /** The code resetAfterEnd() asked for (null: not called). */
  codeAfterEnd: number | null = null;
  queuedBytes = 0;
  maxHeaderListSize = Infinity;
  writeResult = true;

  resetAfterEnd(code: number): void {
    this.codeAfterEnd = code;
  }
  setListener(listener: StreamListener): void {
    this.listener = listener;
    this.calls.push(['setListener']);
  }
  sendHeaders(headers: HeaderList | null, endStream = false, prepared: PreparedHeaders | null = null): void {
    this.calls.push(['sendHeaders', headers, endStream, prepared]);
  }
  write(data: Buffer): boolean {
    this.calls.push(['write', data.toString('hex')]);
    return this.writeResult;
  }
  end(trailers: HeaderList | null = null, prepared: PreparedHeaders | null = null): void {
    this.calls.push(['end', trailers, prepared]);
  }
  fitsHeaderList(headers: HeaderList | null, prepared: PreparedHeaders | null = null): boolean {
    return headerListSize(headers ?? []) + headerListSize(prepared === null ? [] : [...prepared.fields]) <= this.maxHeaderListSize;
  }
  pause(): void {
    this.calls.push(['pause']);
  }
  resume(): void {
    this.calls.push(['resume']);
  }
  detach(): void {
    this.calls.push(['detach']);
  }
  retain(): void {
    this.calls.push(['retain']);
  }
  release(): void {
    this.calls.push(['release']);
  }
  isClosed = false;
  reset(code?: number): void {
    this.isClosed = true;
    this.calls.push(['reset', code]);
  }
  /** The calls of one kind, without their name. */
  of(kind: string): unknown[][] {
    return this.calls.filter((call) => call[0] === kind).map((call) => call.slice(1));
  }
}

class RecordingSink implements CallSink {
  readonly messages: unknown[] = [];
  halfClosed = 0;
  cancelled = 0;
  drained = 0;
  finished = 0;
  onFinish(): void {
    this.finished++;
  }
  onMessage(message: unknown): void {
    this.messages.push(message);
  }
  onHalfClose(): void {
    this.halfClosed++;
  }
  onCancel(): void {
    this.cancelled++;
  }
  onDrain(): void {
    this.drained++;
  }
}

interface Options {
  requestEncoding?: Encoding;
  responseEncoding?: Encoding;
  acceptEncoding?: string;
  deadline?: number;
  maxReceiveMessageSize?: number;
  maxSendMessageSize?: number;
}

function callStart(stream: FakeStream, options: Options): CallStart {
  return {
    stream,
    method: {
      path: '/pkg.Svc/Method',
      requestDeserialize: (data) => data.toString('latin1'),
      responseSerialize: (value) => Buffer.from(String(value), 'latin1'),
    },
    limits: { maxReceiveMessageSize: options.maxReceiveMessageSize ?? 100, maxSendMessageSize: options.maxSendMessageSize ?? 100, maxResponseBacklog: 1000 },
    requestEncoding: options.requestEncoding ?? 'identity',
    responseEncoding: options.responseEncoding ?? 'identity',
    deadline: options.deadline ?? Infinity,
    peer: { remoteAddress: '10.0.0.1', remotePort: 5000 },
    authority: 'localhost',
    acceptEncoding: options.acceptEncoding,
  };
}

function makeCall(options: Options = {}): { call: ServerCall; stream: FakeStream; sink: RecordingSink } {
  const stream = new FakeStream();
  const call = new ServerCall(callStart(stream, options));
  const sink = new RecordingSink();
  call.start(sink);
  return { call, stream, sink };
}

const framed = (text: string, compressed = false): Buffer => encodeMessage(Buffer.from(text, 'latin1'), compressed);
const GRPC_HEAD = [':status', '200', 'content-type', 'application/grpc'];

/** The status a trailers-only response carried: [grpc-status, grpc-message]. */
function trailersOnlyStatus(stream: FakeStream): [string | undefined, string | undefined] {
  const [headers, endStream] = stream.of('sendHeaders')[0] as [HeaderList, boolean];
  expect(endStream).to.equal(true);
  expect(headers.slice(0, 4)).to.deep.equal(GRPC_HEAD);
  const value = (name: string): string | undefined => headers[headers.indexOf(name) + 1];
  return [value('grpc-status'), headers.includes('grpc-message') ? value('grpc-message') : undefined];
}

describe('ServerCall', () => {
  describe('receiving requests', () => {
    it('attaches itself as the stream listener and decodes messages split across any chunks', () => {
      const { call, stream, sink } = makeCall();
      expect(stream.listener).to.equal(call);
      const bytes = Buffer.concat([framed('hello'), framed(''), framed('world')]);
      call.onData(bytes.subarray(0, 2));
      call.onData(bytes.subarray(2, 7));
      call.onData(bytes.subarray(7, 12));
      call.onData(bytes.subarray(12));
      expect(sink.messages).to.deep.equal(['hello', '', 'world']);
      expect(call.lastRequestCompressed).to.equal(false);
    });

    it('END_STREAM between messages half-closes the call; the request metadata leaves out pseudo-headers', () => {
      const { call, sink } = makeCall();
      call.onData(framed('only'));
      call.onEnd();
      expect(sink.halfClosed).to.equal(1);
      expect(call.state).to.equal('halfClosed');
      expect(call.metadata.getMap()).to.deep.equal({ 'x-user': 'alice' });
      expect(call.peer).to.equal('10.0.0.1:5000');
    });

    it('END_STREAM in the middle of a message is INTERNAL', () => {
      const { call, stream, sink } = makeCall();
      call.onData(framed('partial').subarray(0, 8));
      call.onEnd();
      expect(trailersOnlyStatus(stream)[0]).to.equal(String(Status.INTERNAL));
      expect([sink.halfClosed, sink.cancelled]).to.deep.equal([0, 1]);
    });

    it('a compressed message without a grpc-encoding is INTERNAL', () => {
      const { call, stream, sink } = makeCall();
      call.onData(framed('x', true));
      expect(trailersOnlyStatus(stream)).to.deep.equal([String(Status.INTERNAL), 'Compressed message received without grpc-encoding']);
      expect(sink.messages).to.deep.equal([]);
    });

    it('a compressed-flag byte other than 0 or 1 is INTERNAL', () => {
      const { call, stream } = makeCall();
      const bad = framed('x');
      bad[0] = 2;
      call.onData(bad);
      expect(trailersOnlyStatus(stream)).to.deep.equal([String(Status.INTERNAL), 'Invalid compressed flag 2']);
    });

    it('gzip requests are inflated; corrupt ones are INTERNAL', () => {
      const { call, sink } = makeCall({ requestEncoding: 'gzip' });
      call.onData(encodeMessage(gzipSync(Buffer.from('inflated')), true));
      expect(sink.messages).to.deep.equal(['inflated']);
      expect(call.lastRequestCompressed).to.equal(true);
      const corrupt = makeCall({ requestEncoding: 'gzip' });
      corrupt.call.onData(framed('not gzip', true));
      expect(trailersOnlyStatus(corrupt.stream)[0]).to.equal(String(Status.INTERNAL));
    });

    it('a message over maxReceiveMessageSize, framed or inflated, is RESOURCE_EXHAUSTED', () => {
      const framedTooLarge = makeCall({ maxReceiveMessageSize: 10 });
      framedTooLarge.call.onData(framed('x'.repeat(11)).subarray(0, 5));
      expect(trailersOnlyStatus(framedTooLarge.stream)[0]).to.equal(String(Status.RESOURCE_EXHAUSTED));
      expect(framedTooLarge.sink.cancelled).to.equal(1);
      const inflatedTooLarge = makeCall({ requestEncoding: 'gzip', maxReceiveMessageSize: 10 });
      inflatedTooLarge.call.onData(encodeMessage(gzipSync(Buffer.alloc(11)), true));
      expect(trailersOnlyStatus(inflatedTooLarge.stream)[0]).to.equal(String(Status.RESOURCE_EXHAUSTED));
      expect(inflatedTooLarge.sink.messages).to.deep.equal([]);
    });

    it('a library failure (limits, bad flags) leaves the call cancelled: call.cancelled, the signal aborted, the handler told once', () => {
      const { call, sink } = makeCall({ maxReceiveMessageSize: 10 });
      const signal = call.signal;
      call.onData(framed('x'.repeat(11)).subarray(0, 5));
      expect(call.cancelled).to.equal(true);
      expect(signal.aborted).to.equal(true);
      expect(sink.cancelled).to.equal(1);
    });

    it('pause() inside onMessage holds the rest of the chunk; the stream resumes only once the held messages are through', () => {
      const { call, stream, sink } = makeCall();
      sink.onMessage = (message) => {
        sink.messages.push(message);
        if (message !== 'three') call.pause();
      };
      call.onData(Buffer.concat([framed('one'), framed('two'), framed('three')]));
      expect(sink.messages).to.deep.equal(['one']);
      expect(stream.of('pause')).to.have.length(1);
      call.resume();
      expect(sink.messages).to.deep.equal(['one', 'two']);
      expect(stream.of('resume'), 'paused again by a held message').to.have.length(0);
      call.resume();
      expect(sink.messages).to.deep.equal(['one', 'two', 'three']);
      expect(stream.of('resume')).to.have.length(1);
    });
  });

  describe('response headers and status', () => {
    it('OK with nothing sent is the prepared trailers-only response', () => {
      const { call, stream } = makeCall();
      call.sendStatus({ code: Status.OK });
      expect(stream.of('sendHeaders')).to.deep.equal([[null, true, OK_TRAILERS_ONLY]]);
      expect(stream.of('detach')).to.have.length(1);
      expect(call.state).to.equal('finished');
    });

    it('an error with nothing sent is trailers-only with grpc-status, percent-encoded grpc-message and metadata', () => {
      const { call, stream } = makeCall();
      const metadata = new Metadata();
      metadata.set('x-why', 'because');
      call.sendStatus({ code: Status.NOT_FOUND, details: 'no 100% match', metadata });
      expect(stream.of('sendHeaders')).to.deep.equal([[[...GRPC_HEAD, 'grpc-status', '5', 'grpc-message', 'no 100%25 match', 'x-why', 'because'], true, null]]);
    });

    it('headers, a message, then OK: prepared response headers, one framed write, prepared OK trailers', () => {
      const { call, stream } = makeCall();
      expect(call.sendMessage('reply')).to.equal(true);
      call.sendStatus({ code: Status.OK });
      expect(stream.calls.map((entry) => entry[0])).to.deep.equal(['setListener', 'sendHeaders', 'write', 'detach', 'end']);
      expect(stream.of('sendHeaders')).to.deep.equal([[null, false, RESPONSE_HEADERS]]);
      expect(stream.of('write')).to.deep.equal([[framed('reply').toString('hex')]]);
      expect(stream.of('end')).to.deep.equal([[null, OK_TRAILERS]]);
    });

    it('metadata and a chosen response encoding go into the response headers; an error after them goes in trailers', () => {
      const { call, stream } = makeCall({ acceptEncoding: 'identity, gzip' });
      expect(call.setResponseEncoding('deflate')).to.equal(false);
      expect(call.setResponseEncoding('gzip')).to.equal(true);
      const metadata = new Metadata();
      metadata.set('x-a', '1');
      call.sendMetadata(metadata);
      expect(call.setResponseEncoding('identity'), 'too late once headers are out').to.equal(false);
      call.sendStatus({ code: Status.ABORTED, details: 'stop' });
      expect(stream.of('sendHeaders')).to.deep.equal([[['grpc-encoding', 'gzip', 'x-a', '1'], false, RESPONSE_HEADERS]]);
      expect(stream.of('end')).to.deep.equal([[['grpc-status', String(Status.ABORTED), 'grpc-message', 'stop'], null]]);
    });

    it('once the status is sent, later metadata, messages and statuses are ignored', () => {
      const { call, stream } = makeCall();
      call.sendStatus({ code: Status.OK });
      call.sendMetadata(null);
      expect(call.sendMessage('late')).to.equal(false);
      call.sendStatus({ code: Status.INTERNAL });
      expect(stream.calls.map((entry) => entry[0])).to.deep.equal(['setListener', 'detach', 'sendHeaders']);
    });

    it('response metadata larger than the client accepts (with the constant headers) ends the call with INTERNAL instead', () => {
      const { call, stream, sink } = makeCall();
      // x-big alone is 87 octets; with the prepared response headers (175) it is over the limit, and
      // the INTERNAL trailers-only response that replaces it (242) fits.
      stream.maxHeaderListSize = 250;
      const metadata = new Metadata();
      metadata.set('x-big', 'v'.repeat(50));
      call.sendMetadata(metadata);
      expect(trailersOnlyStatus(stream)).to.deep.equal([String(Status.INTERNAL), 'Response metadata is larger than the client accepts']);
      expect(sink.cancelled).to.equal(1);
    });

    it('trailers larger than the client accepts are replaced by an INTERNAL status, with or without headers sent', () => {
      const metadata = new Metadata();
      metadata.set('x-big', 'v'.repeat(300));
      const trailersOnly = makeCall();
      trailersOnly.stream.maxHeaderListSize = 300;
      trailersOnly.call.sendStatus({ code: Status.OK, metadata });
      expect(trailersOnlyStatus(trailersOnly.stream)).to.deep.equal([String(Status.INTERNAL), 'Response trailers are larger than the client accepts']);
      const afterHeaders = makeCall();
      afterHeaders.stream.maxHeaderListSize = 300;
      afterHeaders.call.sendMetadata(null);
      afterHeaders.call.sendStatus({ code: Status.OK, metadata });
      expect(afterHeaders.stream.of('end')).to.deep.equal([
        [['grpc-status', String(Status.INTERNAL), 'grpc-message', 'Response trailers are larger than the client accepts'], null],
      ]);
    });

    it('a client limit smaller than even the constant headers or the INTERNAL status resets the stream, never throws', () => {
      // SETTINGS_MAX_HEADER_LIST_SIZE may legally be 100: the prepared response headers (175) and
      // OK trailers-only (146) do not fit, nor does the INTERNAL status that would replace them.
      const headersFirst = makeCall();
      headersFirst.stream.maxHeaderListSize = 100;
      expect(() => headersFirst.call.sendMessage('reply')).to.not.throw();
      expect(headersFirst.stream.of('sendHeaders')).to.deep.equal([]);
      expect(headersFirst.stream.of('reset')).to.deep.equal([[ErrorCode.INTERNAL_ERROR]]);
      expect(headersFirst.call.cancelled).to.equal(true);
      const okOnly = makeCall();
      okOnly.stream.maxHeaderListSize = 100;
      expect(() => okOnly.call.sendStatus({ code: Status.OK })).to.not.throw();
      expect(okOnly.stream.of('reset')).to.deep.equal([[ErrorCode.INTERNAL_ERROR]]);
      // Room for the OK trailers (44) after headers went out, but not for INTERNAL with its message.
      const trailers = makeCall();
      trailers.call.sendMetadata(null);
      trailers.stream.maxHeaderListSize = 60;
      const metadata = new Metadata();
      metadata.set('x-a', 'v'.repeat(50));
      expect(() => trailers.call.sendStatus({ code: Status.OK, metadata })).to.not.throw();
      expect(trailers.stream.of('end')).to.deep.equal([]);
      expect(trailers.stream.of('reset')).to.deep.equal([[ErrorCode.INTERNAL_ERROR]]);
    });

    it('a response over maxSendMessageSize is RESOURCE_EXHAUSTED and nothing is written', () => {
      const { call, stream } = makeCall({ maxSendMessageSize: 4 });
      expect(call.sendMessage('12345')).to.equal(false);
      expect(stream.of('write')).to.deep.equal([]);
      expect(trailersOnlyStatus(stream)[0]).to.equal(String(Status.RESOURCE_EXHAUSTED));
    });
  });

  describe('deadline and cancellation', () => {
    it('an expired deadline sends DEADLINE_EXCEEDED, asks for RST_STREAM(CANCEL) after it, and cancels the handler', async () => {
      const stream = new FakeStream();
      const sink = new RecordingSink();
      const cancelled = new Promise<void>((resolve) => (sink.onCancel = () => (sink.cancelled++, resolve())));
      const call = new ServerCall(callStart(stream, { deadline: Date.now() + 20 }));
      call.start(sink);
      expect(sink.cancelled).to.equal(0);
      await cancelled;
      expect(trailersOnlyStatus(stream)).to.deep.equal([String(Status.DEADLINE_EXCEEDED), 'Deadline exceeded']);
      expect(stream.codeAfterEnd).to.equal(ErrorCode.CANCEL);
      expect(call.cancelled).to.equal(true);
      expect(call.signal.aborted).to.equal(true);
    });

    it('a deadline already past on arrival expires at start, before any data is taken', () => {
      const { call, stream, sink } = makeCall({ deadline: Date.now() - 1 });
      expect(stream.of('setListener')).to.deep.equal([]);
      expect(trailersOnlyStatus(stream)[0]).to.equal(String(Status.DEADLINE_EXCEEDED));
      expect(sink.cancelled).to.equal(1);
      expect(call.cancelled).to.equal(true);
    });

    it('finishing the call clears its deadline timer (nothing left running)', () => {
      const timers = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
      const before = timers();
      const { call } = makeCall({ deadline: Date.now() + 60_000 });
      expect(timers()).to.equal(before + 1);
      call.sendStatus({ code: Status.OK });
      expect(timers()).to.equal(before);
    });

    it('a reset stream cancels the call once: the handler hears it, the signal aborts, nothing more is sent', () => {
      const { call, stream, sink } = makeCall();
      const signal = call.signal;
      call.onReset(ErrorCode.CANCEL, 'remote');
      call.onReset(ErrorCode.CANCEL, 'remote');
      expect(sink.cancelled).to.equal(1);
      expect(signal.aborted).to.equal(true);
      expect(call.state).to.equal('cancelled');
      call.sendStatus({ code: Status.OK });
      expect(call.sendMessage('late')).to.equal(false);
      expect(stream.of('sendHeaders')).to.deep.equal([]);
      call.onData(framed('ignored'));
      expect(sink.messages).to.deep.equal([]);
    });

    it('a reset after the status was sent does not cancel the handler', () => {
      const { call, sink } = makeCall();
      call.sendStatus({ code: Status.OK });
      call.onReset(ErrorCode.NO_ERROR, 'remote');
      expect(sink.cancelled).to.equal(0);
      expect(call.state).to.equal('finished');
    });

    it('a streaming handler retains the stream until the call ends, by status or by reset', () => {
      const finished = makeCall();
      finished.call.retainStream(true);
      finished.call.sendStatus({ code: Status.OK });
      expect(finished.stream.calls.map((entry) => entry[0])).to.deep.equal(['setListener', 'retain', 'release', 'detach', 'sendHeaders']);
      const reset = makeCall();
      reset.call.retainStream(true);
      reset.call.onReset(ErrorCode.CANCEL, 'remote');
      expect(reset.stream.of('release')).to.have.length(1);
    });

    it('onDrain reaches the handler only while the call can still send', () => {
      const { call, sink } = makeCall();
      call.onDrain();
      call.onReset(ErrorCode.CANCEL, 'remote');
      call.onDrain();
      expect(sink.drained).to.equal(1);
    });
  });
});
