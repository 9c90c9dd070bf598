import { expect } from 'chai';
import { connectH2grpcAdapter } from '../../lib/connect';
import { ErrorCode } from '../../lib/transport';
import { connectPair, echoRequestEnvelope, type Pair, Received, requestHead, send } from '../support/connect-raw';
import { echoRecorder, echoRoutes } from '../support/connect-echo';

function envelope(flags: number, payload: Buffer, declared = payload.length): Buffer {
  const prefix = Buffer.alloc(5);
  prefix[0] = flags;
  prefix.writeUInt32BE(declared, 1);
  return Buffer.concat([prefix, payload]);
}

/**
 * Hostile clients against the Connect adapter: each bad request gets an HTTP or gRPC error (or its
 * stream a reset), nothing hangs, no promise rejection goes unhandled, and the connection keeps
 * serving.
 */
describe('connect/adapter against hostile clients', () => {
  let pair: Pair;
  const recorder = echoRecorder();
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  beforeEach(async () => {
    unhandled.length = 0;
    process.on('unhandledRejection', onUnhandled);
    pair = await connectPair();
    connectH2grpcAdapter({ routes: echoRoutes(recorder) }).serve(pair.server);
  });
  afterEach(async () => {
    process.off('unhandledRejection', onUnhandled);
    await pair.close();
  });

  /** Checks the connection still serves a good gRPC call, and that nothing went unhandled. */
  async function stillServes(): Promise<void> {
    const { received } = send(pair.client, requestHead('/grpc.examples.echo.Echo/UnaryEcho', 'application/grpc'), echoRequestEnvelope('ok'));
    await received.done;
    expect(received.field('grpc-status', received.trailers)).to.equal('0');
    await new Promise((resolve) => setImmediate(resolve));
    expect(unhandled).to.deep.equal([]);
  }

  const grpcStatus = (received: Received) => received.field('grpc-status', received.trailers) ?? received.field('grpc-status');

  it('gRPC: an envelope declaring 4 GiB, then the end of the request: an error status', async () => {
    const { received } = send(pair.client, requestHead('/grpc.examples.echo.Echo/UnaryEcho', 'application/grpc'), envelope(0, Buffer.alloc(10), 0xffffffff));
    await received.done;
    expect(grpcStatus(received)).to.be.a('string').and.not.equal('0');
    await stillServes();
  });

  it('gRPC: an envelope declaring more than 4 MiB is refused RESOURCE_EXHAUSTED at once, before its bytes come (default readMaxBytes)', async () => {
    const stream = pair.client.request(requestHead('/grpc.examples.echo.Echo/UnaryEcho', 'application/grpc'), false);
    const received = new Received();
    stream.setListener(received);
    // The request stays open: with Connect-ES's own default (4 GiB) the server would wait for the rest.
    stream.write(envelope(0, Buffer.alloc(10), 4 * 1024 * 1024 + 1));
    await received.done;
    expect(grpcStatus(received)).to.equal('8');
    await stillServes();
  });

  it('gRPC: a compressed flag without grpc-encoding, a truncated prefix', async () => {
    for (const body of [envelope(1, Buffer.from([1, 2, 3])), Buffer.from([0, 0, 0])]) {
      const { received } = send(pair.client, requestHead('/grpc.examples.echo.Echo/UnaryEcho', 'application/grpc'), body);
      await received.done;
      expect(grpcStatus(received), body.toString('hex')).to.be.a('string').and.not.equal('0');
    }
    await stillServes();
  });

  it('gRPC: a message that is not protobuf, and two messages to a unary method', async () => {
    for (const body of [envelope(0, Buffer.from([0xff, 0xff, 0xff, 0xff])), Buffer.concat([echoRequestEnvelope('a'), echoRequestEnvelope('b')])]) {
      const { received } = send(pair.client, requestHead('/grpc.examples.echo.Echo/UnaryEcho', 'application/grpc'), body);
      await received.done;
      expect(grpcStatus(received), body.toString('hex')).to.be.a('string').and.not.equal('0');
    }
    await stillServes();
  });

  it('Connect: bad JSON, JSON of the wrong shape, a wrong content-type, a bad envelope on a stream: 4xx or an error end', async () => {
    const cases: [string, string, Buffer][] = [
      ['/grpc.examples.echo.Echo/UnaryEcho', 'application/json', Buffer.from('{"message": ')],
      ['/grpc.examples.echo.Echo/UnaryEcho', 'application/json', Buffer.from('[1,2,3]')],
      ['/grpc.examples.echo.Echo/UnaryEcho', 'application/json', Buffer.from('{"message": {"deep": [[[[[]]]]]}}')],
      ['/grpc.examples.echo.Echo/UnaryEcho', 'text/plain', Buffer.from('hello')],
      ['/grpc.examples.echo.Echo/UnaryEcho', 'application/proto', Buffer.from([0xff, 0xff, 0xff])],
      ['/grpc.examples.echo.Echo/ServerStreamingEcho', 'application/connect+json', envelope(0, Buffer.from('{"message":'))],
      ['/grpc.examples.echo.Echo/ServerStreamingEcho', 'application/connect+proto', envelope(0, Buffer.alloc(3), 0x7fffffff)],
      ['/grpc.examples.echo.Echo/ClientStreamingEcho', 'application/connect+proto', envelope(0x80, Buffer.from('{}'))],
    ];
    for (const [path, type, body] of cases) {
      const { received } = send(pair.client, requestHead(path, type, ['connect-protocol-version', '1']), body);
      await received.done;
      const status = Number(received.field(':status'));
      const streamError = received.data.length > 0 && Buffer.concat(received.data).toString().includes('"error"');
      expect(status >= 400 || streamError || received.reset !== null, `${path} ${type} ${body.toString('hex')}: ${status}`).to.equal(true);
    }
    await stillServes();
  });

  it('a client that resets in the middle of an envelope, on every kind: no unhandled rejection, the connection serves on', async () => {
    for (const method of ['UnaryEcho', 'ClientStreamingEcho', 'BidirectionalStreamingEcho']) {
      const stream = pair.client.request(requestHead(`/grpc.examples.echo.Echo/${method}`, 'application/grpc'), false);
      stream.setListener(new Received());
      stream.write(echoRequestEnvelope('first'));
      stream.write(envelope(0, Buffer.from([0x0a]), 100));
      await new Promise((resolve) => setImmediate(resolve));
      stream.reset(ErrorCode.CANCEL);
      // The server reads our RST_STREAM before the next call's HEADERS (one connection, in order).
    }
    await stillServes();
  });
});
