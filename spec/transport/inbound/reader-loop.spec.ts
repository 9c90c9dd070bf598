import { expect } from 'chai';
import { ConnectionError, ErrorCode, StreamError } from '../../../lib/transport/errors';
import { FrameType } from '../../../lib/transport/frame/frame-type';
import { encodeStaticHeaderBlock } from '../../../lib/transport/hpack/header-block';
import { SettingId } from '../../../lib/transport/settings';
import { FakeReaderHost, REQUEST } from '../../support/fake-reader-host';
import { frames } from '../../support/frames';

const { PROTOCOL_ERROR, STREAM_CLOSED, FLOW_CONTROL_ERROR, ENHANCE_YOUR_CALM, CANCEL } = ErrorCode;

/** A server host with stream 1 open (request headers received, no END_STREAM). */
function withOpenStream(configure: (host: FakeReaderHost) => void = () => {}): FakeReaderHost {
  const host = new FakeReaderHost();
  configure(host);
  host.request(1);
  host.items.length = 0;
  return host;
}

const bytes = (length: number, fill = 'x'): string => fill.repeat(length);

describe('ReaderLoop: DATA', () => {
  it('delivers data to the stream and charges both receive windows', () => {
    const host = withOpenStream();
    host.receive(frames.data(1, 'hello'));
    expect(host.events.get(1)).to.deep.equal(['data:hello']);
    expect(host.connectionReceiveWindow.remaining).to.equal(65535 - 5);
    expect(host.stream(1).receiveWindow.remaining).to.equal(65535 - 5);
    expect(host.errors).to.deep.equal([]);
  });

  it('returns connection window on receipt, once a quarter of the window is waiting, as an item carrying the window', () => {
    const host = withOpenStream();
    host.receive(frames.data(1, bytes(16000)));
    expect(host.items).to.deep.equal([]);
    host.receive(frames.data(1, bytes(400)));
    expect(host.items).to.have.length(1);
    const update = host.items[0];
    expect(update).to.include({ kind: 'outgoingWindowUpdate', streamId: 0, increment: 16400 });
    expect(update.kind === 'outgoingWindowUpdate' && update.window).to.equal(host.connectionReceiveWindow);
    // The window is credited only when the writer sends the WINDOW_UPDATE.
    expect(host.connectionReceiveWindow.remaining).to.equal(65535 - 16400);
  });

  it('returns connection window even when the stream holds its data (paused)', () => {
    const host = withOpenStream();
    host.stream(1).pause();
    host.receive(frames.data(1, bytes(16384)));
    expect(host.items.map((item) => item.kind === 'outgoingWindowUpdate' && item.streamId)).to.deep.equal([0]);
    expect(host.consumedBytes, 'the stream window waits for the reader').to.deep.equal([]);
  });

  it('more DATA than the connection window is a connection FLOW_CONTROL_ERROR (RFC 9113 §6.9.1)', () => {
    const host = withOpenStream((h) => (h.localSettings.initialWindowSize = 1 << 20));
    // Exactly the 65 535-byte window (nothing is credited back until the writer sends the update).
    for (let index = 0; index < 3; index++) host.receive(frames.data(1, bytes(16384)));
    host.receive(frames.data(1, bytes(16383)));
    expect(host.errors).to.deep.equal([]);
    host.receive(frames.data(1, 'x'));
    expect(host.errors).to.deep.equal([`connection ${FLOW_CONTROL_ERROR}`]);
  });

  it('more DATA than the stream window is a stream FLOW_CONTROL_ERROR on that stream only', () => {
    const host = withOpenStream((h) => (h.localSettings.initialWindowSize = 100));
    host.receive(frames.data(1, bytes(100)));
    expect(host.errors).to.deep.equal([]);
    host.receive(frames.data(1, 'y'));
    expect(host.errors).to.deep.equal([`stream 1 ${FLOW_CONTROL_ERROR}`]);
    expect(host.events.get(1)).to.deep.equal([`data:${bytes(100)}`]);
  });

  it('padding counts against both windows and is returned to the stream at once; only the data reaches the listener', () => {
    const host = withOpenStream((h) => (h.localSettings.initialWindowSize = 40));
    // 10 data bytes + pad length octet + 9 padding bytes = 20 flow-controlled bytes.
    host.receive(frames.data(1, 'abcdefghij', { padLength: 9 }));
    const stream = host.stream(1);
    expect(host.events.get(1)).to.deep.equal(['data:abcdefghij']);
    expect(host.connectionReceiveWindow.remaining).to.equal(65535 - 20);
    expect(stream.receiveWindow.remaining).to.equal(40 - 20);
    expect(host.items).to.have.length(1);
    expect(host.items[0]).to.include({ kind: 'outgoingWindowUpdate', streamId: 1, increment: 10 });
    expect(host.items[0].kind === 'outgoingWindowUpdate' && host.items[0].window).to.equal(stream.receiveWindow);
    // The listener's consumption is reported separately, for the data bytes only.
    expect(host.consumedBytes).to.deep.equal([[1, 10]]);
  });

  it('padding on a frame with END_STREAM returns no stream window (the peer cannot use it)', () => {
    const host = withOpenStream((h) => (h.localSettings.initialWindowSize = 40));
    host.receive(frames.data(1, 'abcdefghij', { padLength: 9, endStream: true }));
    expect(host.items).to.deep.equal([]);
    expect(host.events.get(1)).to.deep.equal(['data:abcdefghij', 'end']);
  });

  it("DATA on an idle stream (the peer's or ours) is a connection PROTOCOL_ERROR (RFC 9113 §5.1)", () => {
    const peerIdle = withOpenStream();
    peerIdle.receive(frames.data(3, 'x'));
    expect(peerIdle.errors).to.deep.equal([`connection ${PROTOCOL_ERROR}`]);
    const localIdle = withOpenStream();
    localIdle.receive(frames.data(2, 'x'));
    expect(localIdle.errors).to.deep.equal([`connection ${PROTOCOL_ERROR}`]);
  });

  it('DATA on a closed stream is a stream STREAM_CLOSED; the connection window is still charged and returned', () => {
    const host = new FakeReaderHost();
    host.registry.openedByPeer(1);
    host.receive(frames.data(1, bytes(16384)));
    expect(host.errors).to.deep.equal([`stream 1 ${STREAM_CLOSED}`]);
    expect(host.items).to.deep.equal([{ kind: 'outgoingWindowUpdate', streamId: 0, increment: 16384, window: host.connectionReceiveWindow, next: null }]);
  });

  it('DATA on a stream we recently reset is ignored, but its connection window is returned', () => {
    const host = new FakeReaderHost();
    host.registry.openedByPeer(1);
    host.registry.rememberReset(1);
    host.receive(frames.data(1, bytes(10000)));
    host.receive(frames.data(1, bytes(10000)));
    expect(host.errors).to.deep.equal([]);
    expect(host.items).to.deep.equal([{ kind: 'outgoingWindowUpdate', streamId: 0, increment: 20000, window: host.connectionReceiveWindow, next: null }]);
  });

  it("DATA after the peer's END_STREAM is a stream STREAM_CLOSED (RFC 9113 §6.1)", () => {
    const host = withOpenStream();
    const stream = host.stream(1);
    stream.pause();
    host.receive(frames.data(1, 'a', { endStream: true }));
    host.receive(frames.data(1, 'b'));
    expect(host.errors).to.deep.equal([`stream 1 ${STREAM_CLOSED}`]);
    expect(stream.bufferedBytes).to.equal(1);
  });

  describe('content-length (RFC 9113 §8.1.1)', () => {
    const withLength = (length: number): FakeReaderHost => {
      const host = new FakeReaderHost();
      host.request(1, { headers: [...REQUEST, 'content-length', String(length)] });
      return host;
    };

    it('DATA adding up to the content-length is accepted; padding does not count', () => {
      const host = withLength(5);
      host.receive(frames.data(1, 'abc', { padLength: 4 }));
      host.receive(frames.data(1, 'de', { endStream: true }));
      expect(host.errors).to.deep.equal([]);
      expect(host.events.get(1)).to.deep.equal(['data:abc', 'data:de', 'end']);
    });

    it('more DATA than the content-length is a stream PROTOCOL_ERROR as soon as it arrives', () => {
      const host = withLength(5);
      host.receive(frames.data(1, 'abcdef'));
      expect(host.errors).to.deep.equal([`stream 1 ${PROTOCOL_ERROR}`]);
      expect(host.events.get(1)).to.deep.equal([]);
    });

    it('END_STREAM with less DATA than the content-length is a stream PROTOCOL_ERROR', () => {
      const host = withLength(5);
      host.receive(frames.data(1, 'abc', { endStream: true }));
      expect(host.errors).to.deep.equal([`stream 1 ${PROTOCOL_ERROR}`]);
      expect(host.events.get(1)).to.deep.equal([]);
    });

    it('trailers ending a short body are a stream PROTOCOL_ERROR', () => {
      const host = withLength(5);
      host.receive(frames.data(1, 'abc'));
      host.receive(frames.headers(1, encodeStaticHeaderBlock(['x-trailer', 'y']), { endStream: true }));
      expect(host.errors).to.deep.equal([`stream 1 ${PROTOCOL_ERROR}`]);
    });

    it('a request with content-length > 0 and END_STREAM on its HEADERS is a stream PROTOCOL_ERROR, not opened', () => {
      const host = new FakeReaderHost();
      host.request(1, { headers: [...REQUEST, 'content-length', '3'], endStream: true });
      expect(host.errors).to.deep.equal([`stream 1 ${PROTOCOL_ERROR}`]);
      expect(host.opened).to.deep.equal([]);
      expect(host.registry.lastPeerStreamId).to.equal(1);
    });
  });
});

