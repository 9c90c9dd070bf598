import { expect } from 'chai';
import { Server } from '../../lib';
import { addConnectRouter } from '../../lib/connect';
import { compressionBrotli, compressionGzip } from '../../lib/connect';
import { Code, ConnectError, connectNodeClient, EchoResponseSchema, echoRecorder, echoRoutes, type ProtocolName } from '../support/connect-echo';
import { eventually } from '../support/waiting';

async function collectMessages(responses: AsyncIterable<{ message: string }>): Promise<string[]> {
  const messages: string[] = [];
  for await (const response of responses) messages.push(response.message);
  return messages;
}

async function* requests(...messages: string[]): AsyncIterable<{ message: string }> {
  for (const message of messages) yield { message };
}

function expectConnectError(promise: Promise<unknown>): Promise<ConnectError> {
  return promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (error: unknown) => ConnectError.from(error),
  );
}

/** The header a protocol names its request compression in. */
function requestEncoding(header: Headers | null): string | null {
  if (header === null) return null;
  return header.get('grpc-encoding') ?? header.get('connect-content-encoding') ?? header.get('content-encoding');
}

for (const protocol of ['connect', 'grpc', 'grpc-web'] as ProtocolName[]) {
  describe(`integration: connect-node ${protocol} transport (node:http2) → a Connect router on our server`, () => {
    let server: Server;
    let port: number;
    const recorder = echoRecorder();
    let connection: ReturnType<typeof connectNodeClient>;

    before(async () => {
      server = new Server();
      addConnectRouter(server, { routes: echoRoutes(recorder) });
      port = await server.listen(0);
      connection = connectNodeClient(protocol, port);
    });
    after(() => {
      connection.close();
      server.forceShutdown();
    });

    it('unary', async () => {
      expect((await connection.client.unaryEcho({ message: 'hello' })).message).to.equal('hello');
    });

    it('server streaming', async () => {
      expect(await collectMessages(connection.client.serverStreamingEcho({ message: 'repeat:4:abc' }))).to.deep.equal(['abc', 'abc', 'abc', 'abc']);
    });

    it('client streaming', async () => {
      expect((await connection.client.clientStreamingEcho(requests('a', 'b', 'c'))).message).to.equal('a,b,c');
    });

    it('bidi streaming', async () => {
      expect(await collectMessages(connection.client.bidirectionalStreamingEcho(requests('x', 'y', 'z')))).to.deep.equal(['x', 'y', 'z']);
    });

    it('a 1 MiB unary request and response round-trip', async () => {
      const big = 'q'.repeat(1024 * 1024);
      expect((await connection.client.unaryEcho({ message: big })).message).to.equal(big);
    });

    it('an error carries its code, message, details and metadata', async () => {
      const error = await expectConnectError(connection.client.unaryEcho({ message: 'fail:5:nothing here' }));
      expect(error.code).to.equal(Code.NotFound);
      expect(error.rawMessage).to.equal('nothing here');
      expect(error.findDetails(EchoResponseSchema).map((detail) => detail.message)).to.deep.equal(['detail:nothing here']);
      expect(error.metadata.get('x-fail')).to.equal('yes');
    });

    it('an error from a streaming handler ends the stream with it', async () => {
      const error = await expectConnectError(collectMessages(connection.client.bidirectionalStreamingEcho(requests('ok', 'fail:9:stop'))));
      expect(error.code).to.equal(Code.FailedPrecondition);
      expect(error.rawMessage).to.equal('stop');
    });

    it('request headers reach the handler; its response headers and trailers reach the client', async () => {
      let header: Headers | undefined;
      let trailer: Headers | undefined;
      await connection.client.unaryEcho(
        { message: 'headers' },
        { headers: { 'x-request': 'value-1' }, onHeader: (value) => (header = value), onTrailer: (value) => (trailer = value) },
      );
      expect(header?.get('x-echo-header')).to.equal('value-1');
      expect(trailer?.get('x-echo-trailer')).to.equal('value-1');
    });

    it('a call past its timeout fails with DeadlineExceeded and the handler sees its signal fire', async () => {
      const before = recorder.aborts.length;
      const error = await expectConnectError(connection.client.unaryEcho({ message: 'wait' }, { timeoutMs: 150 }));
      expect(error.code).to.equal(Code.DeadlineExceeded);
      await eventually(() => recorder.aborts.length > before);
    });

    it('a client abort fails the call with Canceled and fires the handler signal with Canceled', async () => {
      const aborts = recorder.aborts.length;
      const waiting = recorder.waiting;
      const controller = new AbortController();
      const call = expectConnectError(connection.client.unaryEcho({ message: 'wait' }, { signal: controller.signal }));
      await eventually(() => recorder.waiting > waiting);
      controller.abort();
      expect((await call).code).to.equal(Code.Canceled);
      await eventually(() => recorder.aborts.length > aborts);
      const reason = ConnectError.from(recorder.aborts[aborts]);
      expect(reason.code).to.equal(Code.Canceled);
      // Our adapter's reason: the client's RST_STREAM(CANCEL).
      expect(reason.rawMessage).to.equal('http/2 stream reset by the client with CANCEL');
    });

    it('an aborted server stream fires the handler signal', async () => {
      const aborts = recorder.aborts.length;
      const waiting = recorder.waiting;
      const controller = new AbortController();
      const call = expectConnectError(collectMessages(connection.client.serverStreamingEcho({ message: 'wait' }, { signal: controller.signal })));
      await eventually(() => recorder.waiting > waiting);
      controller.abort();
      expect((await call).code).to.equal(Code.Canceled);
      await eventually(() => recorder.aborts.length > aborts);
      expect(ConnectError.from(recorder.aborts[aborts]).code).to.equal(Code.Canceled);
    });

    for (const compression of [compressionGzip, compressionBrotli]) {
      it(`${compression.name}-compressed requests and responses`, async () => {
        const compressed = connectNodeClient(protocol, port, { sendCompression: compression, acceptCompression: [compression], compressMinBytes: 1 });
        try {
          let responseHeader: Headers | undefined;
          const text = 'compressible '.repeat(10_000);
          const response = await compressed.client.unaryEcho({ message: text }, { onHeader: (value) => (responseHeader = value) });
          expect(response.message).to.equal(text);
          expect(requestEncoding(recorder.lastRequestHeader)).to.equal(compression.name);
          expect(requestEncoding(responseHeader ?? null)).to.equal(compression.name);
          const streamed = await collectMessages(compressed.client.bidirectionalStreamingEcho(requests(text, text)));
          expect(streamed).to.deep.equal([text, text]);
        } finally {
          compressed.close();
        }
      });
    }
  });
}
