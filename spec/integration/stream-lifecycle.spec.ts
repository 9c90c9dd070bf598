import { expect } from 'chai';
import { once } from 'node:events';
import { Server, type ServerUnaryCall, type ServerWritableStream } from '../../lib';
import { echoImplementation, loadEchoService } from '../../examples/echo-service';
import { grpc, grpcJsEchoClient, unary } from '../support/echo-client';
import { RawPeer } from '../support/raw-peer';
import { ECHO_UNARY_PATH, echoMessage, grpcRequestHeaders } from '../support/echo-request';
import { eventually } from '../support/waiting';

/** A gRPC message whose payload is not a valid EchoRequest. */
function undecodable(): Buffer {
  const body = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(body.length, 1);
  return Buffer.concat([prefix, body]);
}

describe('integration: every finished call frees its stream', () => {
  let server: Server;
  let port: number;

  beforeEach(async () => {
    server = new Server();
    server.addService(loadEchoService(), {
      ...echoImplementation,
      ClientStreamingEcho(_call: unknown, callback: (error: unknown) => void) {
        callback({ code: grpc.status.UNAUTHENTICATED, details: 'no' }); // answers before reading
      },
    });
    port = await server.listen(0);
  });
  afterEach(() => server.forceShutdown());

  it('150 calls to an unknown method on one connection all get UNIMPLEMENTED and leave no stream open', async () => {
    const generic = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    try {
      const call = () =>
        new Promise<number>((resolve) =>
          generic.makeUnaryRequest(
            '/grpc.examples.echo.Echo/Nope',
            (value: Buffer) => value,
            (value: Buffer) => value,
            Buffer.alloc(0),
            (error) => resolve(error ? error.code : 0),
          ),
        );
      const codes: number[] = [];
      for (let index = 0; index < 150; index++) codes.push(await call());
      expect([...new Set(codes)]).to.deep.equal([grpc.status.UNIMPLEMENTED]);
      await eventually(() => server.stats.streams === 0);
    } finally {
      generic.close();
    }
  });

  it('a client-streaming handler that rejects at once leaves no stream open', async () => {
    const client = grpcJsEchoClient(port);
    try {
      for (let index = 0; index < 20; index++) {
        const code = await new Promise<number>((resolve) => {
          const call = client.ClientStreamingEcho((error: grpc.ServiceError | null) => resolve(error ? error.code : 0));
          call.write({ message: 'x' });
          call.end();
        });
        expect(code).to.equal(grpc.status.UNAUTHENTICATED);
      }
      await eventually(() => server.stats.streams === 0);
    } finally {
      client.close();
    }
  });

  it('library-side failures and expired deadlines close their streams; 100 of them do not exhaust the connection', async () => {
    const peer = await RawPeer.connect(port);
    try {
      peer.sendPreface();
      peer.request(1, grpcRequestHeaders(), undecodable());
      expect((await peer.expectResponse(1)).grpcStatus).to.equal(String(grpc.status.INTERNAL));
      peer.request(3, grpcRequestHeaders(), Buffer.concat([echoMessage('a'), echoMessage('b')]));
      expect((await peer.expectResponse(3)).grpcStatus).to.equal(String(grpc.status.INTERNAL));
      peer.request(5, grpcRequestHeaders(ECHO_UNARY_PATH, ['grpc-timeout', '0n']), echoMessage('x'));
      expect((await peer.expectResponse(5)).grpcStatus).to.equal(String(grpc.status.DEADLINE_EXCEEDED));
      const batch: Buffer[] = [];
      for (let index = 0; index < 100; index++) batch.push(...peer.requestFrames(7 + 2 * index, grpcRequestHeaders(), undecodable(), true));
      peer.send(batch);
      await peer.expectResponse(205);
      // Past the 100-stream limit only if the failed ones had leaked.
      peer.request(207);
      expect((await peer.expectResponse(207)).grpcStatus).to.equal('0');
      await eventually(() => server.stats.streams === 0);
    } finally {
      peer.destroy();
    }
  });
});

describe('integration: deadlines and writer failures', () => {
  it('a 30-day deadline is honoured as a long deadline, not as an immediate one', async () => {
    const server = new Server();
    server.addService(loadEchoService(), {
      ...echoImplementation,
      UnaryEcho(call: ServerUnaryCall<{ message: string }>, callback: (error: unknown, value?: unknown) => void) {
        // A handler that takes a little while: long enough to lose against a 1 ms timer.
        setTimeout(() => callback(null, { message: call.request.message }), 20);
      },
    });
    const client = grpcJsEchoClient(await server.listen(0));
    try {
      const response = await unary(client, 'hi', new grpc.Metadata(), { deadline: Date.now() + 30 * 86_400_000 });
      expect(response.message).to.equal('hi');
    } finally {
      client.close();
      server.forceShutdown();
    }
  });

  it('when the writer fails (a user drain listener throws), every call on the connection is cancelled', async () => {
    const server = new Server();
    let other: ServerWritableStream | null = null;
    server.addService(loadEchoService(), {
      ...echoImplementation,
      ServerStreamingEcho(call: ServerWritableStream<{ message: string }>) {
        if (call.request.message === 'A') {
          const big = 'x'.repeat(60_000);
          while (call.write({ message: big }));
          call.once('drain', () => {
            throw new Error('user bug in a drain listener');
          });
          return;
        }
        other = call;
        call.write({ message: 'first' });
      },
    });
    const port = await server.listen(0);
    const client = grpcJsEchoClient(port);
    try {
      const b = client.ServerStreamingEcho({ message: 'B' });
      b.on('error', () => {});
      await once(b, 'data');
      const cancelled = once(other!, 'cancelled');
      const a = client.ServerStreamingEcho({ message: 'A' });
      a.on('error', () => {});
      a.on('data', () => {});
      await cancelled;
      expect(other!.cancelled).to.equal(true);
      // The process survived, and a new connection works.
      // A client of its own subchannel pool, so it opens a new connection instead of sharing the dead one.
      const fresh = grpcJsEchoClient(port, { 'grpc.use_local_subchannel_pool': 1 });
      expect((await unary(fresh, 'still up')).message).to.equal('still up');
      fresh.close();
    } finally {
      client.close();
      server.forceShutdown();
    }
  });
});
