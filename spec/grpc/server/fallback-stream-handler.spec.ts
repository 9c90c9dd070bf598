/** Server.setFallbackStreamHandler(): streams for paths no gRPC service has go to another handler. */
import { expect } from 'chai';
import { type Server } from '../../../lib';
import type { Http2Stream } from '../../../lib/transport';
import { expectError, grpc, grpcJsEchoClient, unary, type EchoClient } from '../../support/echo-client';
import { startEchoServer } from '../../support/echo-server';

function callPath(client: EchoClient, path: string): Promise<unknown> {
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest(
      path,
      (value: Buffer) => value,
      (value: Buffer) => value,
      Buffer.alloc(0),
      (error, value) => (error ? reject(error) : resolve(value)),
    ),
  );
}

describe('Server.setFallbackStreamHandler', () => {
  let server: Server;
  let client: EchoClient;
  const seen: string[] = [];

  before(async () => {
    let port: number;
    ({ server, port } = await startEchoServer());
    client = grpcJsEchoClient(port);
  });
  after(() => {
    client.close();
    server.forceShutdown();
  });

  it('gets the streams of unknown paths; known paths stay with the gRPC services', async () => {
    server.setFallbackStreamHandler((stream: Http2Stream) => {
      seen.push(stream.requestHead!.path);
      stream.sendHeaders([':status', '200', 'content-type', 'application/grpc', 'grpc-status', '9', 'grpc-message', 'from the fallback'], true);
    });
    expect((await unary(client, 'still gRPC')).message).to.equal('still gRPC');
    const error = await expectError(callPath(client, '/other.Service/Method'));
    expect(error.code).to.equal(grpc.status.FAILED_PRECONDITION);
    expect(error.details).to.equal('from the fallback');
    expect(seen).to.deep.equal(['/other.Service/Method']);
  });

  it('null removes it: unknown paths are UNIMPLEMENTED again', async () => {
    server.setFallbackStreamHandler(null);
    const error = await expectError(callPath(client, '/other.Service/Method'));
    expect(error.code).to.equal(grpc.status.UNIMPLEMENTED);
    expect(seen).to.have.length(1);
  });

  it('refuses a handler that is not a function', () => {
    expect(() => server.setFallbackStreamHandler('nope' as never)).to.throw(TypeError, 'requires a function or null');
  });
});
