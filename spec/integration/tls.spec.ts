import { expect } from 'chai';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { type AuthContext, Server, ServerCredentials, type ServerOptions, type UntypedServiceImplementation } from '../../lib';
import { echoImplementation, loadEchoService } from '../../examples/echo-service';
import { testPki, type Identity } from '../support/certificates';
import { type EchoClient, expectError, grpc, unary } from '../support/echo-client';
import * as protoLoader from '@grpc/proto-loader';
import { ECHO_PROTO } from '../../examples/echo-service';

/**
 * Issue 13, TLS: grpc-js clients over TLS and mutual TLS against our server (node:tls under our
 * own HTTP/2), ALPN "h2" required, certificates reloaded without a restart, getAuthContext().
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const echo = (grpc.loadPackageDefinition(protoLoader.loadSync(ECHO_PROTO, { keepCase: true, defaults: true })) as any).grpc.examples.echo;

const pki = testPki();
const pair = (identity: Identity) => ({ private_key: identity.key, cert_chain: identity.cert });

function secureClient(port: number, identity?: Identity): EchoClient {
  const credentials = grpc.credentials.createSsl(pki.ca, identity?.key ?? null, identity?.cert ?? null);
  return new echo.Echo(`localhost:${port}`, credentials) as EchoClient;
}

function bind(server: Server, credentials: Parameters<Server['bindAsync']>[1], address = 'localhost:0'): Promise<number> {
  return new Promise((resolve, reject) => server.bindAsync(address, credentials, (error, port) => (error ? reject(error) : resolve(port))));
}

/** A raw TLS connection to the server; resolves once the handshake is done (rejects on its error). */
function tlsConnect(port: number, options: tls.ConnectionOptions = {}): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: pki.ca, servername: 'localhost', ALPNProtocols: ['h2'], ...options });
    socket.once('secureConnect', () => resolve(socket));
    socket.once('error', reject);
  });
}

