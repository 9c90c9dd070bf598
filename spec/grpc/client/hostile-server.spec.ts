import { expect } from 'chai';
import type * as net from 'node:net';
import { Status } from '../../../lib';
import { ErrorCode } from '../../../lib/transport';
import { FrameType } from '../../../lib/transport/frame/frame-type';
import type { HeadersFrame, SettingsFrame } from '../../../lib/transport/frame/frame';
import { encodeMessage } from '../../../lib/grpc/protocol/message-framing';
import { type AnyClient, callFailure, ourEchoClient, unaryCall } from '../../support/client-peers';
import { frames } from '../../support/frames';
import { RawPeer } from '../../support/raw-peer';
import { eventually } from '../../support/waiting';

/**
 * Our client against a hostile or broken server that keeps its connection open: every call ends
 * with a status (none hangs), connection errors are answered with GOAWAY and the RFC 9113 code,
 * and the process survives.
 */

const OK_HEADERS = [':status', '200', 'content-type', 'application/grpc'];
const MESSAGE = encodeMessage(Buffer.from([0x0a, 0x02, 0x68, 0x69]));

describe('our client against a hostile server', () => {
  let server: net.Server;
  let port: number;
  let peers: RawPeer[];
  let clients: AnyClient[];
  let greet: (peer: RawPeer) => void;

  beforeEach(async () => {
    peers = [];
    clients = [];
    greet = (peer) => peer.send(frames.settings());
    ({ server, port } = await RawPeer.listen((peer) => {
      peers.push(peer);
      greet(peer);
    }));
  });
  afterEach(async () => {
    for (const client of clients) client.close();
    for (const peer of peers) peer.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  function client(options = {}): AnyClient {
    const made = ourEchoClient(port, { 'grpc.initial_reconnect_backoff_ms': 10_000, ...options });
    clients.push(made);
    return made;
  }

  async function nextRequest(): Promise<{ peer: RawPeer; frame: HeadersFrame }> {
    await eventually(() => peers.length > 0);
    const peer = peers[peers.length - 1];
    const frame = (await peer.expectFrame(FrameType.HEADERS)) as HeadersFrame;
    return { peer, frame };
  }

  async function clientSettings(peer: RawPeer): Promise<SettingsFrame> {
    return (await peer.expectFrame(FrameType.SETTINGS, (frame) => !frame.ack)) as SettingsFrame;
  }

  it('PUSH_PROMISE (push disabled): GOAWAY PROTOCOL_ERROR, the call fails', async () => {
    const failed = callFailure(unaryCall(client(), 'x'));
    const { peer, frame } = await nextRequest();
    peer.send([frames.headers(frame.streamId, peer.encodeHeaders(OK_HEADERS)), frames.pushPromise(frame.streamId, 2, peer.encodeHeaders([':method', 'GET']))]);
    await peer.expectGoAway(ErrorCode.PROTOCOL_ERROR);
    expect((await failed).code).to.be.oneOf([Status.UNAVAILABLE, Status.INTERNAL]);
  });

  it('a connection WINDOW_UPDATE past 2^31-1: GOAWAY FLOW_CONTROL_ERROR, the call fails', async () => {
    const failed = callFailure(unaryCall(client(), 'x'));
    const { peer } = await nextRequest();
    peer.send([frames.windowUpdate(0, 2 ** 31 - 1), frames.windowUpdate(0, 2 ** 31 - 1)]);
    await peer.expectGoAway(ErrorCode.FLOW_CONTROL_ERROR);
    expect((await failed).code).to.be.oneOf([Status.UNAVAILABLE, Status.INTERNAL]);
  });

  it('a stream WINDOW_UPDATE past 2^31-1 on an open stream: that stream is reset FLOW_CONTROL_ERROR, its call fails; the next call runs', async () => {
    const c = client();
    const bidi = c.BidirectionalStreamingEcho();
    const status = new Promise<number>((resolve) => {
      bidi.on('data', () => {});
      bidi.on('error', (error: { code: number }) => resolve(error.code));
      bidi.on('end', () => resolve(Status.OK));
    });
    bidi.write({ message: 'x' });
    const { peer, frame } = await nextRequest();
    peer.send([frames.windowUpdate(frame.streamId, 2 ** 31 - 1), frames.windowUpdate(frame.streamId, 2 ** 31 - 1)]);
    await peer.expectRstStream(frame.streamId, ErrorCode.FLOW_CONTROL_ERROR);
    expect(await status).to.equal(Status.INTERNAL);
    const next = unaryCall(c, 'y');
    const second = (await peer.expectFrame(FrameType.HEADERS, (headers) => headers.streamId > frame.streamId)) as HeadersFrame;
    peer.send([
      frames.headers(second.streamId, peer.encodeHeaders(OK_HEADERS)),
      frames.data(second.streamId, MESSAGE),
      frames.headers(second.streamId, peer.encodeHeaders(['grpc-status', '0']), { endStream: true }),
    ]);
    expect(await next).to.deep.equal({ message: 'hi' });
  });

  it('an endless header block (CONTINUATION after CONTINUATION): the client stops it, the call fails', async function () {
    this.timeout(20_000);
    const failed = callFailure(unaryCall(client(), 'x'));
    const { peer, frame } = await nextRequest();
    peer.send(frames.headers(frame.streamId, peer.encodeHeaders(OK_HEADERS), { endHeaders: false }));
    const filler = Buffer.alloc(16_000, 0x40);
    let sent = 0;
    const answered = peer.expectMatching((got) => got.type === FrameType.GOAWAY || got.type === FrameType.RST_STREAM, 'GOAWAY or RST_STREAM', 15_000);
    let stop = false;
    void answered.finally(() => (stop = true)).catch(() => {});
    // 64 MiB at most, 1 MiB per turn so the client gets to answer.
    while (!stop && sent < 64 * 1024 * 1024 && !peer.socket.destroyed) {
      for (let index = 0; index < 64 && !peer.socket.destroyed; index++) peer.send(frames.continuation(frame.streamId, filler, false));
      sent += 64 * filler.length;
      await new Promise((resolve) => setImmediate(resolve));
    }
    await answered;
    expect(sent).to.be.lessThan(32 * 1024 * 1024);
    expect((await failed).code).to.be.oneOf([Status.UNAVAILABLE, Status.INTERNAL, Status.RESOURCE_EXHAUSTED]);
  });

  it('trailers without grpc-status: the call ends with a status, not a hang', async () => {
    const failed = callFailure(unaryCall(client(), 'x'));
    const { peer, frame } = await nextRequest();
    peer.send([
      frames.headers(frame.streamId, peer.encodeHeaders(OK_HEADERS)),
      frames.data(frame.streamId, MESSAGE),
      frames.headers(frame.streamId, peer.encodeHeaders(['x-other', 'y']), { endStream: true }),
    ]);
    expect((await failed).code).to.be.oneOf([Status.UNKNOWN, Status.INTERNAL]);
  });

  it('MAX_CONCURRENT_STREAMS 0, then raised: the call waits, then runs', async () => {
    greet = (peer) => peer.send(frames.settings([{ id: 3, value: 0 }]));
    const done = unaryCall(client(), 'x');
    await eventually(() => peers.length > 0);
    const peer = peers[0];
    await clientSettings(peer);
    peer.send(frames.settings([{ id: 3, value: 10 }]));
    const frame = (await peer.expectFrame(FrameType.HEADERS)) as HeadersFrame;
    peer.send([
      frames.headers(frame.streamId, peer.encodeHeaders(OK_HEADERS)),
      frames.data(frame.streamId, MESSAGE),
      frames.headers(frame.streamId, peer.encodeHeaders(['grpc-status', '0']), { endStream: true }),
    ]);
    expect(await done).to.deep.equal({ message: 'hi' });
  });

  it('a server that never sends SETTINGS: the call fails UNAVAILABLE after the connect timeout', async () => {
    greet = () => {};
    const began = Date.now();
    const failed = await callFailure(unaryCall(client({ 'h2grpc.min_connect_timeout_ms': 300, 'grpc.initial_reconnect_backoff_ms': 100 }), 'x'));
    expect(failed.code).to.equal(Status.UNAVAILABLE);
    expect(Date.now() - began).to.be.lessThan(5000);
  });

  it('a server that closes in the middle of a message: UNAVAILABLE', async () => {
    const failed = callFailure(unaryCall(client(), 'x'));
    const { peer, frame } = await nextRequest();
    peer.send([frames.headers(frame.streamId, peer.encodeHeaders(OK_HEADERS)), frames.data(frame.streamId, MESSAGE.subarray(0, 5))]);
    peer.socket.end();
    expect((await failed).code).to.be.oneOf([Status.UNAVAILABLE, Status.INTERNAL]);
  });

  it('a GOAWAY flood (1000, last-stream-id rising and falling): no crash; the open call is answered, a new call fails or runs', async () => {
    const c = client();
    const done = unaryCall(c, 'x');
    const { peer, frame } = await nextRequest();
    const flood: Buffer[] = [];
    for (let index = 0; index < 1000; index++)
      flood.push(frames.goAway(index % 2 === 0 ? 2 ** 31 - 1 : frame.streamId, index % 3 === 0 ? ErrorCode.NO_ERROR : ErrorCode.ENHANCE_YOUR_CALM));
    peer.send(flood);
    peer.send([
      frames.headers(frame.streamId, peer.encodeHeaders(OK_HEADERS)),
      frames.data(frame.streamId, MESSAGE),
      frames.headers(frame.streamId, peer.encodeHeaders(['grpc-status', '0']), { endStream: true }),
    ]);
    const outcome = await done.then(
      (value) => value,
      (error: { code: number }) => error.code,
    );
    // A GOAWAY may not raise last-stream-id (RFC 9113 §6.8): the client may treat it as a connection error.
    expect(outcome === Status.INTERNAL || outcome === Status.UNAVAILABLE || (outcome as { message: string }).message === 'hi', String(outcome)).to.equal(true);
    const next = await unaryCall(c, 'y', undefined, { deadline: Date.now() + 500 }).then(
      () => Status.OK,
      (error: { code: number }) => error.code,
    );
    expect(next).to.be.within(Status.OK, Status.UNAUTHENTICATED);
  });

  it('a GOAWAY naming a last stream below an open call: the call is sent again on a new connection, not lost', async () => {
    const done = unaryCall(client({ 'grpc.initial_reconnect_backoff_ms': 100 }), 'x');
    const { peer } = await nextRequest();
    peer.send(frames.goAway(0, ErrorCode.NO_ERROR));
    await eventually(() => peers.length > 1);
    const retried = (await peers[1].expectFrame(FrameType.HEADERS)) as HeadersFrame;
    peers[1].send([
      frames.headers(retried.streamId, peers[1].encodeHeaders(OK_HEADERS)),
      frames.data(retried.streamId, MESSAGE),
      frames.headers(retried.streamId, peers[1].encodeHeaders(['grpc-status', '0']), { endStream: true }),
    ]);
    expect(await done).to.deep.equal({ message: 'hi' });
  });
});
