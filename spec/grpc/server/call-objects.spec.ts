import { expect } from 'chai';
import { Writable } from 'node:stream';
import type { Server, ServerWritableStream } from '../../../lib';
import { untilWritable } from '../../../lib/grpc/server/call-objects';
import { startEchoServer } from '../../support/echo-server';
import { RawPeer } from '../../support/raw-peer';
import { echoMessage, grpcRequestHeaders } from '../../support/echo-request';

describe('server call objects', () => {
  let server: Server | undefined;
  afterEach(() => {
    server?.forceShutdown();
    server = undefined;
  });

  it('end(message, encoding, callback) serializes the message, then ends with OK and calls back', async () => {
    let endCallback = false;
    let port: number;
    ({ server, port } = await startEchoServer({
      ServerStreamingEcho(call: ServerWritableStream) {
        call.write({ message: 'first' });
        call.end({ message: 'last' }, 'utf8', () => (endCallback = true));
      },
    }));
    const peer = await RawPeer.connect(port);
    try {
      peer.sendPreface();
      peer.request(1, grpcRequestHeaders('/grpc.examples.echo.Echo/ServerStreamingEcho'), echoMessage('x'));
      const response = await peer.expectResponse(1);
      expect(response.grpcStatus).to.equal('0');
      // Exactly two framed EchoResponses (field 1 = "first", "last"), no stray bytes from the encoding argument.
      const framed = (text: string) => Buffer.concat([Buffer.from([0, 0, 0, 0, text.length + 2, 0x0a, text.length]), Buffer.from(text)]);
      expect(response.data.toString('hex')).to.equal(Buffer.concat([framed('first'), framed('last')]).toString('hex'));
      expect(endCallback).to.equal(true);
    } finally {
      peer.destroy();
    }
  });

  it('untilWritable resolves for a destroyed stream (a cancelled call never drains)', async () => {
    const stream = new Writable({ write: (_chunk, _encoding, callback) => callback() });
    stream.destroy();
    await untilWritable(stream);
    const waiting = new Writable({ write: () => {} });
    const resolved = untilWritable(waiting);
    waiting.destroy();
    await resolved;
  });
});
