import { expect } from 'chai';
import { execFile } from 'node:child_process';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import { once } from 'node:events';
import { Server } from '../../lib';
import { addConnectRouter, connectH2grpcAdapter } from '../../lib/connect';
import { createServerConnection, type Http2Connection } from '../../lib/transport';
import { loadEchoService } from '../../examples/echo-service';
import { Code, ConnectError, connectNodeClient, echoRecorder, echoRoutes } from '../support/connect-echo';
import { expectError, grpc, grpcJsEchoClient, unary, type EchoClient } from '../support/echo-client';
import { collect, eventually } from '../support/waiting';

/** One request with node:http2; resolves with the response status, headers, body and trailers. */
function rawRequest(port: number, path: string, contentType: string, body: Buffer) {
  return new Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: Buffer; trailers: http2.IncomingHttpHeaders }>((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const request = session.request({ ':method': 'POST', ':path': path, 'content-type': contentType, te: 'trailers' });
    const chunks: Buffer[] = [];
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    request.on('response', (value) => (headers = value));
    request.on('trailers', (value) => (trailers = value));
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      session.close();
      resolve({ status: Number(headers[':status']), headers, body: Buffer.concat(chunks), trailers });
    });
    request.on('error', (error) => {
      session.close();
      reject(error);
    });
    request.end(body);
  });
}

describe('integration: a gRPC service and a Connect router on the same Server', () => {
  let server: Server;
  let port: number;
  let client: EchoClient;
  const recorder = echoRecorder();

  before(async () => {
    server = new Server();
    // The gRPC service implements only UnaryEcho; the other Echo methods fall through to the router.
    server.addService(loadEchoService(), {
      UnaryEcho(call, callback) {
        callback(null, { message: `grpc:${call.request.message}` });
      },
    });
    addConnectRouter(server, { routes: echoRoutes(recorder) });
    port = await server.listen(0);
    client = grpcJsEchoClient(port, { 'grpc.default_compression_algorithm': 2 });
  });
  after(() => {
    client.close();
    server.forceShutdown();
  });

  it('grpc-js calls reach the gRPC service and the Connect router over one connection', async () => {
    const [fromGrpc, fromConnect] = await Promise.all([
      unary(client, 'hello'),
      collect<{ message: string }>(client.ServerStreamingEcho({ message: 'repeat:3:connect' })),
    ]);
    expect(fromGrpc.message).to.equal('grpc:hello');
    expect(fromConnect.map((response) => response.message)).to.deep.equal(['connect', 'connect', 'connect']);
    expect(server.stats.connections).to.equal(1);
  });

  it('client streaming and bidi from grpc-js (gzip-compressed) on the Connect router', async () => {
    const response = await new Promise<{ message: string }>((resolve, reject) => {
      const call = client.ClientStreamingEcho((error: Error | null, value: { message: string }) => (error ? reject(error) : resolve(value)));
      for (const message of ['a', 'b', 'c']) call.write({ message });
      call.end();
    });
    expect(response.message).to.equal('a,b,c');
    expect(recorder.lastRequestHeader?.get('grpc-encoding')).to.equal('gzip');
    const call = client.BidirectionalStreamingEcho();
    const done = collect<{ message: string }>(call);
    const big = 'z'.repeat(300_000);
    for (const message of ['x', big, 'y']) call.write({ message });
    call.end();
    expect((await done).map((item) => item.message)).to.deep.equal(['x', big, 'y']);
  });

  it('a Connect error reaches grpc-js with its code, message, metadata and status details', async () => {
    const call = client.BidirectionalStreamingEcho();
    const done = collect(call);
    call.write({ message: 'fail:7:no entry' });
    call.end();
    const error = await expectError(done);
    expect(error.code).to.equal(grpc.status.PERMISSION_DENIED);
    expect(error.details).to.equal('no entry');
    expect(error.metadata.get('x-fail')).to.deep.equal(['yes']);
    expect(error.metadata.get('grpc-status-details-bin')).to.have.length(1);
  });

  it('grpc-js metadata in, response headers and trailers out', async () => {
    const metadata = new grpc.Metadata();
    metadata.set('x-request', 'from-grpc-js');
    const call = client.BidirectionalStreamingEcho(metadata);
    const headers = new Promise<grpc.Metadata>((resolve) => call.once('metadata', resolve));
    const status = new Promise<grpc.StatusObject>((resolve) => call.once('status', resolve));
    const done = collect(call);
    call.write({ message: 'headers' });
    call.end();
    await done;
    expect((await headers).get('x-echo-header')).to.deep.equal(['from-grpc-js']);
    expect((await status).metadata.get('x-echo-trailer')).to.deep.equal(['from-grpc-js']);
  });

  it('a grpc-js deadline: DEADLINE_EXCEEDED, and the handler signal fires', async () => {
    const aborts = recorder.aborts.length;
    const call = client.ServerStreamingEcho({ message: 'wait' }, new grpc.Metadata(), { deadline: Date.now() + 150 });
    const error = await expectError(collect(call));
    expect(error.code).to.equal(grpc.status.DEADLINE_EXCEEDED);
    await eventually(() => recorder.aborts.length > aborts);
  });

  it('a grpc-js cancel: CANCELLED, and the handler signal fires with Canceled', async () => {
    const aborts = recorder.aborts.length;
    const waiting = recorder.waiting;
    const call = client.BidirectionalStreamingEcho();
    const done = expectError(collect(call));
    call.write({ message: 'wait' });
    await eventually(() => recorder.waiting > waiting);
    call.cancel();
    expect((await done).code).to.equal(grpc.status.CANCELLED);
    await eventually(() => recorder.aborts.length > aborts);
    expect(ConnectError.from(recorder.aborts[aborts]).code).to.equal(Code.Canceled);
  });

  it('a method neither has: UNIMPLEMENTED for grpc-js, 404 for a Connect client', async () => {
    const generic = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    try {
      const error = await expectError(
        new Promise((resolve, reject) =>
          generic.makeUnaryRequest(
            '/no.Such/Method',
            (value: Buffer) => value,
            (value: Buffer) => value,
            Buffer.alloc(0),
            (failure, value) => (failure ? reject(failure) : resolve(value)),
          ),
        ),
      );
      expect(error.code).to.equal(grpc.status.UNIMPLEMENTED);
      expect(error.details).to.equal('The server does not implement the method /no.Such/Method');
    } finally {
      generic.close();
    }
    expect((await rawRequest(port, '/no.Such/Method', 'application/json', Buffer.from('{}'))).status).to.equal(404);
    expect((await rawRequest(port, '/no.Such/Method', 'application/grpc-web+proto', Buffer.alloc(5))).status).to.equal(404);
  });

  it('connect-node clients of all three protocols beside grpc-js', async () => {
    for (const protocol of ['connect', 'grpc', 'grpc-web'] as const) {
      const connection = connectNodeClient(protocol, port);
      try {
        const messages: string[] = [];
        for await (const response of connection.client.serverStreamingEcho({ message: `repeat:2:${protocol}` })) messages.push(response.message);
        expect(messages).to.deep.equal([protocol, protocol]);
      } finally {
        connection.close();
      }
    }
  });
});

