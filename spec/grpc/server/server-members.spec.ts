import { expect } from 'chai';
import * as tls from 'node:tls';
import { Server, ServerCredentials } from '../../../lib';
import { createClientConnection, type HeaderList, type StreamListener } from '../../../lib/transport';
import { echoImplementation, loadEchoService } from '../../../examples/echo-service';
import { testPki } from '../../support/certificates';
import { duplexPair } from '../../../lib/transport/duplex-pair';
import { ECHO_UNARY_PATH, echoMessage, grpcRequestHeaders } from '../../support/echo-request';
import { type EchoClient, expectError, grpc, unary } from '../../support/echo-client';
import * as protoLoader from '@grpc/proto-loader';
import { ECHO_PROTO } from '../../../examples/echo-service';

/** Issue 13: the grpc-js Server members besides bindAsync (register, start, old APIs, accept, forceShutdown). */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const echo = (grpc.loadPackageDefinition(protoLoader.loadSync(ECHO_PROTO, { keepCase: true, defaults: true })) as any).grpc.examples.echo;
const insecure = ServerCredentials.createInsecure();

function bind(server: Server, address = '127.0.0.1:0'): Promise<number> {
  return new Promise((resolve, reject) => server.bindAsync(address, insecure, (error, port) => (error ? reject(error) : resolve(port))));
}

/** Sends one Echo unary call over our client transport on `socket`; resolves with the trailers' grpc-status and the body. */
function callOver(socket: Parameters<typeof createClientConnection>[0]): Promise<{ status: string | undefined; body: Buffer }> {
  const connection = createClientConnection(socket);
  const stream = connection.request(grpcRequestHeaders(ECHO_UNARY_PATH), false);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let status: string | undefined;
    const listener: StreamListener = {
      onHeaders() {},
      onData: (chunk) => chunks.push(chunk),
      onTrailers(trailers: HeaderList) {
        status = trailers[trailers.indexOf('grpc-status') + 1] as string;
      },
      onEnd: () => {
        connection.close();
        resolve({ status, body: Buffer.concat(chunks) });
      },
      onReset: (code) => reject(new Error(`reset ${code}`)),
      onDrain() {},
    };
    stream.setListener(listener);
    stream.write(echoMessage('over a duplex'), true);
  });
}

describe('Server members', () => {
  let server: Server;
  const clients: grpc.Client[] = [];
  const client = (port: number): EchoClient => {
    const made = new echo.Echo(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as EchoClient;
    clients.push(made);
    return made;
  };

  beforeEach(() => {
    server = new Server();
  });

  afterEach(() => {
    for (const made of clients.splice(0)) made.close();
    server.forceShutdown();
  });

  it('register() adds one method by path (false when taken); unregister() removes it (UNIMPLEMENTED after)', async () => {
    const service = loadEchoService();
    const { path, responseSerialize, requestDeserialize } = service.UnaryEcho;
    const handler = (call: { request: { message: string } }, callback: (error: null, value: unknown) => void) =>
      callback(null, { message: `registered ${call.request.message}` });
    expect(server.register(path, handler, responseSerialize, requestDeserialize, 'unary')).to.equal(true);
    expect(server.register(path, handler, responseSerialize, requestDeserialize, 'unary')).to.equal(false);
    expect(() => server.register('/x/Y', handler, responseSerialize, requestDeserialize, 'sideways')).to.throw(TypeError, 'Invalid handlerType sideways');
    const port = await bind(server);
    expect(await unary(client(port), 'hi')).to.deep.equal({ message: 'registered hi' });
    expect(server.unregister(path)).to.equal(true);
    expect(server.unregister(path)).to.equal(false);
    expect((await expectError(unary(client(port), 'gone'))).code).to.equal(grpc.status.UNIMPLEMENTED);
  });

  it("bind(), addProtoService() and addHttp2Port() throw grpc-js's errors", () => {
    expect(() => server.bind('127.0.0.1:0', insecure)).to.throw('Not implemented. Use bindAsync() instead');
    expect(() => server.addProtoService()).to.throw('Not implemented. Use addService() instead');
    expect(() => server.addHttp2Port()).to.throw('Not yet implemented');
  });

  it('start() throws before a bind and when called twice, as grpc-js 1.14', async () => {
    expect(() => server.start()).to.throw('server must be bound in order to start');
    await bind(server);
    server.start();
    expect(() => server.start()).to.throw('server is already started');
  });

  it('getChannelzRef() returns a server reference, distinct per server', () => {
    const other = new Server();
    expect(server.getChannelzRef()).to.include({ kind: 'server', name: 'server' });
    expect(server.getChannelzRef().id).not.to.equal(other.getChannelzRef().id);
  });

  it('accept() serves plaintext HTTP/2 on any duplex (one end of an in-memory pair)', async () => {
    server.addService(loadEchoService(), echoImplementation);
    const [serverEnd, clientEnd] = duplexPair();
    expect(server.accept(serverEnd)).not.to.equal(null);
    const { status, body } = await callOver(clientEnd);
    expect(status).to.equal('0');
    expect(body.subarray(5).toString()).to.contain('over a duplex');
  });

  it('a TLS injector secures any duplex too (tls.connect over an in-memory pair)', async () => {
    server.addService(loadEchoService(), echoImplementation);
    const pki = testPki();
    const injector = server.createConnectionInjector(ServerCredentials.createSsl(null, [{ private_key: pki.server.key, cert_chain: pki.server.cert }]));
    const [serverEnd, clientEnd] = duplexPair();
    injector.injectConnection(serverEnd);
    const secure = tls.connect({ socket: clientEnd, ca: pki.ca, servername: 'localhost', ALPNProtocols: ['h2'] });
    await new Promise((resolve, reject) => secure.once('secureConnect', resolve).once('error', reject));
    const { status } = await callOver(secure);
    expect(status).to.equal('0');
  });

  it('forceShutdown: grpc-js clients see CANCELLED on every call kind, as with a grpc-js server', async () => {
    let started = 0;
    const hold = () => {
      started++;
    };
    server.addService(loadEchoService(), { UnaryEcho: hold, ServerStreamingEcho: hold, ClientStreamingEcho: hold, BidirectionalStreamingEcho: hold });
    const grpcClient = client(await bind(server));
    const outcome = (call: grpc.ClientReadableStream<unknown> | grpc.ClientDuplexStream<unknown, unknown> | grpc.ClientWritableStream<unknown>) =>
      new Promise<number>((resolve) => {
        call.on('error', (error: grpc.ServiceError) => resolve(error.code));
        call.on('data', () => {});
      });
    const unaryOutcome = expectError(unary(grpcClient, 'held')).then((error) => error.code);
    const serverStream = outcome(grpcClient.ServerStreamingEcho({ message: 'held' }));
    let clientStreamCode!: Promise<number>;
    const clientStream = grpcClient.ClientStreamingEcho((error: grpc.ServiceError | null) => (clientStreamCode = Promise.resolve(error?.code ?? -1)));
    clientStream.write({ message: 'held' });
    const clientStreamDone = new Promise((resolve) => clientStream.on('status', resolve));
    const bidi = grpcClient.BidirectionalStreamingEcho();
    bidi.write({ message: 'held' });
    const bidiOutcome = outcome(bidi);
    await new Promise<void>((resolve) => {
      const check = () => (started === 4 ? resolve() : setImmediate(check));
      check();
    });
    server.forceShutdown();
    await clientStreamDone;
    expect([await unaryOutcome, await serverStream, await clientStreamCode, await bidiOutcome]).to.deep.equal(Array(4).fill(grpc.status.CANCELLED));
  });
});
