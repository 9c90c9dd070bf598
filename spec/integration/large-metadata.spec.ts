/**
 * Response metadata larger than the client accepts (its SETTINGS_MAX_HEADER_LIST_SIZE, or our
 * 64 KiB cap) is never sent: the call ends with INTERNAL instead, and the connection stays good.
 * (Sent anyway, a 100 kB trailer wedged a grpc-js connection.)
 */
import { expect } from 'chai';
import { type Server, type ServerUnaryCall, type ServerWritableStream } from '../../lib';
import { Metadata } from '../../lib';
import { startEchoServer } from '../support/echo-server';
import { expectError, grpc, grpcJsEchoClient, unary } from '../support/echo-client';

describe('integration: response metadata over the header list limit', () => {
  let server: Server;
  let port: number;
  const big = 'v'.repeat(100_000);

  before(async () => {
    ({ server, port } = await startEchoServer({
      UnaryEcho(call: ServerUnaryCall<{ message: string }>, callback: (error: unknown, value?: unknown, trailer?: Metadata) => void) {
        const metadata = new Metadata();
        metadata.set('x-big', big);
        switch (call.request.message) {
          case 'headers':
            call.sendMetadata(metadata);
            callback(null, { message: 'unreachable' });
            return;
          case 'trailers':
            callback(null, { message: 'sent' }, metadata);
            return;
          case 'error-trailers':
            callback({ code: grpc.status.NOT_FOUND, details: 'nope', metadata });
            return;
          default:
            callback(null, { message: call.request.message });
        }
      },
      ServerStreamingEcho(call: ServerWritableStream<{ message: string }>) {
        call.write({ message: 'first' });
        const metadata = new Metadata();
        metadata.set('x-big', big);
        call.end(metadata);
      },
    }));
  });
  after(() => server.forceShutdown());

  for (const [what, message] of [
    ['initial metadata', 'headers'],
    ['trailers of an OK unary call', 'trailers'],
    ['trailers of an error (trailers-only response)', 'error-trailers'],
  ] as const) {
    it(`${what}: the client gets INTERNAL, and the next call on the connection works`, async () => {
      const client = grpcJsEchoClient(port);
      try {
        const error = await expectError(unary(client, message));
        expect(error.code).to.equal(grpc.status.INTERNAL);
        expect(error.details).to.match(/larger than the client accepts/);
        expect((await unary(client, 'after')).message).to.equal('after');
      } finally {
        client.close();
      }
    });
  }

  it('trailers of a server stream after a message: the message arrives, then INTERNAL', async () => {
    const client = grpcJsEchoClient(port);
    try {
      const call = client.ServerStreamingEcho({ message: 'x' });
      const messages: string[] = [];
      call.on('data', (reply: { message: string }) => messages.push(reply.message));
      const error = await new Promise<grpc.ServiceError>((resolve) => call.on('error', resolve));
      expect(messages).to.deep.equal(['first']);
      expect(error.code).to.equal(grpc.status.INTERNAL);
      expect((await unary(client, 'after')).message).to.equal('after');
    } finally {
      client.close();
    }
  });

  it('a client allowing only 100 bytes of headers (legal) gets RST_STREAM(INTERNAL_ERROR) per call, and the connection lives on', async () => {
    const { RawPeer } = await import('../support/raw-peer');
    const { grpcRequestHeaders } = await import('../support/echo-request');
    const { frames, PREFACE } = await import('../support/frames');
    const { FrameType } = await import('../../lib/transport/frame/frame-type');
    const { ErrorCode } = await import('../../lib/transport/errors');
    const { server: tight, port: tightPort } = await startEchoServer({
      UnaryEcho(call: ServerUnaryCall<{ message: string }>, callback: (error: unknown, value?: unknown) => void) {
        // Answered later, outside the transport's frame handling (this used to throw, uncaught).
        setImmediate(() => callback(null, { message: call.request.message }));
      },
    });
    const peer = await RawPeer.connect(tightPort);
    try {
      peer.send([PREFACE, frames.settings([{ id: 0x6, value: 100 }])]);
      await peer.expectFrame(FrameType.SETTINGS, (frame) => frame.ack);
      peer.request(1);
      await peer.expectRstStream(1, ErrorCode.INTERNAL_ERROR);
      // An answer from the server itself (UNIMPLEMENTED) does not fit either.
      peer.request(3, grpcRequestHeaders('/no.Such/Method'));
      await peer.expectRstStream(3, ErrorCode.INTERNAL_ERROR);
      peer.send(frames.ping(Buffer.from('stillok!')));
      await peer.expectFrame(FrameType.PING, (frame) => frame.ack);
    } finally {
      peer.destroy();
      tight.forceShutdown();
    }
  });
});
