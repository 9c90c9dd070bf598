import { expect } from 'chai';
import { Metadata, type Server } from '../../lib';
import { expectError, grpc, grpcJsEchoClient, unary, type EchoClient } from '../support/echo-client';
import { collect } from '../support/waiting';
import { startEchoServer } from '../support/echo-server';

describe('integration: @grpc/grpc-js client → our server', () => {
  let server: Server;
  let port: number;
  let client: EchoClient;

  before(async () => {
    ({ server, port } = await startEchoServer());
    client = grpcJsEchoClient(port, { 'grpc.max_receive_message_length': 64 * 1024 * 1024, 'grpc.max_send_message_length': 64 * 1024 * 1024 });
  });
  after(() => {
    client.close();
    server.forceShutdown();
  });

  it('UnaryEcho returns the message with status OK', async () => {
    expect(await unary(client, 'hello')).to.deep.equal({ message: 'hello' });
  });

  it('ServerStreamingEcho streams the messages and ends OK', async () => {
    const responses = await collect<{ message: string }>(client.ServerStreamingEcho({ message: 'repeat:3:abc' }));
    expect(responses.map((response) => response.message)).to.deep.equal(['abc', 'abc', 'abc']);
  });

  it('ClientStreamingEcho receives every request message', async () => {
    const response = await new Promise<{ message: string }>((resolve, reject) => {
      const call = client.ClientStreamingEcho((error: Error | null, value: { message: string }) => (error ? reject(error) : resolve(value)));
      for (const message of ['a', 'b', 'c']) call.write({ message });
      call.end();
    });
    expect(response.message).to.equal('a,b,c');
  });

  it('BidirectionalStreamingEcho echoes each message', async () => {
    const call = client.BidirectionalStreamingEcho();
    const done = collect<{ message: string }>(call);
    for (const message of ['x', 'y', 'z']) call.write({ message });
    call.end();
    expect((await done).map((response) => response.message)).to.deep.equal(['x', 'y', 'z']);
  });

  it('a server stream of 1000 messages arrives complete and in order', async () => {
    const responses = await collect<{ message: string }>(client.ServerStreamingEcho({ message: 'repeat:1000:m' }));
    expect(responses).to.have.length(1000);
  });

  it('200 concurrent unary calls on one connection all succeed', async () => {
    const results = await Promise.all(Array.from({ length: 200 }, (_, index) => unary(client, `call-${index}`)));
    results.forEach((result, index) => expect(result.message).to.equal(`call-${index}`));
  });

  it('a 4 MiB unary request and response round-trip', async () => {
    const big = 'x'.repeat(4 * 1024 * 1024 - 16);
    const response = await unary(client, big);
    expect(response.message.length).to.equal(big.length);
    expect(response.message === big).to.equal(true);
  });

  it('a bidi stream where the client sends 10 000 messages gets 10 000 echoes', async () => {
    const call = client.BidirectionalStreamingEcho();
    const done = collect<{ message: string }>(call);
    for (let index = 0; index < 10_000; index++) call.write({ message: String(index) });
    call.end();
    const responses = await done;
    expect(responses).to.have.length(10_000);
    expect(responses[9_999].message).to.equal('9999');
  });

  it('an unknown method gets UNIMPLEMENTED', async () => {
    const generic = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    try {
      const error = await expectError(
        new Promise((resolve, reject) =>
          generic.makeUnaryRequest(
            '/grpc.examples.echo.Echo/NoSuchMethod',
            (value: Buffer) => value,
            (value: Buffer) => value,
            Buffer.alloc(0),
            (error, value) => (error ? reject(error) : resolve(value)),
          ),
        ),
      );
      expect(error.code).to.equal(grpc.status.UNIMPLEMENTED);
    } finally {
      generic.close();
    }
  });
});

describe('integration: metadata, trailers and errors with @grpc/grpc-js', () => {
  let server: Server;
  let client: EchoClient;
  const seen: { metadata?: Metadata } = {};

  before(async () => {
    const started = await startEchoServer({
      UnaryEcho(call, callback) {
        seen.metadata = call.metadata;
        if (call.request.message === 'fail') {
          callback({ code: 5, details: 'nöt found ✓' });
          return;
        }
        if (call.request.message === 'throw') throw new Error('handler exploded');
        const initial = new Metadata();
        initial.set('x-initial', 'hello');
        initial.set('x-initial-bin', Buffer.from([0, 1, 2, 255]));
        call.sendMetadata(initial);
        const trailer = new Metadata();
        trailer.set('x-trailer', 'bye');
        callback(null, { message: call.request.message }, trailer);
      },
      ServerStreamingEcho(call) {
        const trailer = new Metadata();
        trailer.set('x-stream-trailer', String(call.metadata.get('x-count')[0]));
        call.write({ message: 'one' });
        call.end(trailer);
      },
    });
    server = started.server;
    client = grpcJsEchoClient(started.port);
  });
  after(() => {
    client.close();
    server.forceShutdown();
  });

  it('the handler sees custom request metadata (text and binary)', async () => {
    const metadata = new grpc.Metadata();
    metadata.set('x-request-id', 'abc-123');
    metadata.set('x-blob-bin', Buffer.from([9, 8, 7]));
    await unary(client, 'hi', metadata);
    expect(seen.metadata!.get('x-request-id')).to.deep.equal(['abc-123']);
    expect(seen.metadata!.get('x-blob-bin')).to.deep.equal([Buffer.from([9, 8, 7])]);
    // Reserved headers are not exposed as metadata.
    expect(seen.metadata!.get('content-type')).to.deep.equal([]);
    expect(seen.metadata!.get('te')).to.deep.equal([]);
  });

  it('the client sees custom response metadata and trailers', async () => {
    const received: { headers?: grpc.Metadata; trailers?: grpc.Metadata } = {};
    await new Promise<void>((resolve, reject) => {
      const call = client.UnaryEcho({ message: 'hi' }, (error: Error | null) => (error ? reject(error) : resolve()));
      call.on('metadata', (metadata: grpc.Metadata) => (received.headers = metadata));
      call.on('status', (status: grpc.StatusObject) => (received.trailers = status.metadata));
    });
    expect(received.headers!.get('x-initial')).to.deep.equal(['hello']);
    expect(received.headers!.get('x-initial-bin')).to.deep.equal([Buffer.from([0, 1, 2, 255])]);
    expect(received.trailers!.get('x-trailer')).to.deep.equal(['bye']);
  });

  it('server-streaming end(metadata) sends the trailers', async () => {
    const metadata = new grpc.Metadata();
    metadata.set('x-count', '7');
    const status = await new Promise<grpc.StatusObject>((resolve) => {
      const call = client.ServerStreamingEcho({ message: '' }, metadata);
      call.on('data', () => {});
      call.on('status', resolve);
    });
    expect(status.code).to.equal(grpc.status.OK);
    expect(status.metadata.get('x-stream-trailer')).to.deep.equal(['7']);
  });

  it('a handler error { code: 5, details } reaches the client with code and details intact', async () => {
    const error = await expectError(unary(client, 'fail'));
    expect(error.code).to.equal(grpc.status.NOT_FOUND);
    expect(error.details).to.equal('nöt found ✓');
  });

  it('a thrown exception becomes UNKNOWN with its message', async () => {
    const error = await expectError(unary(client, 'throw'));
    expect(error.code).to.equal(grpc.status.UNKNOWN);
    expect(error.details).to.equal('handler exploded');
  });
});
