import { expect } from 'chai';
import { Code, ConnectError } from '@connectrpc/connect';
import type { UniversalClientFn, UniversalClientResponse } from '@connectrpc/connect/protocol';
import { Channel, credentials } from '../../lib';
import { createHttpClient } from '../../lib/connect';
import { createServerConnection, duplexPair, ErrorCode, type HeaderList, type Http2Connection, type Http2Stream } from '../../lib/transport';
import { eventually } from '../support/waiting';

/** A bare server connection per dialed connection (in memory), handing its streams to the spec. */
function memoryServer() {
  const streams: Http2Stream[] = [];
  const connections: Http2Connection[] = [];
  const resets: number[] = [];
  const received = new Map<Http2Stream, Buffer[]>();
  const ended = new Set<Http2Stream>();
  let reading = true;
  const dialer = () => {
    const [clientEnd, serverEnd] = duplexPair();
    const connection = createServerConnection(serverEnd);
    connections.push(connection);
    connection.on('stream', (stream: Http2Stream) => {
      streams.push(stream);
      received.set(stream, []);
      if (!reading) stream.pause();
      stream.setListener({
        onData: (chunk) => received.get(stream)!.push(chunk),
        onTrailers() {},
        onEnd: () => ended.add(stream),
        onReset: (code) => resets.push(code),
        onDrain() {},
      });
    });
    return clientEnd;
  };
  return {
    dialer,
    streams,
    resets,
    received,
    ended,
    stopReading() {
      reading = false;
    },
    close() {
      for (const connection of connections) connection.close();
    },
  };
}

type MemoryServer = ReturnType<typeof memoryServer>;

function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

async function readAll(response: UniversalClientResponse): Promise<string> {
  let text = '';
  for await (const chunk of response.body) text += Buffer.from(chunk).toString();
  return text;
}

async function rejection(promise: Promise<unknown>): Promise<ConnectError> {
  try {
    await promise;
  } catch (error) {
    return error as ConnectError;
  }
  throw new Error('expected a rejection');
}

