import { expect } from 'chai';
import * as net from 'node:net';
import { Server, ServerCredentials } from '../../lib';
import { echoImplementation, loadEchoService } from '../../examples/echo-service';
import { testPki } from '../support/certificates';
import { type EchoClient, grpc, unary } from '../support/echo-client';
import * as protoLoader from '@grpc/proto-loader';
import { ECHO_PROTO } from '../../examples/echo-service';
import { captureClientHello } from '../support/client-hello';

/**
 * Hostile bytes on a TLS port, before and instead of a handshake: the server survives, closes each
 * such connection within its handshake timeout, and keeps serving good TLS clients meanwhile.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const echo = (grpc.loadPackageDefinition(protoLoader.loadSync(ECHO_PROTO, { keepCase: true, defaults: true })) as any).grpc.examples.echo;
const pki = testPki();
const HANDSHAKE_TIMEOUT_MS = 300;

const record = (type: number, payload: Buffer, declared = payload.length) =>
  Buffer.concat([Buffer.from([type, 3, 1, declared >> 8, declared & 0xff]), payload]);
const helloStart = (length: number) => record(22, Buffer.from([1, length >> 16, (length >> 8) & 0xff, length & 0xff]));

/** What hostile clients send, each on its own connection. */
const HOSTILE: Record<string, Buffer[]> = {
  'random bytes': [Buffer.from(Array.from({ length: 4000 }, (_, index) => (index * 7919 + 13) & 0xff))],
  'an HTTP/1.1 request': [Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')],
  'the HTTP/2 preface (plaintext on a TLS port)': [Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')],
  'an alert record': [record(21, Buffer.from([2, 40]))],
  'an application-data record': [record(23, Buffer.alloc(64, 1))],
  'a record longer than it says (65535 declared)': [record(22, Buffer.alloc(100), 0xffff)],
  'a ClientHello claiming 16 MiB': [record(22, Buffer.from([1, 0xff, 0xff, 0xff, 3, 3]))],
  'a ClientHello claiming 64 KiB, then nothing': [helloStart(0xffff)],
  'zero-length handshake records': [helloStart(4096), ...Array<Buffer>(200).fill(record(22, Buffer.alloc(0)))],
  'a ServerHello': [record(22, Buffer.from([2, 0, 0, 2, 3, 3]))],
  'a ClientHello with every length past its end': [record(22, Buffer.from([1, 0, 0, 40, 3, 3, ...Buffer.alloc(32), 0xff, 0xff, 0xff, 0xff]))],
  'a ClientHello whose extensions run past their block': [
    (() => {
      const body = Buffer.concat([Buffer.from([3, 3]), Buffer.alloc(32), Buffer.from([0, 0, 2, 0x13, 0x01, 1, 0, 0, 20, 0, 16, 0xff, 0xff, 0, 0])]);
      return record(22, Buffer.concat([Buffer.from([1, 0, 0, body.length]), body]));
    })(),
  ],
};

describe('integration: hostile bytes on a TLS port', () => {
  let server: Server;
  let port: number;
  const clients: grpc.Client[] = [];
  const sockets: net.Socket[] = [];

  beforeEach(async () => {
    server = new Server({ 'h2grpc.handshake_timeout_ms': HANDSHAKE_TIMEOUT_MS });
    server.addService(loadEchoService(), echoImplementation);
    const credentials = ServerCredentials.createSsl(null, [{ private_key: pki.server.key, cert_chain: pki.server.cert }]);
    port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', credentials, (error, bound) => (error ? reject(error) : resolve(bound))),
    );
  });

  afterEach(() => {
    for (const made of clients.splice(0)) made.close();
    for (const socket of sockets.splice(0)) socket.destroy();
    server.forceShutdown();
  });

  const goodClient = () => {
    const made = new echo.Echo(`localhost:${port}`, grpc.credentials.createSsl(pki.ca)) as EchoClient;
    clients.push(made);
    return made;
  };

  /** Opens a raw connection; resolves with how long after it was opened the server closed it. */
  function hostileConnection(): { socket: net.Socket; closed: Promise<number> } {
    const socket = net.connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    sockets.push(socket);
    socket.on('error', () => {});
    socket.resume();
    const opened = Date.now();
    const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - opened)));
    return { socket, closed };
  }

  it('closes every hostile connection within the handshake timeout and still serves a good TLS client', async () => {
    const outcomes = Object.entries(HOSTILE).map(([name, chunks]) => {
      const { socket, closed } = hostileConnection();
      socket.once('connect', () => chunks.forEach((chunk) => socket.write(chunk)));
      return closed.then((ms) => [name, ms] as const);
    });
    expect(await unary(goodClient(), 'meanwhile')).to.deep.equal({ message: 'meanwhile' });
    for (const [name, ms] of await Promise.all(outcomes)) expect(ms, name).to.be.lessThan(HANDSHAKE_TIMEOUT_MS + 1000);
    expect(await unary(goodClient(), 'after')).to.deep.equal({ message: 'after' });
  });

  it('a client dripping one-byte handshake records costs little: closed in time, good calls served meanwhile', async () => {
    // 11 000 records of one byte, one write each: the server used to re-read every byte so far on
    // each arrival (~16 ms a look at 64 KiB: minutes of CPU for one connection).
    const { socket, closed } = hostileConnection();
    const tiny = record(22, Buffer.from([0]));
    let sent = 0;
    const drip = () => {
      while (sent < 11_000 && !socket.destroyed) {
        sent++;
        if (!socket.write(sent === 1 ? helloStart(60_000) : tiny)) return void socket.once('drain', drip);
      }
    };
    socket.once('connect', drip);
    const began = process.hrtime.bigint();
    expect(await unary(goodClient(), 'during the drip')).to.deep.equal({ message: 'during the drip' });
    expect(await closed).to.be.lessThan(HANDSHAKE_TIMEOUT_MS + 1000);
    expect(Number(process.hrtime.bigint() - began) / 1e6).to.be.lessThan(HANDSHAKE_TIMEOUT_MS + 1500);
  });

  it('a client that sends a whole ClientHello offering h2, then nothing, is closed at the handshake timeout', async () => {
    const hello = await captureClientHello({ ALPNProtocols: ['h2'] });
    const { socket, closed } = hostileConnection();
    socket.once('connect', () => socket.write(hello));
    const ms = await closed;
    expect(ms).to.be.at.least(HANDSHAKE_TIMEOUT_MS - 50);
    expect(ms).to.be.lessThan(HANDSHAKE_TIMEOUT_MS + 1000);
    expect(await unary(goodClient(), 'after')).to.deep.equal({ message: 'after' });
  });

  it('a slowloris that sends half a ClientHello byte by byte is closed at the handshake timeout, not kept alive by its bytes', async () => {
    const { socket, closed } = hostileConnection();
    const half = record(22, Buffer.concat([Buffer.from([1, 0, 1, 0]), Buffer.alloc(200, 7)]), 260);
    let index = 0;
    const timer = setInterval(() => {
      if (index < half.length && !socket.destroyed) socket.write(half.subarray(index, ++index));
    }, 5);
    try {
      const ms = await closed;
      expect(ms).to.be.at.least(HANDSHAKE_TIMEOUT_MS - 50);
      expect(ms).to.be.lessThan(HANDSHAKE_TIMEOUT_MS + 1000);
    } finally {
      clearInterval(timer);
    }
    expect(await unary(goodClient(), 'after')).to.deep.equal({ message: 'after' });
  });
});
