import { expect } from 'chai';
import { ErrorCode, HeaderListTooLargeError, type Initiator, UserError } from '../../../lib/transport/errors';
import { ReceiveWindow } from '../../../lib/transport/flow-control';
import { headerListSize, prepareHeaders } from '../../../lib/transport/hpack/header-block';
import type { ControlItem } from '../../../lib/transport/outbound/control-item';
import { Http2Stream, type StreamHost, type StreamListener } from '../../../lib/transport/stream/http2-stream';
import type { StreamState } from '../../../lib/transport/stream/stream-state';

/** A StreamHost that records every call. */
class FakeHost implements StreamHost {
  readonly items: ControlItem[] = [];
  readonly consumedBytes: number[] = [];
  readonly closed: Http2Stream[] = [];
  readonly released: Http2Stream[] = [];
  readonly exempted: Http2Stream[] = [];
  queued = 0;
  maxSendHeaderListSize = Infinity;
  spendWrite(): boolean {
    return true;
  }
  queueDrain(stream: Http2Stream): void {
    stream.deliverDrain();
  }

  put(item: ControlItem): boolean {
    this.items.push(item);
    return true;
  }
  consumed(_stream: Http2Stream, bytes: number): void {
    this.consumedBytes.push(bytes);
  }
  streamClosed(stream: Http2Stream): void {
    this.closed.push(stream);
  }
  queuedBytesChanged(delta: number): void {
    this.queued += delta;
  }
  streamReleased(stream: Http2Stream): void {
    this.released.push(stream);
  }
  exemptFromDataRate(stream: Http2Stream): void {
    this.exempted.push(stream);
  }
}

/** A listener that records events in order. */
class Recorder implements StreamListener {
  readonly events: string[] = [];
  readonly chunks: Buffer[] = [];
  onData(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.events.push(`data:${chunk.toString('latin1')}`);
  }
  onTrailers(trailers: string[]): void {
    this.events.push(`trailers:${trailers.join(',')}`);
  }
  onEnd(): void {
    this.events.push('end');
  }
  onReset(errorCode: number, initiator: Initiator): void {
    this.events.push(`reset:${errorCode}:${initiator}`);
  }
  onDrain(): void {
    this.events.push('drain');
  }
}

function peerStream(host: FakeHost, options: { writeQuota?: number; state?: StreamState } = {}): Http2Stream {
  return new Http2Stream(1, host, new ReceiveWindow(65535), options.writeQuota ?? 100, {
    state: options.state ?? 'open',
    headers: [':method', 'POST'],
    by: 'remote',
  });
}

const text = (value: string): Buffer => Buffer.from(value, 'latin1');