describe('integration: a Connect router alone on bare server connections (connectH2grpcAdapter)', () => {
  let listener: net.Server;
  let port: number;
  const connections: Http2Connection[] = [];

  before(async () => {
    const adapter = connectH2grpcAdapter({ routes: echoRoutes() });
    listener = net.createServer((socket) => {
      const connection = createServerConnection(socket);
      connections.push(connection);
      adapter.serve(connection);
    });
    listener.listen(0, '127.0.0.1');
    await once(listener, 'listening');
    port = (listener.address() as net.AddressInfo).port;
  });
  after(async () => {
    for (const connection of connections) connection.close();
    listener.close();
    await once(listener, 'close');
  });

  it('serves a unary Connect call with a JSON body', async () => {
    const response = await rawRequest(port, '/grpc.examples.echo.Echo/UnaryEcho', 'application/json', Buffer.from('{"message":"json"}'));
    expect(response.status).to.equal(200);
    expect(response.headers['content-type']).to.equal('application/json');
    expect(JSON.parse(response.body.toString())).to.deep.equal({ message: 'json' });
  });

  it('answers a gRPC call, and 404 / UNIMPLEMENTED for unknown paths', async () => {
    const client = grpcJsEchoClient(port);
    try {
      expect((await unary(client, 'bare')).message).to.equal('bare');
    } finally {
      client.close();
    }
    expect((await rawRequest(port, '/other', 'application/json', Buffer.from('{}'))).status).to.equal(404);
    const grpcAnswer = await rawRequest(port, '/no.Such/Method', 'application/grpc', Buffer.alloc(5));
    expect(grpcAnswer.status).to.equal(200);
    expect(grpcAnswer.headers['grpc-status']).to.equal(String(grpc.status.UNIMPLEMENTED));
  });

  it('curl --http2-prior-knowledge with a JSON Connect unary call gets the JSON answer', async function () {
    const output = await new Promise<string | null>((resolve) => {
      execFile(
        'curl',
        [
          '--silent',
          '--show-error',
          '--http2-prior-knowledge',
          '-H',
          'content-type: application/json',
          '--data',
          '{"message":"from curl"}',
          `http://127.0.0.1:${port}/grpc.examples.echo.Echo/UnaryEcho`,
        ],
        { timeout: 10_000 },
        (error, stdout) => resolve(error !== null && (error as NodeJS.ErrnoException).code === 'ENOENT' ? null : stdout),
      );
    });
    if (output === null) this.skip();
    expect(JSON.parse(output)).to.deep.equal({ message: 'from curl' });
  });
});