describe('ReaderLoop: RST_STREAM', () => {
  it('on an open stream: spends a reset, tells the writer to clean up (no RST back) and the listener', () => {
    const host = withOpenStream();
    host.receive(frames.rstStream(1, CANCEL));
    expect(host.resetsSpent).to.equal(1);
    expect(host.invalidFramesSpent).to.equal(0);
    expect(host.items).to.deep.equal([{ kind: 'cleanupStream', streamId: 1, rstCode: null, responseToPeer: true, next: null }]);
    expect(host.events.get(1)).to.deep.equal([`reset:${CANCEL}:remote`]);
    expect(host.registry.get(1)).to.equal(undefined);
  });

  it('on an idle stream: connection PROTOCOL_ERROR (RFC 9113 §6.4)', () => {
    const host = new FakeReaderHost();
    host.receive(frames.rstStream(1, CANCEL));
    expect(host.errors).to.deep.equal([`connection ${PROTOCOL_ERROR}`]);
    expect(host.resetsSpent).to.equal(0);
  });

  it('on a closed stream: ignored, charged as a frame that does nothing', () => {
    const host = new FakeReaderHost();
    host.registry.openedByPeer(1);
    host.receive(frames.rstStream(1, CANCEL));
    expect(host.errors).to.deep.equal([]);
    expect(host.items).to.deep.equal([]);
    expect([host.resetsSpent, host.invalidFramesSpent]).to.deep.equal([0, 1]);
  });

  it('when the reset budget is spent the ENHANCE_YOUR_CALM reaches connectionError', () => {
    const host = withOpenStream((h) => (h.resetBudget = 0));
    host.receive(frames.rstStream(1, CANCEL));
    expect(host.errors).to.deep.equal([`connection ${ENHANCE_YOUR_CALM}`]);
  });
});

