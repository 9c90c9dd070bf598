import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import { credentials, inMemoryDialer, Server, Status } from '../../lib';
import { duplexPair } from '../../lib/transport';
import { echoImplementation } from '../../examples/echo-service';
import { type AnyClient, callFailure, EchoClient, unaryCall } from '../support/client-peers';

/** A self-signed certificate for in-memory.test, made with openssl (null when there is no openssl). */
function selfSigned(): { key: Buffer; cert: Buffer } | null {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'h2grpc-mem-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        'key.pem',
        '-out',
        'cert.pem',
        '-days',
        '2',
        '-subj',
        '/CN=in-memory.test',
        '-addext',
        'subjectAltName=DNS:in-memory.test',
      ],
      { cwd: dir, stdio: 'ignore' },
    );
    return { key: readFileSync(path.join(dir, 'key.pem')), cert: readFileSync(path.join(dir, 'cert.pem')) };
  } catch {
    return null;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('in-memory transport: the h2grpc.dialer channel option and inMemoryDialer()', () => {
  let server: Server;
  const clients: AnyClient[] = [];

  function client(target: string, options: object, secure = credentials.createInsecure()): AnyClient {
    const created = new EchoClient(target, secure, { 'grpc.initial_reconnect_backoff_ms': 20, ...options });
    clients.push(created);
    return created;
  }

  beforeEach(() => {
    server = new Server();
    server.addService(EchoClient.service, echoImplementation);
  });
  afterEach(() => {
    for (const created of clients.splice(0)) created.close();
    server.forceShutdown();
  });

  it('serves calls on a server that was never bound; the target is not resolved', async () => {
    const echo = client('no-such-host.invalid:50051', { 'h2grpc.dialer': inMemoryDialer(server) });
    expect((await unaryCall(echo, 'hello')).message).to.equal('hello');
    expect(server.stats.connections).to.equal(1);
    // No socket address: the peer is the target.
    const peer = await new Promise<string>((resolve) => {
      const call = echo.UnaryEcho({ message: 'x' }, () => resolve(call.getPeer()));
    });
    expect(peer).to.equal('no-such-host.invalid:50051');
  });

  it('the dialer gets host:port (or the Unix path) as written, and may return a promise', async () => {
    const addresses: string[] = [];
    const dialer = inMemoryDialer(server);
    const dialing = (address: string) => {
      addresses.push(address);
      return Promise.resolve(dialer(address));
    };
    expect((await unaryCall(client('dns:///svc.example:8080', { 'h2grpc.dialer': dialing }), 'a')).message).to.equal('a');
    expect((await unaryCall(client('unix:/run/svc.sock', { 'h2grpc.dialer': dialing }), 'b')).message).to.equal('b');
    expect(addresses).to.deep.equal(['svc.example:8080', '/run/svc.sock']);
  });

  it('a dialer that throws, rejects or returns no stream is a failed attempt: UNAVAILABLE with its reason', async () => {
    const failing: [unknown, RegExp][] = [
      [
        () => {
          throw new Error('no route to the test server');
        },
        /no route to the test server/,
      ],
      [() => Promise.reject(new Error('refused in memory')), /refused in memory/],
      [() => ({ not: 'a stream' }), /did not return a Duplex/],
    ];
    for (const [dialer, reason] of failing) {
      const error = await callFailure(unaryCall(client('svc.test:1', { 'h2grpc.dialer': dialer }), 'x'));
      expect(error.code).to.equal(Status.UNAVAILABLE);
      expect(error.details).to.match(reason);
    }
  });

  it('a server that refuses the connection (h2grpc.max_connections) fails the call UNAVAILABLE', async () => {
    const full = new Server({ 'h2grpc.max_connections': 0 });
    try {
      const error = await callFailure(unaryCall(client('svc.test:1', { 'h2grpc.dialer': inMemoryDialer(full) }), 'x'));
      expect(error.code).to.equal(Status.UNAVAILABLE);
      expect(error.details).to.match(/refused the in-memory connection/);
    } finally {
      full.forceShutdown();
    }
  });

  it('a dialer that never answers times out within the connect timeout', async () => {
    const error = await callFailure(
      unaryCall(client('svc.test:1', { 'h2grpc.dialer': () => new Promise<Duplex>(() => {}), 'h2grpc.min_connect_timeout_ms': 50 }), 'x', undefined, {
        deadline: Date.now() + 5000,
      }),
    );
    expect(error.code).to.equal(Status.UNAVAILABLE);
    expect(error.details).to.match(/timed out/);
  });

  it('with TLS credentials the channel runs TLS (ALPN h2) over the dialed stream', async function () {
    const certificate = selfSigned();
    if (certificate === null) this.skip();
    let secured = 0;
    const dialer = () => {
      const [clientEnd, serverEnd] = duplexPair();
      const secure = new tls.TLSSocket(serverEnd, { isServer: true, key: certificate!.key, cert: certificate!.cert, ALPNProtocols: ['h2'] });
      secure.once('secure', () => {
        secured++;
        server.accept(secure as unknown as Socket);
      });
      return clientEnd;
    };
    const echo = client('in-memory.test:443', { 'h2grpc.dialer': dialer }, credentials.createSsl(certificate!.cert));
    expect((await unaryCall(echo, 'secret')).message).to.equal('secret');
    expect(secured).to.equal(1);
    // A certificate for another name is refused as over TCP.
    const wrongName = client('other.test:443', { 'h2grpc.dialer': dialer }, credentials.createSsl(certificate!.cert));
    const error = await callFailure(unaryCall(wrongName, 'x'));
    expect(error.code).to.equal(Status.UNAVAILABLE);
    expect(error.details).to.match(/altnames|certificate|Hostname/i);
  });
});