describe('integration: TLS', () => {
  let server: Server;
  const clients: grpc.Client[] = [];
  const sockets: net.Socket[] = [];
  let authContexts: AuthContext[];

  function startServer(overrides: UntypedServiceImplementation = {}, options: ServerOptions = {}): Server {
    server = new Server(options);
    authContexts = [];
    server.addService(loadEchoService(), {
      ...echoImplementation,
      UnaryEcho(call: grpc.ServerUnaryCall<{ message: string }, unknown>, callback: grpc.sendUnaryData<unknown>) {
        authContexts.push(call.getAuthContext());
        callback(null, { message: call.request.message });
      },
      ...overrides,
    });
    return server;
  }

  const client = (port: number, identity?: Identity) => {
    const made = secureClient(port, identity);
    clients.push(made);
    return made;
  };

  afterEach(() => {
    for (const made of clients.splice(0)) made.close();
    for (const socket of sockets.splice(0)) socket.destroy();
    server?.forceShutdown();
  });

  it('serves a grpc-js client over TLS; getAuthContext() is {} without a client certificate, as grpc-js', async () => {
    startServer();
    const port = await bind(server, ServerCredentials.createSsl(null, [pair(pki.server)]));
    expect(await unary(client(port), 'over tls')).to.deep.equal({ message: 'over tls' });
    expect(authContexts).to.deep.equal([{}]);
  });

  it('mutual TLS: a client with a certificate from rootCerts is served, and getAuthContext() shows it', async () => {
    startServer();
    const port = await bind(server, ServerCredentials.createSsl(pki.ca, [pair(pki.server)], true));
    expect(await unary(client(port, pki.client), 'mtls')).to.deep.equal({ message: 'mtls' });
    expect(authContexts).to.have.length(1);
    const [context] = authContexts;
    expect(context.transportSecurityType).to.equal('ssl');
    expect(context.sslPeerCertificate?.subject.CN).to.equal('h2grpc test client');
    expect(context.sslPeerCertificate?.raw).to.be.instanceOf(Buffer);
  });

  it('mutual TLS: a client without a certificate, or with one from another CA, is refused in the handshake', async () => {
    startServer();
    const port = await bind(server, ServerCredentials.createSsl(pki.ca, [pair(pki.server)], true));
    const withoutCertificate = await expectError(unary(client(port), 'no cert'));
    expect(withoutCertificate.code).to.equal(grpc.status.UNAVAILABLE);
    expect(withoutCertificate.details).to.match(/certificate required/);
    const stranger = await expectError(unary(client(port, pki.strangerClient), 'stranger'));
    expect(stranger.code).to.equal(grpc.status.UNAVAILABLE);
    expect(authContexts).to.deep.equal([]);
    expect(server.stats.connections).to.equal(0);
  });

  it('ALPN h2 is required: a TLS client offering no ALPN, or only http/1.1, gets the no_application_protocol alert', async () => {
    startServer();
    const port = await bind(server, ServerCredentials.createSsl(null, [pair(pki.server)]));
    for (const ALPNProtocols of [undefined, ['http/1.1']]) {
      const error = await tlsConnect(port, { ALPNProtocols }).then(
        (socket) => {
          sockets.push(socket);
          throw new Error('the handshake succeeded');
        },
        (failure: NodeJS.ErrnoException) => failure,
      );
      expect(error.code, String(ALPNProtocols)).to.equal('ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL');
    }
    const socket = await tlsConnect(port, { ALPNProtocols: ['http/1.1', 'h2'] });
    sockets.push(socket);
    expect(socket.alpnProtocol).to.equal('h2');
  });

  it("a client that sends nothing, or half a ClientHello, is closed after 'h2grpc.handshake_timeout_ms'", async () => {
    startServer({}, { 'h2grpc.handshake_timeout_ms': 200 });
    const port = await bind(server, ServerCredentials.createSsl(null, [pair(pki.server)]));
    const hello = await new Promise<Buffer>((resolve) => {
      const capture = net.createServer((socket) => socket.once('data', (chunk: Buffer) => (socket.destroy(), capture.close(), resolve(chunk))));
      capture.listen(0, '127.0.0.1', () => {
        const probe = tls.connect({ host: '127.0.0.1', port: (capture.address() as net.AddressInfo).port, ALPNProtocols: ['h2'] });
        probe.on('error', () => probe.destroy());
      });
    });
    for (const sent of [Buffer.alloc(0), hello.subarray(0, hello.length >> 1)]) {
      const socket = net.connect(port, '127.0.0.1');
      sockets.push(socket);
      socket.write(sent);
      const started = Date.now();
      await new Promise((resolve) =>
        socket
          .on('close', resolve)
          .on('error', () => {})
          .resume(),
      );
      expect(Date.now() - started, `${sent.length} bytes sent`).to.be.within(100, 5000);
    }
  });

  it("'h2grpc.max_connections' refuses a TLS connection past the limit before its handshake; 'h2grpc.admit_connection' sees TLS sockets", async () => {
    const admitted: string[] = [];
    startServer({}, { 'h2grpc.max_connections': 1, 'h2grpc.admit_connection': (socket) => (admitted.push(socket.constructor.name), true) });
    const port = await bind(server, ServerCredentials.createSsl(null, [pair(pki.server)]));
    const first = client(port);
    expect(await unary(first, 'first')).to.deep.equal({ message: 'first' });
    const refused = await tlsConnect(port).then(
      (socket) => (sockets.push(socket), null),
      (error: Error) => error,
    );
    expect(refused?.message).to.match(/socket disconnected|ECONNRESET/);
    expect(await unary(first, 'still served')).to.deep.equal({ message: 'still served' });
    expect(admitted).to.deep.equal(['TLSSocket']);
  });

  it('updateSecureContext(): new connections get the new certificate while an open call goes on', async () => {
    startServer();
    const credentials = ServerCredentials.createSsl(null, [pair(pki.server)]);
    const port = await bind(server, credentials);
    const before = await tlsConnect(port);
    sockets.push(before);
    expect(before.getPeerCertificate().subject.CN).to.equal('h2grpc test server');

    // A bidi call open on the old certificate.
    const oldClient = client(port);
    const call = oldClient.BidirectionalStreamingEcho();
    const replies: string[] = [];
    const nextReply = () => new Promise<string>((resolve) => call.once('data', (reply: { message: string }) => resolve(reply.message)));
    call.write({ message: 'one' });
    replies.push(await nextReply());

    credentials.updateSecureContext(null, [pair(pki.server2)]);
    const after = await tlsConnect(port);
    sockets.push(after);
    expect(after.getPeerCertificate().subject.CN).to.equal('h2grpc test server 2');
    expect(await unary(client(port), 'new connection')).to.deep.equal({ message: 'new connection' });

    call.write({ message: 'two' });
    replies.push(await nextReply());
    call.end();
    await new Promise((resolve) => call.on('status', resolve));
    expect(replies).to.deep.equal(['one', 'two']);
    expect(before.destroyed).to.equal(false);
  });

  it('updateSecureContext() checks its arguments and rejects a key that does not match, keeping the old certificate', async () => {
    startServer();
    const credentials = ServerCredentials.createSsl(null, [pair(pki.server)]);
    const port = await bind(server, credentials);
    expect(() => credentials.updateSecureContext(null, [{ private_key: pki.client.key, cert_chain: pki.server2.cert }])).to.throw();
    expect(() => credentials.updateSecureContext(null, 'x' as never)).to.throw(TypeError, 'keyCertPairs must be an array');
    expect(() => ServerCredentials.createInsecure().updateSecureContext(null, [])).to.throw(/Insecure credentials/);
    const socket = await tlsConnect(port);
    sockets.push(socket);
    expect(socket.getPeerCertificate().subject.CN).to.equal('h2grpc test server');
  });

  it("accepts grpc-js's own ServerCredentials (createSsl with client certificates, and createInsecure)", async () => {
    startServer();
    const securePort = await bind(server, grpc.ServerCredentials.createSsl(pki.ca, [pair(pki.server)], true));
    expect(await unary(client(securePort, pki.client), 'grpc-js creds')).to.deep.equal({ message: 'grpc-js creds' });
    expect(authContexts[0].sslPeerCertificate?.subject.CN).to.equal('h2grpc test client');
    await expectError(unary(client(securePort), 'no cert'));
    const insecurePort = await bind(server, grpc.ServerCredentials.createInsecure(), '127.0.0.1:0');
    const plain = new echo.Echo(`127.0.0.1:${insecurePort}`, grpc.credentials.createInsecure()) as EchoClient;
    clients.push(plain);
    expect(await unary(plain, 'plain')).to.deep.equal({ message: 'plain' });
  });

  it("follows a grpc-js certificate provider's updates (its watcher API), refusing connections until it has certificates", async () => {
    startServer();
    let identityListener: ((update: { certificate: Buffer; privateKey: Buffer } | null) => void) | null = null;
    const provider = {
      addCaCertificateListener() {},
      removeCaCertificateListener() {},
      addIdentityCertificateListener(listener: typeof identityListener) {
        identityListener = listener;
      },
      removeIdentityCertificateListener() {
        identityListener = null;
      },
    };
    const credentials = grpc.experimental.createCertificateProviderServerCredentials(provider as never, null, false);
    const port = await bind(server, credentials);
    // No certificates yet: the connection is dropped before any handshake.
    await tlsConnect(port).then(
      () => expect.fail('connected without certificates'),
      (error: Error) => expect(error.message).to.match(/socket disconnected|ECONNRESET/),
    );
    identityListener!({ certificate: pki.server.cert, privateKey: pki.server.key });
    expect(await unary(client(port), 'provided')).to.deep.equal({ message: 'provided' });
    identityListener!({ certificate: pki.server2.cert, privateKey: pki.server2.key });
    const socket = await tlsConnect(port);
    sockets.push(socket);
    expect(socket.getPeerCertificate().subject.CN).to.equal('h2grpc test server 2');
    server.forceShutdown();
    expect(identityListener).to.equal(null);
  });

  it('createConnectionInjector() with TLS credentials runs the handshake on injected sockets', async () => {
    startServer();
    const injector = server.createConnectionInjector(ServerCredentials.createSsl(pki.ca, [pair(pki.server)], true));
    const outer = net.createServer((socket) => injector.injectConnection(socket));
    await new Promise<void>((resolve) => outer.listen(0, '127.0.0.1', resolve));
    try {
      const port = (outer.address() as net.AddressInfo).port;
      expect(await unary(client(port, pki.client), 'injected')).to.deep.equal({ message: 'injected' });
      expect(authContexts[0].transportSecurityType).to.equal('ssl');
      injector.destroy();
    } finally {
      outer.close();
    }
  });

  it('forceShutdown cancels calls on TLS connections: the grpc-js client sees CANCELLED', async () => {
    let started!: () => void;
    const handlerStarted = new Promise<void>((resolve) => (started = resolve));
    startServer({
      UnaryEcho() {
        started();
      },
    });
    const port = await bind(server, ServerCredentials.createSsl(null, [pair(pki.server)]));
    const pending = expectError(unary(client(port), 'held'));
    await handlerStarted;
    server.forceShutdown();
    const error = await pending;
    expect(error.code).to.equal(grpc.status.CANCELLED);
  });
});
