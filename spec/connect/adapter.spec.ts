import { expect } from 'chai';
import { Code, ConnectError, createContextValues } from '@connectrpc/connect';
import { connectH2grpcAdapter, type ConnectH2grpcAdapterOptions } from '../../lib/connect';
import { StreamExchange } from '../../lib/connect/exchange';
import { ErrorCode, type ConnectionOptions, type Http2Connection, type Http2Stream } from '../../lib/transport';
import { connectPair, echoRequestEnvelope, type Pair, Received, requestHead, send } from '../support/connect-raw';
import { echoRecorder, echoRoutes } from '../support/connect-echo';
import { eventually } from '../support/waiting';

describe('connect/adapter on bare connections', () => {
  let pair: Pair;
  const recorder = echoRecorder();

  async function serve(
    options: Partial<ConnectH2grpcAdapterOptions> = {},
    serverOptions: ConnectionOptions = {},
    clientOptions: ConnectionOptions = {},
  ): Promise<void> {
    pair = await connectPair(serverOptions, clientOptions);
    connectH2grpcAdapter({ routes: echoRoutes(recorder), ...options }).serve(pair.server);
  }

  afterEach(async () => {
    await pair.close();
  });

  it('a gRPC unary call: headers, message and grpc-status 0 trailers', async () => {
    await serve();
    const { received } = send(pair.client, requestHead('/grpc.examples.echo.Echo/UnaryEcho', 'application/grpc'), echoRequestEnvelope('hi'));
    await received.done;
    expect(received.field(':status')).to.equal('200');
    expect(received.field('content-type')).to.equal('application/grpc+proto');
    expect(Buffer.concat(received.data).subarray(5).toString()).to.include('hi');
    expect(received.field('grpc-status', received.trailers)).to.equal('0');
  });

  it('a gRPC error before any message goes trailers-only: one HEADERS with END_STREAM', async () => {
    await serve();
    const { received } = send(pair.client, requestHead('/grpc.examples.echo.Echo/UnaryEcho', 'application/grpc'), echoRequestEnvelope('fail:3:bad'));
    await received.done;
    expect(received.headersEndStream).to.equal(true);
    expect(received.field('grpc-status')).to.equal(String(Code.InvalidArgument));
    expect(received.field('grpc-message')).to.equal('bad');
    expect(received.trailers).to.equal(null);
  });

  it('RST_STREAM(REFUSED_STREAM) from the client fires the handler signal with Unavailable', async () => {
    await serve();
    const aborts = recorder.aborts.length;
    const waiting = recorder.waiting;
    const { stream } = send(pair.client, requestHead('/grpc.examples.echo.Echo/UnaryEcho', 'application/grpc'), echoRequestEnvelope('wait'));
    await eventually(() => recorder.waiting > waiting);
    stream.reset(ErrorCode.REFUSED_STREAM);
    await eventually(() => recorder.aborts.length > aborts);
    const reason = ConnectError.from(recorder.aborts[aborts]);
    expect(reason.code).to.equal(Code.Unavailable);
    expect(reason.rawMessage).to.equal('http/2 stream reset by the client with REFUSED_STREAM');
  });

  it('a lost connection fires the handler signal', async () => {
    await serve();
    const aborts = recorder.aborts.length;
    const waiting = recorder.waiting;
    send(pair.client, requestHead('/grpc.examples.echo.Echo/ServerStreamingEcho', 'application/grpc'), echoRequestEnvelope('wait'));
    await eventually(() => recorder.waiting > waiting);
    pair.client.socket.destroy();
    await eventually(() => recorder.aborts.length > aborts);
    expect(ConnectError.from(recorder.aborts[aborts]).code).to.equal(Code.Canceled);
  });

  it('the handler keeps its stream slot (retain) until it ends, even after a client reset', async () => {
    await serve();
    const waiting = recorder.waiting;
    const aborts = recorder.aborts.length;
    const { stream } = send(pair.client, requestHead('/grpc.examples.echo.Echo/UnaryEcho', 'application/grpc'), echoRequestEnvelope('wait'));
    await eventually(() => recorder.waiting > waiting);
    stream.reset(ErrorCode.CANCEL);
    await eventually(() => recorder.aborts.length > aborts);
    // The handler has seen the abort; once its promise settles the slot is free again.
    await eventually(() => pair.server.stats.retainedStreams === 0 && pair.server.stats.streams === 0);
  });

  it('unknown paths: 404, or trailers-only UNIMPLEMENTED for a gRPC request', async () => {
    await serve();
    const plain = send(pair.client, requestHead('/nowhere', 'application/json'), Buffer.from('{}'));
    const grpc = send(pair.client, requestHead('/no.Such/Method', 'application/grpc'), echoRequestEnvelope('x'));
    await Promise.all([plain.received.done, grpc.received.done]);
    expect(plain.received.field(':status')).to.equal('404');
    expect(plain.received.headersEndStream).to.equal(true);
    expect(grpc.received.field(':status')).to.equal('200');
    expect(grpc.received.field('grpc-status')).to.equal('12');
    expect(grpc.received.headersEndStream).to.equal(true);
  });

  it('requestPathPrefix serves the procedures under a prefix', async () => {
    await serve({ requestPathPrefix: '/api' });
    const prefixed = send(pair.client, requestHead('/api/grpc.examples.echo.Echo/UnaryEcho', 'application/json'), Buffer.from('{"message":"p"}'));
    const bare = send(pair.client, requestHead('/grpc.examples.echo.Echo/UnaryEcho', 'application/json'), Buffer.from('{"message":"p"}'));
    await Promise.all([prefixed.received.done, bare.received.done]);
    expect(JSON.parse(Buffer.concat(prefixed.received.data).toString())).to.deep.equal({ message: 'p' });
    expect(bare.received.field(':status')).to.equal('404');
  });

  it('a request whose header list was cut short gets 431', async () => {
    await serve({}, { settings: { maxHeaderListSize: 256 } });
    const { received } = send(
      pair.client,
      requestHead('/grpc.examples.echo.Echo/UnaryEcho', 'application/json', ['x-big', 'b'.repeat(600)]),
      Buffer.from('{}'),
    );
    await received.done;
    expect(received.field(':status')).to.equal('431');
  });

  it('a :authority that makes no URL: 400', async () => {
    await serve();
    const headers = requestHead('/grpc.examples.echo.Echo/UnaryEcho', 'application/json');
    headers[headers.indexOf(':authority') + 1] = 'bad host';
    const { received } = send(pair.client, headers, Buffer.from('{}'));
    await received.done;
    expect(received.field(':status')).to.equal('400');
  });

  it('a failing contextValues: 500, and onError hears of it', async () => {
    const errors: unknown[] = [];
    await serve({
      contextValues: () => {
        throw new Error('no context');
      },
      onError: (error) => errors.push(error),
    });
    const { received } = send(pair.client, requestHead('/grpc.examples.echo.Echo/UnaryEcho', 'application/json'), Buffer.from('{}'));
    await received.done;
    expect(received.field(':status')).to.equal('500');
    expect((errors[0] as Error).message).to.equal('no context');
  });

  it('response headers the client does not accept: the stream is reset and onError hears of it', async () => {
    const errors: unknown[] = [];
    await serve({ onError: (error) => errors.push(error) }, {}, { settings: { maxHeaderListSize: 300 } });
    const { received } = send(
      pair.client,
      requestHead('/grpc.examples.echo.Echo/UnaryEcho', 'application/grpc', ['x-request', 'r'.repeat(400)]),
      echoRequestEnvelope('headers'),
    );
    await received.done;
    expect(received.reset).to.equal(ErrorCode.INTERNAL_ERROR);
    await eventually(() => errors.length === 1);
    expect((errors[0] as Error).message).to.equal('response headers are larger than the client accepts');
  });

  it('a client reset is no handler error: onError stays quiet', async () => {
    const errors: unknown[] = [];
    await serve({ onError: (error) => errors.push(error) });
    const waiting = recorder.waiting;
    const aborts = recorder.aborts.length;
    const { stream } = send(pair.client, requestHead('/grpc.examples.echo.Echo/ServerStreamingEcho', 'application/grpc'), echoRequestEnvelope('wait'));
    await eventually(() => recorder.waiting > waiting);
    stream.reset(ErrorCode.CANCEL);
    await eventually(() => recorder.aborts.length > aborts && pair.server.stats.retainedStreams === 0);
    expect(errors).to.deep.equal([]);
  });

  it('contextValues sees the stream and connection of the request', async () => {
    const seen: { path?: string; connection?: Http2Connection } = {};
    await serve({
      contextValues: (stream, connection) => {
        seen.path = stream.requestHead?.path;
        seen.connection = connection;
        return createContextValues();
      },
    });
    const { received } = send(pair.client, requestHead('/grpc.examples.echo.Echo/UnaryEcho', 'application/json'), Buffer.from('{"message":"c"}'));
    await received.done;
    expect(seen.path).to.equal('/grpc.examples.echo.Echo/UnaryEcho');
    expect(seen.connection).to.equal(pair.server);
  });

  it('rejects options without routes', () => {
    expect(() => connectH2grpcAdapter({} as ConnectH2grpcAdapterOptions)).to.throw(TypeError, 'requires a routes function');
  });

  it('lists the paths it serves', async () => {
    pair = await connectPair();
    const adapter = connectH2grpcAdapter({ routes: echoRoutes(), requestPathPrefix: '/p' });
    expect(adapter.paths).to.include('/p/grpc.examples.echo.Echo/BidirectionalStreamingEcho');
    expect(adapter.paths).to.have.length(4);
  });
});

