import { expect } from 'chai';
import { Metadata, type Server } from '../../lib';
import { grpc, grpcJsEchoClient, grpcJsEchoService, type EchoClient } from '../support/echo-client';
import { startEchoServer } from '../support/echo-server';
import { collect } from '../support/waiting';

/** Custom metadata only (user-agent and the like differ between clients). */
function custom(metadata: { toJSON(): { [key: string]: unknown[] } }): { [key: string]: unknown[] } {
  const json = metadata.toJSON();
  return Object.fromEntries(Object.entries(json).filter(([key]) => key.startsWith('x-')));
}

function describeMetadata(metadata: { toJSON(): { [key: string]: unknown[] } }): string {
  return JSON.stringify(custom(metadata), (_key, value: unknown) =>
    typeof value === 'object' && value !== null && (value as { type?: string }).type === 'Buffer'
      ? `bin:${Buffer.from((value as { data: number[] }).data).toString('hex')}`
      : value,
  );
}

/** A grpc-js server answering every Echo call with the custom metadata it received (as JSON). */
async function startGrpcJsBackend(): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  server.addService(grpcJsEchoService, {
    UnaryEcho(call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) {
      callback(null, { message: describeMetadata(call.metadata) });
    },
    ServerStreamingEcho(call: grpc.ServerWritableStream<unknown, unknown>) {
      call.write({ message: describeMetadata(call.metadata) });
      call.end();
    },
    ClientStreamingEcho(call: grpc.ServerReadableStream<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) {
      call.on('data', () => {});
      call.on('end', () => callback(null, { message: describeMetadata(call.metadata) }));
    },
    BidirectionalStreamingEcho(call: grpc.ServerDuplexStream<unknown, unknown>) {
      call.on('data', () => {});
      call.on('end', () => {
        call.write({ message: describeMetadata(call.metadata) });
        call.end();
      });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  return { server, port };
}

function outgoing(): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.add('x-token', 'secret');
  metadata.add('x-bin', Buffer.from([1, 2, 3]));
  return metadata;
}

const EXPECTED = JSON.stringify({ 'x-token': ['secret'], 'x-bin': ['bin:010203'] });

type Callback = (error: grpc.ServiceError | null, response?: { message: string }) => void;

describe('integration: Metadata between h2grpc and @grpc/grpc-js', () => {
  describe('our handlers forward call.metadata to a grpc-js client (a proxy to a grpc-js server)', () => {
    let backend: { server: grpc.Server; port: number };
    let upstream: EchoClient;
    let proxy: { server: Server; port: number };
    let client: EchoClient;

    before(async () => {
      backend = await startGrpcJsBackend();
      upstream = grpcJsEchoClient(backend.port);
      proxy = await startEchoServer({
        // Every calling form grpc-js's client checks with `instanceof Metadata`.
        UnaryEcho(call: { metadata: Metadata; request: { message: string } }, callback: Callback) {
          if (call.request.message === 'short form') upstream.UnaryEcho(call.request, call.metadata, callback);
          else upstream.UnaryEcho(call.request, call.metadata, {}, callback);
        },
        ServerStreamingEcho(call: { metadata: Metadata; request: unknown; write(m: unknown): boolean; end(): void }) {
          const forwarded = upstream.ServerStreamingEcho(call.request, call.metadata);
          forwarded.on('data', (message: unknown) => call.write(message));
          forwarded.on('end', () => call.end());
        },
        ClientStreamingEcho(call: { metadata: Metadata; on(event: string, listener: () => void): void }, callback: Callback) {
          call.on('data', () => {});
          call.on('end', () => upstream.ClientStreamingEcho(call.metadata, callback).end());
        },
        BidirectionalStreamingEcho(call: { metadata: Metadata; on(event: string, listener: () => void): void; write(m: unknown): boolean; end(): void }) {
          call.on('data', () => {});
          call.on('end', () => {
            const forwarded = upstream.BidirectionalStreamingEcho(call.metadata);
            forwarded.on('data', (message: unknown) => call.write(message));
            forwarded.on('end', () => call.end());
            forwarded.end();
          });
        },
      });
      client = grpcJsEchoClient(proxy.port);
    });

    after(() => {
      client.close();
      upstream.close();
      proxy.server.forceShutdown();
      backend.server.forceShutdown();
    });

    for (const message of ['long form', 'short form']) {
      it(`unary (${message}: ${message === 'long form' ? 'request, metadata, options, callback' : 'request, metadata, callback'})`, async () => {
        const response = await new Promise<{ message: string }>((resolve, reject) =>
          client.UnaryEcho({ message }, outgoing(), (error: Error | null, value: { message: string }) => (error ? reject(error) : resolve(value))),
        );
        expect(response.message).to.equal(EXPECTED);
      });
    }

    it('server streaming (request, metadata)', async () => {
      const responses = await collect<{ message: string }>(client.ServerStreamingEcho({ message: 'x' }, outgoing()));
      expect(responses.map((response) => response.message)).to.deep.equal([EXPECTED]);
    });

    it('client streaming (metadata, callback)', async () => {
      const response = await new Promise<{ message: string }>((resolve, reject) => {
        const call = client.ClientStreamingEcho(outgoing(), (error: Error | null, value: { message: string }) => (error ? reject(error) : resolve(value)));
        call.write({ message: 'a' });
        call.end();
      });
      expect(response.message).to.equal(EXPECTED);
    });

    it('bidi (metadata)', async () => {
      const call = client.BidirectionalStreamingEcho(outgoing());
      const done = collect<{ message: string }>(call);
      call.write({ message: 'a' });
      call.end();
      expect((await done).map((response) => response.message)).to.deep.equal([EXPECTED]);
    });
  });

  describe("each side sends the other library's Metadata", () => {
    let ours: { server: Server; port: number };
    let theirs: grpc.Server;
    let theirsPort: number;

    function answer(useOurs: boolean): { initial: Metadata | grpc.Metadata; trailer: Metadata | grpc.Metadata } {
      const initial = useOurs ? new Metadata() : new grpc.Metadata();
      initial.set('x-initial', 'i');
      initial.set('x-initial-bin', Buffer.from([9]));
      const trailer = useOurs ? new Metadata() : new grpc.Metadata();
      trailer.add('x-trailer', 't1');
      trailer.add('x-trailer', 't2');
      return { initial, trailer };
    }

    function handler(useOurs: boolean) {
      return (call: { sendMetadata(m: unknown): void }, callback: (e: null, v?: unknown, t?: grpc.Metadata) => void) => {
        const { initial, trailer } = answer(useOurs);
        call.sendMetadata(initial);
        // Ours passes grpc-js's checks at run time; TypeScript cannot see through grpc-js's private fields.
        callback(null, { message: 'ok' }, trailer as grpc.Metadata);
      };
    }

    before(async () => {
      // Our server answers with grpc-js Metadata, grpc-js's server with ours.
      ours = await startEchoServer({ UnaryEcho: handler(false) });
      theirs = new grpc.Server();
      theirs.addService(grpcJsEchoService, { UnaryEcho: handler(true) });
      theirsPort = await new Promise<number>((resolve, reject) =>
        theirs.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
      );
    });

    after(() => {
      ours.server.forceShutdown();
      theirs.forceShutdown();
    });

    async function call(port: number): Promise<{ initial: string; trailer: string }> {
      const client = grpcJsEchoClient(port);
      try {
        return await new Promise((resolve, reject) => {
          let initial = '';
          const unaryCall = client.UnaryEcho({ message: 'm' }, (error: Error | null) => error && reject(error));
          unaryCall.on('metadata', (metadata: grpc.Metadata) => (initial = describeMetadata(metadata)));
          unaryCall.on('status', (status: grpc.StatusObject) => resolve({ initial, trailer: describeMetadata(status.metadata) }));
        });
      } finally {
        client.close();
      }
    }

    it('a grpc-js client gets the same headers and trailers from both servers, repeated trailer joined as grpc-js joins it', async () => {
      const fromOurs = await call(ours.port);
      const fromTheirs = await call(theirsPort);
      expect(fromOurs).to.deep.equal(fromTheirs);
      expect(fromOurs.initial).to.equal(JSON.stringify({ 'x-initial': ['i'], 'x-initial-bin': ['bin:09'] }));
      expect(fromOurs.trailer).to.equal(JSON.stringify({ 'x-trailer': ['t1, t2'] }));
    });

    it("our handler sees a repeated request key as grpc-js's handler does", async () => {
      const seen: string[] = [];
      const record = (call: { metadata: { toJSON(): { [key: string]: unknown[] } } }, callback: (e: null, v?: unknown) => void) => {
        seen.push(describeMetadata(call.metadata));
        callback(null, { message: '' });
      };
      const ourServer = await startEchoServer({ UnaryEcho: record });
      const grpcJsServer = new grpc.Server();
      grpcJsServer.addService(grpcJsEchoService, { UnaryEcho: record });
      const grpcJsPort = await new Promise<number>((resolve, reject) =>
        grpcJsServer.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
      );
      try {
        for (const port of [ourServer.port, grpcJsPort]) {
          const client = grpcJsEchoClient(port);
          const metadata = new grpc.Metadata();
          metadata.add('x-repeated', 'a');
          metadata.add('x-repeated', 'b');
          metadata.add('x-repeated-bin', Buffer.from([1]));
          metadata.add('x-repeated-bin', Buffer.from([2]));
          await new Promise<void>((resolve, reject) =>
            client.UnaryEcho({ message: '' }, metadata, (error: Error | null) => (error ? reject(error) : resolve())),
          );
          client.close();
        }
      } finally {
        ourServer.server.forceShutdown();
        grpcJsServer.forceShutdown();
      }
      expect(seen[0]).to.equal(seen[1]);
      expect(seen[0]).to.equal(JSON.stringify({ 'x-repeated': ['a, b'], 'x-repeated-bin': ['bin:01', 'bin:02'] }));
    });
  });
});
