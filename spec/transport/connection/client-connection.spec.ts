import { expect } from 'chai';
import * as net from 'node:net';
import { once } from 'node:events';
import { Server } from '../../../lib';
import { ErrorCode, Http2Connection, type HeaderList, type Http2Stream, type StreamListener } from '../../../lib/transport';
import { echoMessage, grpcRequestHeaders } from '../../support/echo-request';
import { startEchoServer } from '../../support/echo-server';

/** Collects what a stream delivers. */
class Collector implements StreamListener {
  headers: HeaderList | null = null;
  trailers: HeaderList | null = null;
  data: Buffer[] = [];
  reset: number | null = null;
  readonly done: Promise<void>;
  private finish!: () => void;
  constructor() {
    this.done = new Promise((resolve) => (this.finish = resolve));
  }
  onHeaders(headers: HeaderList): void {
    this.headers = headers;
  }
  onData(chunk: Buffer): void {
    this.data.push(chunk);
  }
  onTrailers(trailers: HeaderList): void {
    this.trailers = trailers;
  }
  onEnd(): void {
    this.finish();
  }
  onReset(errorCode: number): void {
    this.reset = errorCode;
    this.finish();
  }
  onDrain(): void {}
}

function request(connection: Http2Connection, path: string, body: Buffer): { stream: Http2Stream; collector: Collector } {
  const stream = connection.request(grpcRequestHeaders(path));
  const collector = new Collector();
  stream.setListener(collector);
  stream.write(body, true);
  return { stream, collector };
}

function value(headers: HeaderList | null, name: string): string | undefined {
  for (let index = 0; headers !== null && index < headers.length; index += 2) if (headers[index] === name) return headers[index + 1];
  return undefined;
}

describe('Http2Connection in the client role (transport API) against our server', () => {
  let server: Server;
  let port: number;
  let connection: Http2Connection;

  before(async () => {
    ({ server, port } = await startEchoServer());
  });
  beforeEach(async () => {
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    connection = new Http2Connection(socket, 'client');
  });
  afterEach(async () => {
    const closed = once(connection, 'close');
    connection.close();
    await closed;
  });
  after(() => server.forceShutdown());

  it('sends a request with odd stream ids and receives headers, data and trailers', async () => {
    const first = request(connection, '/grpc.examples.echo.Echo/UnaryEcho', echoMessage('one'));
    const second = request(connection, '/grpc.examples.echo.Echo/UnaryEcho', echoMessage('two'));
    expect([first.stream.id, second.stream.id]).to.deep.equal([1, 3]);
    await Promise.all([first.collector.done, second.collector.done]);
    expect(value(first.collector.headers, ':status')).to.equal('200');
    expect(value(first.collector.trailers, 'grpc-status')).to.equal('0');
    expect(Buffer.concat(first.collector.data).toString('latin1')).to.contain('one');
    expect(Buffer.concat(second.collector.data).toString('latin1')).to.contain('two');
    expect(connection.stats.streams).to.equal(0);
  });

  it('a trailers-only response ends the stream with headers alone', async () => {
    const { collector } = request(connection, '/grpc.examples.echo.Echo/Nope', echoMessage('x'));
    await collector.done;
    expect(value(collector.headers, 'grpc-status')).to.equal('12');
    expect(collector.trailers).to.equal(null);
    expect(collector.data).to.have.length(0);
  });

  it('ping() measures a round trip', async () => {
    expect(await connection.ping())
      .to.be.a('number')
      .and.at.least(0);
  });

  it('reset() sends RST_STREAM and the stream is gone', async () => {
    const stream = connection.request(grpcRequestHeaders('/grpc.examples.echo.Echo/BidirectionalStreamingEcho'));
    stream.setListener(new Collector());
    stream.reset(ErrorCode.CANCEL);
    expect(stream.isAborted).to.equal(true);
    expect(connection.stats.streams).to.equal(0);
    await connection.ping(); // the connection is still good after the reset
  });

  it('request() with a header list over the limit throws before taking a stream id or a slot', () => {
    const before = connection.availableStreams;
    const big = [':method', 'POST', ':scheme', 'http', ':path', '/x', ':authority', 'x', 'x-big', 'v'.repeat(70_000)];
    expect(() => connection.request(big)).to.throw(/exceeds the limit/);
    expect(connection.availableStreams).to.equal(before);
    expect(connection.stats.streams).to.equal(0);
  });

  it('request(headers, true) sends HEADERS with END_STREAM and gets the answer', async () => {
    const stream = connection.request(grpcRequestHeaders(), true);
    const collector = new Collector();
    stream.setListener(collector);
    await collector.done;
    expect(collector.reset).to.equal(null);
    // A unary call without a request message: the server says so in a trailers-only response.
    expect(value(collector.headers, 'grpc-status')).to.equal('13');
    expect(connection.stats.streams).to.equal(0);
  });

  it('runs over any Duplex: a socket wrapped in a PassThrough pair (no setNoDelay)', async () => {
    const { Duplex } = await import('node:stream');
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    // A plain Duplex that forwards to the socket: it has no socket-only members.
    const plain = new Duplex({
      write(chunk, _encoding, callback) {
        socket.write(chunk, callback);
      },
      read() {},
      final(callback) {
        socket.end(callback);
      },
      destroy(error, callback) {
        socket.destroy();
        callback(error);
      },
    });
    socket.on('data', (chunk) => plain.push(chunk));
    socket.on('end', () => plain.push(null));
    const overDuplex = new Http2Connection(plain, 'client');
    const { collector } = request(overDuplex, '/grpc.examples.echo.Echo/UnaryEcho', echoMessage('duplex'));
    await collector.done;
    expect(Buffer.concat(collector.data).toString('latin1')).to.contain('duplex');
    const closed = once(overDuplex, 'close');
    overDuplex.close();
    await closed;
  });
});