describe('Http2Stream', () => {
  describe('sending', () => {
    it('write() queues DATA items and returns false once bytes plus 128 per queued write reach the quota', () => {
      const host = new FakeHost();
      const stream = peerStream(host, { writeQuota: 300 });
      expect(stream.write(Buffer.alloc(6)), '134 of 300').to.equal(true);
      expect(stream.write(Buffer.alloc(3)), '265 of 300').to.equal(true);
      expect(stream.write(Buffer.alloc(1)), '394 of 300').to.equal(false);
      expect(stream.queuedBytes).to.equal(10);
      expect(host.queued).to.equal(10);
      expect(host.items.map((item) => item.kind)).to.deep.equal(['data', 'data', 'data']);
    });

    it('tiny writes use up the quota by their count, not their bytes', () => {
      const stream = peerStream(new FakeHost(), { writeQuota: 400 });
      const results = [1, 2, 3, 4].map(() => stream.write(Buffer.alloc(1)));
      expect(results).to.deep.equal([true, true, true, false]);
      expect(stream.queuedBytes).to.equal(4);
    });

    it('onDrain fires once when written bytes and writes bring the cost below the quota, and only after a false write()', () => {
      const host = new FakeHost();
      const stream = peerStream(host, { writeQuota: 200 });
      const recorder = new Recorder();
      stream.setListener(recorder);
      stream.write(Buffer.alloc(4));
      stream.onBytesWritten(4, 1);
      expect(recorder.events).to.deep.equal([]);
      expect(stream.write(Buffer.alloc(80))).to.equal(false);
      stream.onBytesWritten(2, 0);
      expect(recorder.events, '78 + 128: still at the quota').to.deep.equal([]);
      stream.onBytesWritten(10, 0);
      expect(recorder.events).to.deep.equal(['drain']);
      stream.onBytesWritten(68, 1);
      expect(recorder.events).to.deep.equal(['drain']);
      expect(stream.queuedBytes).to.equal(0);
      expect(host.queued).to.equal(0);
    });

    it('sendHeaders once; a second call or writing after the end throws UserError', () => {
      const host = new FakeHost();
      const stream = peerStream(host);
      stream.sendHeaders([':status', '200']);
      expect(stream.headersSent).to.equal(true);
      expect(() => stream.sendHeaders([':status', '200'])).to.throw(UserError, /headers already sent/);
      stream.end();
      expect(() => stream.write(text('x'))).to.throw(UserError, /not writable/);
      expect(() => stream.end()).to.throw(UserError);
    });

    it('end() without trailers is an empty DATA frame with END_STREAM; with trailers a trailers item', () => {
      const host = new FakeHost();
      const plain = peerStream(host);
      plain.end();
      expect(host.items).to.have.length(1);
      const data = host.items[0];
      expect(data.kind === 'data' && data.endStream && data.data.length === 0).to.equal(true);
      expect(plain.localEnded).to.equal(true);

      const withTrailers = new FakeHost();
      peerStream(withTrailers).end(['grpc-status', '0']);
      expect(withTrailers.items).to.deep.equal([{ kind: 'trailers', streamId: 1, template: null, headers: ['grpc-status', '0'], next: null }]);
      const withTemplate = new FakeHost();
      const template = prepareHeaders(['grpc-status', '0']);
      peerStream(withTemplate).end(null, template);
      expect(withTemplate.items).to.deep.equal([{ kind: 'trailers', streamId: 1, template, headers: null, next: null }]);
    });

    it('prepared headers not made by prepareHeaders() are refused', () => {
      const stream = peerStream(new FakeHost());
      expect(() => stream.end(null, { fields: ['a', 'b'] } as never)).to.throw(UserError, /prepareHeaders/);
    });

    it('a stream the peer ended (half-closed remote) can still send; a half-closed local one cannot', () => {
      expect(() => peerStream(new FakeHost(), { state: 'halfClosedRemote' }).write(text('x'))).not.to.throw();
      expect(() => peerStream(new FakeHost(), { state: 'halfClosedLocal' }).write(text('x'))).to.throw(UserError);
    });
  });

  describe('header list size', () => {
    it('fitsHeaderList counts headers plus prepared template against maxSendHeaderListSize', () => {
      const host = new FakeHost();
      const stream = peerStream(host);
      const headers = ['x-a', 'bbbb'];
      const template = prepareHeaders([':status', '200']);
      const size = headerListSize(headers) + headerListSize([':status', '200']);
      host.maxSendHeaderListSize = size;
      expect(stream.fitsHeaderList(headers, template)).to.equal(true);
      host.maxSendHeaderListSize = size - 1;
      expect(stream.fitsHeaderList(headers, template)).to.equal(false);
      expect(stream.fitsHeaderList(headers)).to.equal(true);
    });

    it('a list exactly at the limit is sent; one octet over throws', () => {
      const host = new FakeHost();
      const headers = ['x-a', 'bbbb'];
      host.maxSendHeaderListSize = headerListSize(headers);
      expect(() => peerStream(host).sendHeaders(headers)).not.to.throw();
      host.maxSendHeaderListSize -= 1;
      expect(() => peerStream(host).sendHeaders(headers)).to.throw(HeaderListTooLargeError);
      expect(() => peerStream(host).end(headers)).to.throw(HeaderListTooLargeError);
    });

    it('sendHeaders and end throw HeaderListTooLargeError before queueing anything, leaving the stream usable', () => {
      const host = new FakeHost();
      const stream = peerStream(host);
      host.maxSendHeaderListSize = 40;
      expect(() => stream.sendHeaders(['x-long', 'y'.repeat(10)]))
        .to.throw(HeaderListTooLargeError)
        .with.property('limit', 40);
      expect(stream.headersSent).to.equal(false);
      expect(() => stream.end(['grpc-message', 'z'.repeat(10)])).to.throw(HeaderListTooLargeError);
      expect(stream.localEnded).to.equal(false);
      expect(host.items).to.deep.equal([]);
      stream.sendHeaders(['a', 'b']);
      stream.end(['c', 'd']);
      expect(host.items.map((item) => item.kind)).to.deep.equal(['headers', 'trailers']);
    });
  });

  describe('receiving', () => {
    it('delivers data straight to a listener and reports each chunk consumed', () => {
      const host = new FakeHost();
      const stream = peerStream(host);
      const recorder = new Recorder();
      stream.setListener(recorder);
      stream.receiveData(text('ab'), false);
      stream.receiveData(text('cde'), false);
      expect(recorder.events).to.deep.equal(['data:ab', 'data:cde']);
      expect(host.consumedBytes).to.deep.equal([2, 3]);
      expect(stream.bytesReceived).to.equal(5);
    });

    it('buffers data until a listener is attached, then delivers it and the end in order', () => {
      const host = new FakeHost();
      const stream = peerStream(host);
      stream.receiveData(text('a'), false);
      stream.receiveData(text('b'), false);
      stream.receiveEnd(['grpc-status', '0']);
      expect(host.consumedBytes, 'no window returned before anyone read').to.deep.equal([]);
      expect(stream.bufferedBytes).to.equal(2);
      const recorder = new Recorder();
      stream.setListener(recorder);
      expect(recorder.events).to.deep.equal(['data:a', 'data:b', 'trailers:grpc-status,0', 'end']);
      expect(host.consumedBytes).to.deep.equal([1, 1]);
      expect(stream.state).to.equal('halfClosedRemote');
    });

    it('pause() withholds data and window; resume() delivers it and returns the window', () => {
      const host = new FakeHost();
      const stream = peerStream(host);
      const recorder = new Recorder();
      stream.setListener(recorder);
      stream.pause();
      expect(stream.isPaused).to.equal(true);
      stream.receiveData(text('xy'), false);
      stream.receiveData(text('z'), true);
      expect(recorder.events).to.deep.equal([]);
      expect(host.consumedBytes).to.deep.equal([]);
      stream.resume();
      expect(recorder.events).to.deep.equal(['data:xy', 'data:z', 'end']);
      expect(host.consumedBytes).to.deep.equal([2, 1]);
    });

    it('a listener that pauses inside onData stops delivery after that chunk', () => {
      const host = new FakeHost();
      const stream = peerStream(host);
      const recorder = new Recorder();
      const onData = recorder.onData.bind(recorder);
      recorder.onData = (chunk) => {
        onData(chunk);
        stream.pause();
      };
      stream.setListener(recorder);
      stream.pause();
      stream.receiveData(text('1'), false);
      stream.receiveData(text('2'), false);
      stream.resume();
      expect(recorder.events).to.deep.equal(['data:1']);
      expect(stream.bufferedBytes).to.equal(1);
      stream.resume();
      expect(recorder.events).to.deep.equal(['data:1', 'data:2']);
    });

    it('closing on both ends reports streamClosed once the end was delivered and our END_STREAM written', () => {
      const host = new FakeHost();
      const stream = peerStream(host);
      stream.setListener(new Recorder());
      stream.end();
      stream.receiveEnd(null);
      expect(host.closed).to.deep.equal([]);
      stream.onEndWritten();
      expect(stream.state).to.equal('closed');
      expect(stream.isAborted).to.equal(false);
      expect(host.closed).to.deep.equal([stream]);
    });

    it('resetAfterEnd sends RST_STREAM once our END_STREAM is written while the peer still sends', () => {
      const host = new FakeHost();
      const stream = peerStream(host);
      stream.resetAfterEnd(ErrorCode.NO_ERROR);
      stream.end();
      stream.onEndWritten();
      expect(stream.state).to.equal('closed');
      expect(host.items.at(-1)).to.deep.equal({ kind: 'cleanupStream', streamId: 1, rstCode: ErrorCode.NO_ERROR, responseToPeer: false, next: null });
    });
  });

  describe('detach', () => {
    it('drops buffered input and the listener; later data is discarded; the end still closes the stream', () => {
      const host = new FakeHost();
      const stream = peerStream(host, { state: 'halfClosedLocal' });
      const recorder = new Recorder();
      stream.setListener(recorder);
      stream.pause();
      stream.receiveData(text('held'), false);
      stream.detach();
      expect(stream.bufferedBytes).to.equal(0);
      expect(stream.isPaused).to.equal(false);
      stream.receiveData(text('more'), false);
      expect(stream.bufferedBytes).to.equal(0);
      expect(recorder.events).to.deep.equal([]);
      stream.receiveData(text('last'), true);
      expect(stream.state).to.equal('closed');
      expect(host.closed).to.deep.equal([stream]);
      expect(recorder.events).to.deep.equal([]);
    });

    it('detaching after an undelivered END_STREAM on a closed stream reports it closed', () => {
      const host = new FakeHost();
      const stream = peerStream(host, { state: 'halfClosedLocal' });
      stream.receiveEnd(null);
      expect(stream.state).to.equal('closed');
      expect(host.closed).to.deep.equal([]);
      stream.detach();
      expect(host.closed).to.deep.equal([stream]);
    });
  });

  describe('reset', () => {
    it('reset() closes, queues one cleanupStream with the code, and is a no-op afterwards', () => {
      const host = new FakeHost();
      const stream = peerStream(host);
      const recorder = new Recorder();
      stream.setListener(recorder);
      stream.reset(ErrorCode.INTERNAL_ERROR);
      stream.reset(ErrorCode.CANCEL);
      stream.receiveReset(ErrorCode.CANCEL, 'remote');
      expect(host.items).to.deep.equal([{ kind: 'cleanupStream', streamId: 1, rstCode: ErrorCode.INTERNAL_ERROR, responseToPeer: false, next: null }]);
      expect(stream.isAborted).to.equal(true);
      expect(stream.state).to.equal('closed');
      expect(host.closed).to.deep.equal([stream]);
      // The stream's own reset is not reported back to its listener.
      expect(recorder.events).to.deep.equal([]);
    });

    it('receiveReset tells the listener once, with the code and initiator', () => {
      const host = new FakeHost();
      const stream = peerStream(host);
      const recorder = new Recorder();
      stream.setListener(recorder);
      stream.receiveReset(ErrorCode.CANCEL, 'remote');
      stream.receiveReset(ErrorCode.PROTOCOL_ERROR, 'library');
      expect(recorder.events).to.deep.equal([`reset:${ErrorCode.CANCEL}:remote`]);
      expect(host.closed).to.have.length(1);
    });

    it('a reset writes off queued bytes; later write reports change nothing and fire no drain', () => {
      const host = new FakeHost();
      const stream = peerStream(host, { writeQuota: 4 });
      const recorder = new Recorder();
      stream.setListener(recorder);
      stream.write(Buffer.alloc(10));
      expect(host.queued).to.equal(10);
      stream.receiveReset(ErrorCode.CANCEL, 'remote');
      expect(stream.queuedBytes).to.equal(0);
      expect(host.queued).to.equal(0);
      stream.onBytesWritten(10, 1);
      expect(host.queued).to.equal(0);
      expect(recorder.events).to.deep.equal([`reset:${ErrorCode.CANCEL}:remote`]);
    });

    it('a reset drops data buffered for the listener', () => {
      const host = new FakeHost();
      const stream = peerStream(host);
      stream.receiveData(text('unread'), false);
      stream.reset();
      expect(stream.bufferedBytes).to.equal(0);
      const recorder = new Recorder();
      stream.setListener(recorder);
      expect(recorder.events).to.deep.equal([]);
    });
  });

  describe('retain and release', () => {
    it('a retained stream that closes is held until release(), which reports it once', () => {
      const host = new FakeHost();
      const stream = peerStream(host);
      stream.retain();
      stream.reset();
      expect(stream.holdAfterClose()).to.equal(true);
      expect(stream.isHeldAfterClose).to.equal(true);
      stream.release();
      expect(stream.isHeldAfterClose).to.equal(false);
      expect(host.released).to.deep.equal([stream]);
      stream.release();
      expect(host.released).to.have.length(1);
    });

    it('released before closing: nothing is held and streamReleased is not called', () => {
      const host = new FakeHost();
      const stream = peerStream(host);
      stream.retain();
      stream.release();
      stream.reset();
      expect(stream.holdAfterClose()).to.equal(false);
      expect(host.released).to.deep.equal([]);
    });

    it('never retained: holdAfterClose is false and release() is a no-op', () => {
      const host = new FakeHost();
      const stream = peerStream(host);
      stream.reset();
      expect(stream.holdAfterClose()).to.equal(false);
      stream.release();
      expect(host.released).to.deep.equal([]);
    });
  });

  it('exemptFromDataRate forwards the stream to its host', () => {
    const host = new FakeHost();
    const stream = peerStream(host);
    stream.exemptFromDataRate();
    expect(host.exempted).to.deep.equal([stream]);
  });
});