describe('ReaderLoop: SETTINGS, PING, WINDOW_UPDATE, GOAWAY', () => {
  it('SETTINGS are applied to peerSettings and handed to the writer as an item', () => {
    const host = new FakeReaderHost();
    const entries = [
      { id: SettingId.INITIAL_WINDOW_SIZE, value: 1000 },
      { id: SettingId.MAX_FRAME_SIZE, value: 32768 },
    ];
    host.receive(frames.settings(entries));
    expect(host.peerSettings.initialWindowSize).to.equal(1000);
    expect(host.peerSettings.maxFrameSize).to.equal(32768);
    expect(host.items).to.deep.equal([{ kind: 'incomingSettings', entries }]);
    expect([host.settingsReceived, host.settingsAcks]).to.deep.equal([1, 0]);
  });

  it('a SETTINGS ACK is reported, with no item', () => {
    const host = new FakeReaderHost();
    host.receive(frames.settingsAck());
    expect([host.settingsReceived, host.settingsAcks]).to.deep.equal([0, 1]);
    expect(host.items).to.deep.equal([]);
  });

  it('invalid SETTINGS are a connection error and queue nothing', () => {
    const host = new FakeReaderHost();
    host.receive(frames.settings([{ id: SettingId.ENABLE_PUSH, value: 2 }]));
    host.receive(frames.settings([{ id: SettingId.INITIAL_WINDOW_SIZE, value: 2 ** 31 }]));
    expect(host.errors).to.deep.equal([`connection ${PROTOCOL_ERROR}`, `connection ${FLOW_CONTROL_ERROR}`]);
    expect(host.items).to.deep.equal([]);
    expect(host.settingsReceived).to.equal(0);
  });

  it('a PING is answered with a PING ACK item carrying the same 8 bytes (RFC 9113 §6.7)', () => {
    const host = new FakeReaderHost();
    host.receive(frames.ping('abcdefgh'));
    expect(host.pings).to.equal(1);
    expect(host.items).to.have.length(1);
    const item = host.items[0];
    expect(item.kind === 'ping' && item.ack).to.equal(true);
    expect(item.kind === 'ping' && item.data.toString('latin1')).to.equal('abcdefgh');
  });

  it('a PING ACK is reported with its data, with no item', () => {
    const host = new FakeReaderHost();
    host.receive(frames.ping('12345678', true));
    expect(host.pingAcks.map((data) => data.toString('latin1'))).to.deep.equal(['12345678']);
    expect([host.pings, host.items.length]).to.deep.equal([0, 0]);
  });

  it('WINDOW_UPDATE for the connection, an open stream or a closed stream becomes an item', () => {
    const host = withOpenStream();
    host.registry.openedByPeer(3);
    host.receive(frames.windowUpdate(0, 100));
    host.receive(frames.windowUpdate(1, 200));
    host.receive(frames.windowUpdate(3, 300));
    expect(host.errors).to.deep.equal([]);
    expect(host.items).to.deep.equal([
      { kind: 'incomingWindowUpdate', streamId: 0, increment: 100, next: null },
      { kind: 'incomingWindowUpdate', streamId: 1, increment: 200, next: null },
      { kind: 'incomingWindowUpdate', streamId: 3, increment: 300, next: null },
    ]);
  });

  it('WINDOW_UPDATE on an idle stream is a connection PROTOCOL_ERROR (RFC 9113 §5.1)', () => {
    const host = withOpenStream();
    host.receive(frames.windowUpdate(5, 1));
    host.receive(frames.windowUpdate(2, 1));
    expect(host.errors).to.deep.equal([`connection ${PROTOCOL_ERROR}`, `connection ${PROTOCOL_ERROR}`]);
    expect(host.items).to.deep.equal([]);
  });

  it('GOAWAY is handed to the host as parsed', () => {
    const host = new FakeReaderHost();
    host.receive(frames.goAway(7, ErrorCode.NO_ERROR, 'bye'));
    expect(host.goAways).to.have.length(1);
    expect(host.goAways[0]).to.include({ lastStreamId: 7, errorCode: ErrorCode.NO_ERROR });
    expect(host.goAways[0].debugData.toString()).to.equal('bye');
  });

  it('PUSH_PROMISE and a stray CONTINUATION are connection PROTOCOL_ERRORs', () => {
    const host = withOpenStream();
    host.receive(frames.pushPromise(1, 2, ''));
    host.receive({ type: FrameType.CONTINUATION, streamId: 1, endHeaders: true, headerBlock: Buffer.alloc(0) });
    expect(host.errors).to.deep.equal([`connection ${PROTOCOL_ERROR}`, `connection ${PROTOCOL_ERROR}`]);
  });
});