describe('connect/exchange: writing a universal response on a stream', () => {
  let pair: Pair;
  let serverStreams: Http2Stream[];

  async function open(clientOptions: ConnectionOptions = {}): Promise<{ received: Received; serverStream: Promise<Http2Stream> }> {
    pair = await connectPair({}, clientOptions);
    serverStreams = [];
    const serverStream = new Promise<Http2Stream>((resolve) =>
      pair.server.on('stream', (stream) => {
        serverStreams.push(stream);
        resolve(stream);
      }),
    );
    const { received } = send(pair.client, requestHead('/x', 'application/octet-stream'), null);
    return { received, serverStream };
  }

  afterEach(async () => {
    await pair.close();
  });

  /** A body the test releases chunk by chunk. */
  function controlledBody() {
    const queue: (Uint8Array | null)[] = [];
    let wake: (() => void) | null = null;
    const push = (chunk: Uint8Array | null) => {
      queue.push(chunk);
      wake?.();
    };
    const body: AsyncIterable<Uint8Array> = {
      async *[Symbol.asyncIterator]() {
        for (;;) {
          while (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
          const chunk = queue.shift()!;
          if (chunk === null) return;
          yield chunk;
        }
      },
    };
    return { body, push };
  }

  it('sends status and headers with the first body chunk, and reads the trailers only after the body', async () => {
    const { received, serverStream } = await open();
    const stream = await serverStream;
    const exchange = new StreamExchange(stream);
    const { body, push } = controlledBody();
    const header = new Headers({ 'content-type': 'application/grpc' });
    const trailer = new Headers();
    const responding = exchange.respond({ status: 200, header, body, trailer });
    await new Promise((resolve) => setImmediate(resolve));
    expect(stream.headersSent).to.equal(false);
    header.set('x-late', 'set before the first chunk');
    push(Buffer.from('first'));
    await eventually(() => stream.headersSent);
    push(Buffer.from('second'));
    trailer.set('grpc-status', '0');
    trailer.set('x-trailer', 'set while the body ran');
    push(null);
    await responding;
    exchange.finish();
    await received.done;
    expect(received.field('x-late')).to.equal('set before the first chunk');
    expect(Buffer.concat(received.data).toString()).to.equal('firstsecond');
    expect(received.field('grpc-status', received.trailers)).to.equal('0');
    expect(received.field('x-trailer', received.trailers)).to.equal('set while the body ran');
  });

  it('no body and no trailers: the headers alone end the stream', async () => {
    const { received, serverStream } = await open();
    const exchange = new StreamExchange(await serverStream);
    await exchange.respond({ status: 404 });
    await received.done;
    expect(received.field(':status')).to.equal('404');
    expect(received.headersEndStream).to.equal(true);
  });

  it('a non-gRPC response without body keeps its trailers apart', async () => {
    const { received, serverStream } = await open();
    const exchange = new StreamExchange(await serverStream);
    await exchange.respond({ status: 200, header: new Headers({ 'content-type': 'application/json' }), trailer: new Headers({ 'x-t': '1' }) });
    await received.done;
    expect(received.headersEndStream).to.equal(false);
    expect(received.field('x-t', received.trailers)).to.equal('1');
  });

  it('response headers over the client SETTINGS_MAX_HEADER_LIST_SIZE: the stream is reset, respond() rejects', async () => {
    const { received, serverStream } = await open({ settings: { maxHeaderListSize: 200 } });
    const exchange = new StreamExchange(await serverStream);
    const error = await exchange.respond({ status: 200, header: new Headers({ 'x-big': 'h'.repeat(500) }) }).then(
      () => null,
      (failure: Error) => failure,
    );
    expect(error?.message).to.equal('response headers are larger than the client accepts');
    await received.done;
    expect(received.reset).to.equal(ErrorCode.INTERNAL_ERROR);
  });

  it('a client reset while the body waits for window rejects respond() and tells the body iterator', async () => {
    const { serverStream } = await open({ settings: { initialWindowSize: 1024 } });
    const stream = await serverStream;
    const exchange = new StreamExchange(stream);
    let thrown: unknown = null;
    const body: AsyncIterable<Uint8Array> = {
      [Symbol.asyncIterator]() {
        return {
          next: () => Promise.resolve({ value: Buffer.alloc(128 * 1024), done: false }),
          throw: (error: unknown) => {
            thrown = error;
            return Promise.resolve({ value: undefined, done: true as const });
          },
        };
      },
    };
    const responding = exchange.respond({ status: 200, body }).then(
      () => null,
      (failure: unknown) => failure,
    );
    await eventually(() => stream.headersSent && stream.queuedBytes > 0);
    for (const clientStream of pair.client.openStreamList()) clientStream.reset(ErrorCode.CANCEL);
    const error = await responding;
    expect(ConnectError.from(error).code).to.equal(Code.Canceled);
    expect(ConnectError.from(thrown).code).to.equal(Code.Canceled);
    expect(exchange.signal.aborted).to.equal(true);
  });

  it('keeps the request trailers', async () => {
    pair = await connectPair();
    const serverStream = new Promise<Http2Stream>((resolve) => pair.server.on('stream', resolve));
    const stream = pair.client.request(requestHead('/x', 'application/octet-stream'));
    stream.setListener(new Received());
    stream.write(Buffer.from('body'));
    stream.end(['x-request-trailer', 'yes']);
    const exchange = new StreamExchange(await serverStream);
    const chunks: string[] = [];
    for await (const chunk of exchange.body) chunks.push(Buffer.from(chunk).toString());
    expect(chunks.join('')).to.equal('body');
    expect(exchange.trailers).to.deep.equal(['x-request-trailer', 'yes']);
    await exchange.respond({ status: 200 });
  });
});
