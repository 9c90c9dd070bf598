import { expect } from 'chai';
import type * as net from 'node:net';
import * as zlib from 'node:zlib';
import { Metadata, Status } from '../../../lib';
import { ErrorCode } from '../../../lib/transport';
import { FrameType } from '../../../lib/transport/frame/frame-type';
import type { HeadersFrame } from '../../../lib/transport/frame/frame';
import { encodeMessage } from '../../../lib/grpc/protocol/message-framing';
import { type AnyClient, callFailure, ourEchoClient, unaryCall } from '../../support/client-peers';
import { frames } from '../../support/frames';
import { headerValue, RawPeer } from '../../support/raw-peer';
import { eventually } from '../../support/waiting';

/** An EchoResponse/EchoRequest { message } in protobuf wire format (field 1, length-delimited). */
function echoBytes(message: string): Buffer {
  const text = Buffer.from(message);
  return Buffer.concat([Buffer.from([0x0a, text.length]), text]);
}

const OK_HEADERS = [':status', '200', 'content-type', 'application/grpc'];

describe('the client call core against a scripted server', () => {
  let server: net.Server;
  let port: number;
  let peers: RawPeer[];
  let clients: AnyClient[];

  beforeEach(async () => {
    peers = [];
    clients = [];
    ({ server, port } = await RawPeer.listen((peer) => {
      peers.push(peer);
      peer.send(frames.settings());
    }));
  });
  afterEach(async () => {
    for (const client of clients) client.close();
    for (const peer of peers) peer.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  function client(options = {}): AnyClient {
    const made = ourEchoClient(port, options);
    clients.push(made);
    return made;
  }

  async function nextRequest(streamId?: number): Promise<{ peer: RawPeer; frame: HeadersFrame; headers: string[] }> {
    await eventually(() => peers.length > 0);
    const peer = peers[peers.length - 1];
    const frame = await peer.expectFrame(FrameType.HEADERS, (headers) => streamId === undefined || headers.streamId === streamId);
    return { peer, frame, headers: peer.headersOf(frame) };
  }

  function answer(peer: RawPeer, streamId: number, body: Buffer | null, trailers: string[], headers = OK_HEADERS): void {
    const out = [frames.headers(streamId, peer.encodeHeaders(headers))];
    if (body !== null) out.push(frames.data(streamId, body));
    out.push(frames.headers(streamId, peer.encodeHeaders(trailers), { endStream: true }));
    peer.send(out);
  }

  it('sends a gRPC request head: pseudo-headers, content-type, te, accept-encoding, user-agent, timeout, metadata', async () => {
    const metadata = new Metadata();
    metadata.set('x-custom', 'v');
    metadata.set('x-custom-bin', Buffer.from([1, 2]));
    const call = unaryCall(client(), 'hi', metadata, { deadline: Date.now() + 5000 });
    const { peer, frame, headers } = await nextRequest();
    expect(headers.slice(0, 8)).to.deep.equal([
      ':method',
      'POST',
      ':scheme',
      'http',
      ':path',
      '/grpc.examples.echo.Echo/UnaryEcho',
      ':authority',
      `127.0.0.1:${port}`,
    ]);
    expect(headerValue(headers, 'content-type')).to.equal('application/grpc');
    expect(headerValue(headers, 'te')).to.equal('trailers');
    expect(headerValue(headers, 'grpc-accept-encoding')).to.equal('identity,deflate,gzip');
    expect(headerValue(headers, 'user-agent')).to.match(/^h2grpc-node\//);
    expect(headerValue(headers, 'grpc-timeout')).to.match(/^\d+m$/);
    expect(headerValue(headers, 'x-custom')).to.equal('v');
    expect(headerValue(headers, 'x-custom-bin')).to.equal(Buffer.from([1, 2]).toString('base64'));
    const data = await peer.expectFrame(FrameType.DATA, (frame) => frame.endStream);
    expect(data.data).to.deep.equal(encodeMessage(echoBytes('hi')));
    answer(peer, frame.streamId, encodeMessage(echoBytes('back')), ['grpc-status', '0']);
    expect((await call).message).to.equal('back');
  });

  it('compresses requests (grpc-encoding, flag 1) and decompresses responses; accept-encoding with spaces is trimmed', async () => {
    const gzipClient = client({ 'grpc.default_compression_algorithm': 2 });
    const first = unaryCall(gzipClient, 'squeeze');
    const { peer, frame, headers } = await nextRequest();
    expect(headerValue(headers, 'grpc-encoding')).to.equal('gzip');
    const data = await peer.expectFrame(FrameType.DATA);
    expect(data.data[0]).to.equal(1);
    expect(zlib.gunzipSync(data.data.subarray(5))).to.deep.equal(echoBytes('squeeze'));
    const compressed = zlib.gzipSync(echoBytes('unsqueezed'));
    const body = Buffer.concat([Buffer.from([1, 0, 0, 0, compressed.length]), compressed]);
    answer(peer, frame.streamId, body, ['grpc-status', '0'], [...OK_HEADERS, 'grpc-encoding', 'gzip', 'grpc-accept-encoding', 'identity, deflate, gzip']);
    expect((await first).message).to.equal('unsqueezed');
    // The server accepts gzip (listed after a space): the next request is still compressed.
    const second = unaryCall(gzipClient, 'again');
    const next = await nextRequest(3);
    expect(headerValue(next.headers, 'grpc-encoding')).to.equal('gzip');
    answer(peer, 3, encodeMessage(echoBytes('ok')), ['grpc-status', '0'], [...OK_HEADERS, 'grpc-accept-encoding', 'identity']);
    await second;
    // A server that accepts identity only gets uncompressed requests from then on.
    const third = unaryCall(gzipClient, 'plain');
    const last = await nextRequest(5);
    expect(headerValue(last.headers, 'grpc-encoding')).to.equal(undefined);
    answer(peer, 5, encodeMessage(echoBytes('ok')), ['grpc-status', '0']);
    await third;
  });

  for (const [httpStatus, code] of [
    ['400', Status.INTERNAL],
    ['401', Status.UNAUTHENTICATED],
    ['403', Status.PERMISSION_DENIED],
    ['404', Status.UNIMPLEMENTED],
    ['429', Status.UNAVAILABLE],
    ['503', Status.UNAVAILABLE],
    ['500', Status.UNKNOWN],
  ] as const) {
    it(`HTTP ${httpStatus} without grpc-status maps to ${Status[code]}`, async () => {
      const call = unaryCall(client(), 'x');
      const { peer, frame } = await nextRequest();
      peer.send(frames.headers(frame.streamId, peer.encodeHeaders([':status', httpStatus, 'content-type', 'text/html']), { endStream: true }));
      const error = await callFailure(call);
      expect(error.code).to.equal(code);
      expect(error.details).to.contain(httpStatus);
    });
  }

  it('a 200 response that is not application/grpc is UNKNOWN, and the stream is reset', async () => {
    const failed = callFailure(unaryCall(client(), 'x'));
    const { peer, frame } = await nextRequest();
    peer.send(frames.headers(frame.streamId, peer.encodeHeaders([':status', '200', 'content-type', 'text/html'])));
    const error = await failed;
    expect(error.code).to.equal(Status.UNKNOWN);
    await peer.expectRstStream(frame.streamId, ErrorCode.CANCEL);
  });

  it('a trailers-only response: status, percent-decoded message and metadata from the headers', async () => {
    const call = unaryCall(client(), 'x');
    const { peer, frame } = await nextRequest();
    const headers = [...OK_HEADERS, 'grpc-status', '5', 'grpc-message', 'no %E2%9C%93 here %zz', 'x-info', 'i'];
    peer.send(frames.headers(frame.streamId, peer.encodeHeaders(headers), { endStream: true }));
    const error = await callFailure(call);
    expect(error.code).to.equal(Status.NOT_FOUND);
    expect(error.details).to.equal('no ✓ here %zz');
    expect(error.metadata.get('x-info')).to.deep.equal(['i']);
  });

  it('a stream that ends without trailers is INTERNAL; an unknown grpc-status is UNKNOWN', async () => {
    const c = client();
    const first = unaryCall(c, 'x');
    const { peer, frame } = await nextRequest();
    peer.send([
      frames.headers(frame.streamId, peer.encodeHeaders(OK_HEADERS)),
      frames.data(frame.streamId, encodeMessage(echoBytes('a')), { endStream: true }),
    ]);
    expect((await callFailure(first)).code).to.equal(Status.INTERNAL);
    const second = unaryCall(c, 'y');
    const next = await nextRequest(3);
    answer(next.peer, 3, encodeMessage(echoBytes('b')), ['grpc-status', '99']);
    expect((await callFailure(second)).code).to.equal(Status.UNKNOWN);
  });

  it('a message cut short by END_STREAM is INTERNAL; a bad compressed flag is INTERNAL', async () => {
    const c = client();
    const first = unaryCall(c, 'x');
    const { peer, frame } = await nextRequest();
    answer(peer, frame.streamId, encodeMessage(echoBytes('abc')).subarray(0, 6), ['grpc-status', '0']);
    expect((await callFailure(first)).code).to.equal(Status.INTERNAL);
    const second = unaryCall(c, 'y');
    await nextRequest(3);
    answer(peer, 3, Buffer.from([7, 0, 0, 0, 0]), ['grpc-status', '0']);
    const error = await callFailure(second);
    expect(error.code).to.equal(Status.INTERNAL);
    expect(error.details).to.contain('compressed flag');
  });

  it('RST_STREAM REFUSED_STREAM before any response: the request is sent again (transparent retry)', async () => {
    const call = unaryCall(client(), 'retry me');
    const { peer, frame } = await nextRequest();
    peer.send(frames.rstStream(frame.streamId, ErrorCode.REFUSED_STREAM));
    const retried = await nextRequest(frame.streamId + 2);
    const data = await peer.expectFrame(FrameType.DATA, (candidate) => candidate.streamId === retried.frame.streamId);
    expect(data.data).to.deep.equal(encodeMessage(echoBytes('retry me')));
    answer(peer, retried.frame.streamId, encodeMessage(echoBytes('done')), ['grpc-status', '0']);
    expect((await call).message).to.equal('done');
  });

  it('any other RST_STREAM maps to its status (CANCEL → CANCELLED, ENHANCE_YOUR_CALM → RESOURCE_EXHAUSTED)', async () => {
    const c = client();
    const first = unaryCall(c, 'x');
    const { peer, frame } = await nextRequest();
    peer.send(frames.rstStream(frame.streamId, ErrorCode.CANCEL));
    expect((await callFailure(first)).code).to.equal(Status.CANCELLED);
    const second = unaryCall(c, 'y');
    await nextRequest(3);
    peer.send(frames.rstStream(3, ErrorCode.ENHANCE_YOUR_CALM));
    expect((await callFailure(second)).code).to.equal(Status.RESOURCE_EXHAUSTED);
  });

  it('a connection lost mid-call is UNAVAILABLE', async () => {
    const call = unaryCall(client(), 'x');
    const { peer } = await nextRequest();
    peer.destroy();
    expect((await callFailure(call)).code).to.equal(Status.UNAVAILABLE);
  });

  it('a deadline resets the stream with CANCEL and fails DEADLINE_EXCEEDED', async () => {
    const failed = callFailure(unaryCall(client(), 'x', undefined, { deadline: Date.now() + 50 }));
    const { peer, frame } = await nextRequest();
    expect((await failed).code).to.equal(Status.DEADLINE_EXCEEDED);
    await peer.expectRstStream(frame.streamId, ErrorCode.CANCEL);
  });

  it('response headers over our header-list limit fail the call INTERNAL (the stream is reset PROTOCOL_ERROR)', async () => {
    const failed = callFailure(unaryCall(client({ transport: { settings: { maxHeaderListSize: 1024 } } }), 'x'));
    const { peer, frame } = await nextRequest();
    peer.send(frames.headers(frame.streamId, peer.encodeHeaders([...OK_HEADERS, 'x-big', 'b'.repeat(4000)])));
    await peer.expectRstStream(frame.streamId, ErrorCode.PROTOCOL_ERROR);
    expect((await failed).code).to.equal(Status.INTERNAL);
  });
});