describe('ReaderLoop: budgets and error routing', () => {
  it('PRIORITY, unknown frames and empty DATA without END_STREAM are charged as frames that do nothing', () => {
    const host = withOpenStream();
    host.receive(frames.priority(1, { dependsOn: 0 }));
    expect(host.invalidFramesSpent).to.equal(1);
    host.receive(frames.raw(0xfa, 0, 1, 'whatever'));
    expect(host.invalidFramesSpent).to.equal(2);
    host.receive(frames.data(1, ''));
    expect(host.invalidFramesSpent).to.equal(3);
    host.receive(frames.data(1, '', { endStream: true }));
    expect(host.invalidFramesSpent, 'an empty DATA that ends the stream is useful').to.equal(3);
    expect(host.errors).to.deep.equal([]);
    expect(host.items).to.deep.equal([]);
  });

  it('a spent invalid-frame budget becomes a connection ENHANCE_YOUR_CALM', () => {
    const host = withOpenStream((h) => (h.invalidFrameBudget = 2));
    for (let index = 0; index < 3; index++) host.receive(frames.priority(1));
    expect(host.errors).to.deep.equal([`connection ${ENHANCE_YOUR_CALM}`]);
  });

  it('onStreamError and onConnectionError from the frame reader go to the host unchanged', () => {
    const host = new FakeReaderHost();
    const streamError = new StreamError(1, PROTOCOL_ERROR, 'x');
    const connectionError = new ConnectionError(PROTOCOL_ERROR, 'y');
    host.loop.onStreamError(streamError);
    host.loop.onConnectionError(connectionError);
    expect(host.streamErrors).to.deep.equal([streamError]);
    expect(host.connectionErrors).to.deep.equal([connectionError]);
  });

  it('errors other than stream and connection errors propagate (bugs are not swallowed)', () => {
    const host = withOpenStream();
    host.stream(1).setListener({
      onData: () => {
        throw new TypeError('listener bug');
      },
      onTrailers: () => {},
      onEnd: () => {},
      onReset: () => {},
      onDrain: () => {},
    });
    expect(() => host.receive(frames.data(1, 'x'))).to.throw(TypeError, 'listener bug');
  });
});
