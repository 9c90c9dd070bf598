import { expect } from 'chai';
import {
  AbortError,
  type AsyncClient,
  createAsyncClient,
  credentials,
  GrpcError,
  Metadata,
  Status,
  type StatusObject,
  type TypedMethodDefinition,
} from '../../lib';
import { EchoClient, type EchoPeer, startGrpcJsEchoServer, startOurEchoServer } from '../support/client-peers';
import { eventually } from '../support/waiting';

interface EchoMessage {
  message: string;
}

/** The Echo service's definition with its call kinds in the types. */
type EchoService = {
  UnaryEcho: TypedMethodDefinition<EchoMessage, EchoMessage, false, false>;
  ServerStreamingEcho: TypedMethodDefinition<EchoMessage, EchoMessage, false, true>;
  ClientStreamingEcho: TypedMethodDefinition<EchoMessage, EchoMessage, true, false>;
  BidirectionalStreamingEcho: TypedMethodDefinition<EchoMessage, EchoMessage, true, true>;
};

async function* messages(...texts: string[]): AsyncGenerator<EchoMessage> {
  for (const text of texts) {
    await Promise.resolve();
    yield { message: text };
  }
}

async function failure(work: Promise<unknown> | (() => Promise<unknown>)): Promise<Error> {
  try {
    await (typeof work === 'function' ? work() : work);
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a failure');
}

for (const [name, start] of [
  ['our server', () => startOurEchoServer()],
  ['a grpc-js server', () => startGrpcJsEchoServer()],
] as const) {
  describe(`integration: the async client → ${name}`, () => {
    let peer: EchoPeer;
    let client: AsyncClient<EchoService>;

    before(async () => {
      peer = await start();
      client = createAsyncClient(EchoClient.service as unknown as EchoService, `127.0.0.1:${peer.port}`, credentials.createInsecure());
    });
    after(async () => {
      client.close();
      await peer.stop();
    });

    it('unary: a promise of the response; headers and status through callbacks', async () => {
      const metadata = new Metadata();
      metadata.set('x-request', 'abc');
      const seen: string[] = [];
      const response = await client.UnaryEcho(
        { message: 'metadata' },
        {
          metadata,
          onMetadata: (headers) => seen.push(`metadata ${String(headers.get('x-echo')[0])}`),
          onStatus: (status) => seen.push(`status ${status.code} ${String(status.metadata.get('x-trailer')[0])}`),
        },
      );
      expect(response).to.deep.equal({ message: 'metadata' });
      expect(seen).to.deep.equal(['metadata abc', 'status 0 done']);
      // originalName (camelCase) works too.
      expect(await (client as unknown as { unaryEcho(request: EchoMessage): Promise<EchoMessage> }).unaryEcho({ message: 'camel' })).to.deep.equal({
        message: 'camel',
      });
    });

    it('unary errors reject with a GrpcError carrying code, details and trailers', async () => {
      const error = (await failure(client.UnaryEcho({ message: 'error' }))) as GrpcError;
      expect(error).to.be.instanceOf(GrpcError);
      expect(error.code).to.equal(Status.INVALID_ARGUMENT);
      expect(error.details).to.equal('bad ✓ request 100%');
      expect(error.metadata.get('x-trailer')).to.deep.equal(['oops']);
    });

    it('server streaming: an async iterable of every response, in order', async () => {
      const received: string[] = [];
      for await (const response of client.ServerStreamingEcho({ message: 'repeat:5:abc' })) received.push(response.message);
      expect(received).to.deep.equal(['abc', 'abc', 'abc', 'abc', 'abc']);
    });

    it('a slow consumer of a 2000-message server stream gets them all (the server is held back, not buffered here)', async () => {
      let count = 0;
      for await (const response of client.ServerStreamingEcho({ message: `repeat:2000:${'x'.repeat(100)}` })) {
        expect(response.message).to.have.length(100);
        if (++count % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      expect(count).to.equal(2000);
    });

    it('client streaming: requests from an async generator or an array, one response', async () => {
      expect(await client.ClientStreamingEcho(messages('a', 'b', 'c'))).to.deep.equal({ message: 'a,b,c' });
      expect(await client.ClientStreamingEcho([{ message: 'x' }, { message: 'y' }])).to.deep.equal({ message: 'x,y' });
      expect(await client.ClientStreamingEcho([])).to.deep.equal({ message: '' });
    });

    it('bidi: requests in, responses out; 2000 each way, and ping-pong where each request waits for the last response', async () => {
      const many = Array.from({ length: 2000 }, (_, index) => ({ message: `m${index}` }));
      let count = 0;
      for await (const response of client.BidirectionalStreamingEcho(many)) expect(response.message).to.equal(`m${count++}`);
      expect(count).to.equal(2000);

      let answered: () => void = () => {};
      async function* pings(): AsyncGenerator<EchoMessage> {
        for (let round = 0; round < 50; round++) {
          const next = new Promise<void>((resolve) => (answered = resolve));
          yield { message: `ping ${round}` };
          await next;
        }
      }
      const pongs: string[] = [];
      for await (const pong of client.BidirectionalStreamingEcho(pings())) {
        pongs.push(pong.message);
        answered();
      }
      expect(pongs).to.have.length(50);
      expect(pongs[49]).to.equal('ping 49');
    });

    it('an AbortSignal cancels: the promise rejects with an AbortError and the server sees the cancellation', async () => {
      const controller = new AbortController();
      const before = peer.cancelled;
      const pending = client.UnaryEcho({ message: 'sleep' }, { signal: controller.signal });
      setTimeout(() => controller.abort(new Error('user gave up')), 20);
      const error = await failure(pending);
      expect(error).to.be.instanceOf(AbortError);
      expect(error.name).to.equal('AbortError');
      expect((error.cause as Error).message).to.equal('user gave up');
      await eventually(() => peer.cancelled === before + 1);
      expect(peer.cancelled).to.equal(before + 1);
    });

    it('an already aborted signal rejects at once; aborting a stream mid-iteration throws an AbortError', async () => {
      const aborted = AbortSignal.abort();
      expect((await failure(client.UnaryEcho({ message: 'x' }, { signal: aborted }))).name).to.equal('AbortError');
      expect((await failure(client.ClientStreamingEcho(messages('a'), { signal: aborted }))).name).to.equal('AbortError');
      const controller = new AbortController();
      let count = 0;
      const error = await failure(async () => {
        for await (const _response of client.ServerStreamingEcho({ message: 'repeat:1000:x' }, { signal: controller.signal })) {
          if (++count === 10) controller.abort();
        }
      });
      expect(error.name).to.equal('AbortError');
      expect(count).to.be.at.least(10).and.below(1000);
    });

    it('leaving a server stream early cancels the call; deadlines fail with DEADLINE_EXCEEDED', async () => {
      let status: StatusObject | null = null;
      for await (const _response of client.ServerStreamingEcho({ message: 'repeat:1000:x' }, { onStatus: (value) => (status = value) })) break;
      await eventually(() => status !== null);
      expect(status!.code).to.equal(Status.CANCELLED);
      const late = (await failure(client.UnaryEcho({ message: 'sleep' }, { deadline: Date.now() + 50 }))) as GrpcError;
      expect(late.code).to.equal(Status.DEADLINE_EXCEEDED);
    });

    it("a request stream that throws fails the call with the iterable's error", async () => {
      async function* broken(): AsyncGenerator<EchoMessage> {
        yield { message: 'a' };
        throw new Error('no more requests');
      }
      const error = await failure(client.ClientStreamingEcho(broken()));
      expect(error.message).to.equal('no more requests');
    });
  });
}

describe('the async client: construction', () => {
  it('takes a client class or a service definition and refuses method names it reserves', () => {
    const fromClass = createAsyncClient(EchoClient, '127.0.0.1:1', credentials.createInsecure());
    expect(fromClass.UnaryEcho).to.be.a('function');
    fromClass.close();
    const fromService = createAsyncClient(EchoClient.service, '127.0.0.1:1', credentials.createInsecure());
    expect(fromService.BidirectionalStreamingEcho).to.be.a('function');
    fromService.close();
    const bad = { close: { ...EchoClient.service.UnaryEcho } };
    expect(() => createAsyncClient(bad, '127.0.0.1:1', credentials.createInsecure())).to.throw(/reserve/);
  });
});