describe('connect/http-client: Connect’s UniversalClientFn on an h2grpc channel', () => {
  let server: MemoryServer;
  let channel: Channel;
  let client: UniversalClientFn;

  function start(options: { waitForReady?: boolean; channelOptions?: object } = {}): void {
    server = memoryServer();
    channel = new Channel('svc.test:8080', credentials.createInsecure(), { 'h2grpc.dialer': server.dialer, ...options.channelOptions });
    client = createHttpClient(channel, { waitForReady: options.waitForReady });
  }

  afterEach(() => {
    channel.close();
    server.close();
  });

  it('sends the URL as :path and :authority, the channel’s scheme, and the request headers', async () => {
    start();
    const response = client({
      url: 'http://api.test:9000/pkg.Svc/Method?x=1',
      method: 'POST',
      header: new Headers({ 'x-custom': 'v' }),
      body: (async function* () {})(),
    });
    await eventually(() => server.streams.length === 1);
    const stream = server.streams[0];
    expect(stream.requestHead).to.include({ method: 'POST', scheme: 'http', path: '/pkg.Svc/Method?x=1', authority: 'api.test:9000' });
    const index = stream.headers.indexOf('x-custom');
    expect(stream.headers[index + 1]).to.equal('v');
    stream.sendHeaders([':status', '200'], true);
    expect((await response).status).to.equal(200);
  });

  it('resolves on the response headers while the request body is still being sent', async () => {
    start();
    let finishBody: () => void = () => {};
    const body = (async function* () {
      yield bytes('first');
      await new Promise<void>((resolve) => (finishBody = resolve));
      yield bytes('second');
    })();
    const pending = client({ url: 'http://svc.test/a', method: 'POST', header: new Headers(), body });
    await eventually(() => server.streams.length === 1 && server.received.get(server.streams[0])!.length === 1);
    const stream = server.streams[0];
    stream.sendHeaders([':status', '200', 'x-answer', 'early']);
    const response = await pending;
    expect(response.header.get('x-answer')).to.equal('early');
    expect(server.ended.has(stream)).to.equal(false);
    finishBody();
    await eventually(() => server.ended.has(stream));
    expect(Buffer.concat(server.received.get(stream)!).toString()).to.equal('firstsecond');
    stream.write(Buffer.from('reply'));
    stream.end(['x-trailer', 'late']);
    expect(await readAll(response)).to.equal('reply');
    expect(response.trailer.get('x-trailer')).to.equal('late');
  });

  it('fills the trailers before the body iterator reports its end', async () => {
    start();
    const pending = client({ url: 'http://svc.test/a', method: 'POST', header: new Headers(), body: (async function* () {})() });
    // (The request ends first: a response completed before it is followed by RST_STREAM NO_ERROR.)
    await eventually(() => server.streams.length === 1 && server.ended.has(server.streams[0]));
    const stream = server.streams[0];
    stream.sendHeaders([':status', '200']);
    stream.write(Buffer.from('x'));
    stream.end(['grpc-status', '0', 'x-one', '1']);
    const response = await pending;
    const iterator = response.body[Symbol.asyncIterator]();
    expect((await iterator.next()).done).to.equal(false);
    const end = await iterator.next();
    expect(end.done).to.equal(true);
    expect([...response.trailer]).to.deep.equal([
      ['grpc-status', '0'],
      ['x-one', '1'],
    ]);
  });

  it('a trailers-only response resolves with its fields as headers, an empty body and empty trailers', async () => {
    start();
    const pending = client({ url: 'http://svc.test/a', method: 'POST', header: new Headers(), body: (async function* () {})() });
    await eventually(() => server.streams.length === 1);
    const trailersOnly: HeaderList = [':status', '200', 'content-type', 'application/grpc', 'grpc-status', '5', 'grpc-message', 'nope'];
    server.streams[0].sendHeaders(trailersOnly, true);
    const response = await pending;
    expect(response.header.get('grpc-status')).to.equal('5');
    expect(await readAll(response)).to.equal('');
    expect([...response.trailer]).to.deep.equal([]);
  });

  it('a request without a body (Connect GET) goes out with END_STREAM on its HEADERS', async () => {
    start();
    const pending = client({ url: 'http://svc.test/a?message=x', method: 'GET', header: new Headers() });
    await eventually(() => server.streams.length === 1 && server.ended.has(server.streams[0]));
    expect(server.streams[0].requestHead?.method).to.equal('GET');
    server.streams[0].sendHeaders([':status', '200'], true);
    expect((await pending).status).to.equal(200);
  });

  it('abort before the response: rejects with the signal’s reason and resets the stream with CANCEL', async () => {
    start();
    const controller = new AbortController();
    const pending = client({ url: 'http://svc.test/a', method: 'POST', header: new Headers(), body: (async function* () {})(), signal: controller.signal });
    await eventually(() => server.streams.length === 1);
    controller.abort(new ConnectError('deadline', Code.DeadlineExceeded));
    expect((await rejection(pending)).code).to.equal(Code.DeadlineExceeded);
    await eventually(() => server.resets.length === 1);
    expect(server.resets).to.deep.equal([ErrorCode.CANCEL]);
  });

  it('abort while the body is read: the read fails Canceled and the stream is reset with CANCEL', async () => {
    start();
    const controller = new AbortController();
    const pending = client({ url: 'http://svc.test/a', method: 'POST', header: new Headers(), body: (async function* () {})(), signal: controller.signal });
    await eventually(() => server.streams.length === 1);
    server.streams[0].sendHeaders([':status', '200']);
    const response = await pending;
    const reading = response.body[Symbol.asyncIterator]().next();
    controller.abort();
    expect(ConnectError.from(await rejection(reading)).code).to.equal(Code.Canceled);
    await eventually(() => server.resets.length === 1);
    expect(server.resets).to.deep.equal([ErrorCode.CANCEL]);
  });

  it('an already aborted signal rejects without opening a stream', async () => {
    start();
    const error = await rejection(client({ url: 'http://svc.test/a', method: 'POST', header: new Headers(), signal: AbortSignal.abort() }));
    expect(ConnectError.from(error).code).to.equal(Code.Canceled);
    expect(server.streams).to.have.length(0);
  });

  it('a stream the server resets fails with the gRPC mapping of the code', async () => {
    start();
    const pending = client({ url: 'http://svc.test/a', method: 'POST', header: new Headers(), body: (async function* () {})() });
    await eventually(() => server.streams.length === 1);
    server.streams[0].reset(ErrorCode.REFUSED_STREAM);
    const error = await rejection(pending);
    expect(error.code).to.equal(Code.Unavailable);
    expect(error.message).to.match(/by the server with REFUSED_STREAM/);
  });

  it('the request body waits for the server’s window: a server that does not read holds the sender back', async () => {
    start();
    server.stopReading();
    let pulled = 0;
    const chunk = new Uint8Array(16 * 1024);
    const body = (async function* () {
      for (let index = 0; index < 1000; index++) {
        pulled++;
        yield chunk;
      }
    })();
    const controller = new AbortController();
    const pending = client({ url: 'http://svc.test/a', method: 'POST', header: new Headers(), body, signal: controller.signal });
    await eventually(() => server.streams.length === 1);
    server.streams[0].sendHeaders([':status', '200']);
    await pending;
    // 256 KiB of stream window plus the 64 KiB write quota, at most; then the sender waits.
    await eventually(() => pulled >= 20);
    const channelStats = channel.connectionStats();
    await new Promise((resolve) => setImmediate(resolve));
    expect(pulled).to.be.at.most((256 + 64) / 16 + 2);
    expect(channelStats[0].queuedBytes).to.be.at.most(64 * 1024 + 16 * 1024);
    controller.abort();
  });

  it('fails fast Unavailable while the channel cannot connect; with waitForReady it waits until aborted', async () => {
    server = memoryServer();
    const refusing = () => {
      throw new Error('nobody home');
    };
    channel = new Channel('svc.test:1', credentials.createInsecure(), { 'h2grpc.dialer': refusing, 'grpc.initial_reconnect_backoff_ms': 50 });
    const failFast = await rejection(createHttpClient(channel)({ url: 'http://svc.test/a', method: 'POST', header: new Headers() }));
    expect(failFast.code).to.equal(Code.Unavailable);
    expect(failFast.message).to.match(/nobody home/);
    const controller = new AbortController();
    const waiting = createHttpClient(channel, { waitForReady: true })({
      url: 'http://svc.test/a',
      method: 'POST',
      header: new Headers(),
      signal: controller.signal,
    });
    let settled = false;
    waiting.then(
      () => (settled = true),
      () => (settled = true),
    );
    // Past a failed attempt (TRANSIENT_FAILURE) it still waits.
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).to.equal(false);
    controller.abort();
    expect((await rejection(waiting)).code).to.equal(Code.Canceled);
  });

  it('a closed channel fails requests Unavailable', async () => {
    start();
    channel.close();
    const error = await rejection(client({ url: 'http://svc.test/a', method: 'POST', header: new Headers() }));
    expect(error.code).to.equal(Code.Unavailable);
  });
});
