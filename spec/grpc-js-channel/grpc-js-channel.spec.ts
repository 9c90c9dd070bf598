import * as grpcJs from '@grpc/grpc-js';
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { ClientError, createClientFactory, Metadata as NiceMetadata, Status as NiceStatus } from 'nice-grpc';
import { deadlineMiddleware } from 'nice-grpc-client-middleware-deadline';
import { credentials, Status } from '../../lib';
import { createChannel, GrpcJsChannel, grpcJsChannelFactory } from '../../lib/grpc-js-channel';
import { echoDefinition, type EchoPeer, startGrpcJsEchoServer, startOurEchoServer } from '../support/client-peers';
import { collect, eventually } from '../support/waiting';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const GrpcJsEcho = (grpcJs.loadPackageDefinition(echoDefinition) as any).grpc.examples.echo.Echo;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyClient = any;

function unary(client: AnyClient, message: string, metadata = new grpcJs.Metadata(), options: grpcJs.CallOptions = {}): Promise<{ message: string }> {
  return new Promise((resolve, reject) =>
    client.UnaryEcho({ message }, metadata, options, (error: Error | null, response: { message: string }) => (error ? reject(error) : resolve(response))),
  );
}

async function failure(promise: Promise<unknown>): Promise<grpcJs.ServiceError> {
  try {
    await promise;
  } catch (error) {
    return error as grpcJs.ServiceError;
  }
  throw new Error('expected the call to fail');
}

for (const [name, start] of [
  ['our server', () => startOurEchoServer()],
  ['a grpc-js server', () => startGrpcJsEchoServer()],
] as const) {
  describe(`h2grpc/grpc-js-channel: grpc-js clients on our transport → ${name}`, () => {
    let peer: EchoPeer;
    let channel: GrpcJsChannel;
    let client: AnyClient;

    before(async () => {
      peer = await start();
      channel = new GrpcJsChannel(`127.0.0.1:${peer.port}`, credentials.createInsecure());
      client = new GrpcJsEcho('ignored', grpcJs.credentials.createInsecure(), { channelOverride: channel });
    });
    after(async () => {
      client.close();
      await peer.stop();
    });

    it('a grpc-js Client with channelOverride: unary with metadata both ways, errors with details and trailers', async () => {
      expect(client.getChannel()).to.equal(channel);
      const metadata = new grpcJs.Metadata();
      metadata.set('x-request', 'abc');
      const headers: grpcJs.Metadata[] = [];
      const response = await new Promise<{ message: string }>((resolve, reject) => {
        const call = client.UnaryEcho({ message: 'metadata' }, metadata, (error: Error | null, value: { message: string }) =>
          error ? reject(error) : resolve(value),
        );
        call.on('metadata', (received: grpcJs.Metadata) => headers.push(received));
      });
      expect(response.message).to.equal('metadata');
      expect(headers[0].get('x-echo')).to.deep.equal(['abc']);
      expect(headers[0]).to.be.instanceOf(grpcJs.Metadata);
      const error = await failure(unary(client, 'error'));
      expect(error.code).to.equal(Status.INVALID_ARGUMENT);
      expect(error.details).to.equal('bad ✓ request 100%');
      expect(error.metadata.get('x-trailer')).to.deep.equal(['oops']);
    });

    it('server streaming, client streaming and a 2000-message bidi call', async () => {
      const streamed = await collect<{ message: string }>(client.ServerStreamingEcho({ message: 'repeat:3:s' }));
      expect(streamed.map((value) => value.message)).to.deep.equal(['s', 's', 's']);
      const joined = await new Promise<{ message: string }>((resolve, reject) => {
        const call = client.ClientStreamingEcho((error: Error | null, value: { message: string }) => (error ? reject(error) : resolve(value)));
        for (const message of ['a', 'b', 'c']) call.write({ message });
        call.end();
      });
      expect(joined.message).to.equal('a,b,c');
      const bidi = client.BidirectionalStreamingEcho();
      const done = collect<{ message: string }>(bidi);
      let sent = 0;
      const writeSome = (): void => {
        while (sent < 2000) {
          if (!bidi.write({ message: `m${sent++}` })) {
            bidi.once('drain', writeSome);
            return;
          }
        }
        bidi.end();
      };
      writeSome();
      const received = await done;
      expect(received).to.have.length(2000);
      expect(received[1999].message).to.equal('m1999');
    });

    it('a slow reader of a 3000-message server stream gets every message', async () => {
      const call = client.ServerStreamingEcho({ message: `repeat:3000:${'z'.repeat(200)}` });
      let count = 0;
      for await (const response of call) {
        expect(response.message).to.have.length(200);
        if (++count % 200 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      expect(count).to.equal(3000);
    });

    it('deadlines and cancellation', async () => {
      const late = await failure(unary(client, 'sleep', undefined, { deadline: Date.now() + 50 }));
      expect(late.code).to.equal(Status.DEADLINE_EXCEEDED);
      const before = peer.cancelled;
      const cancelled = new Promise<grpcJs.ServiceError>((resolve) => {
        const call = client.UnaryEcho({ message: 'sleep' }, (error: grpcJs.ServiceError) => resolve(error));
        setTimeout(() => call.cancel(), 20);
      });
      expect((await cancelled).code).to.equal(Status.CANCELLED);
      await eventually(() => peer.cancelled === before + 1);
      const stream = client.ServerStreamingEcho({ message: 'repeat:100000:x' });
      const streamError = new Promise<grpcJs.ServiceError>((resolve) => stream.on('error', resolve));
      stream.once('data', () => stream.cancel());
      expect((await streamError).code).to.equal(Status.CANCELLED);
    });

    it("grpc-js's interceptors and call credentials run on our channel", async () => {
      const seen: string[] = [];
      const intercepted = new GrpcJsEcho('ignored', grpcJs.credentials.createInsecure(), {
        channelOverride: channel,
        interceptors: [
          (options: grpcJs.InterceptorOptions, nextCall: grpcJs.NextCall) =>
            new grpcJs.InterceptingCall(nextCall(options), {
              start(metadata, listener, next) {
                metadata.set('x-request', 'intercepted');
                next(metadata, { onReceiveStatus: (status, nextStatus) => (seen.push(`status ${status.code}`), nextStatus(status)) });
              },
            }),
        ],
      });
      const headers = await new Promise<grpcJs.Metadata>((resolve, reject) => {
        const call = intercepted.UnaryEcho({ message: 'metadata' }, (error: Error | null) => error && reject(error));
        call.on('metadata', resolve);
      });
      expect(headers.get('x-echo')).to.deep.equal(['intercepted']);
      await eventually(() => seen.length === 1);
      expect(seen).to.deep.equal(['status 0']);
      const token = grpcJs.credentials.createFromMetadataGenerator((_options, callback) => {
        const metadata = new grpcJs.Metadata();
        metadata.set('x-request', 'from-credentials');
        callback(null, metadata);
      });
      const withCredentials = await new Promise<grpcJs.Metadata>((resolve, reject) => {
        const call = client.UnaryEcho({ message: 'metadata' }, new grpcJs.Metadata(), { credentials: token }, (error: Error | null) => error && reject(error));
        call.on('metadata', resolve);
      });
      expect(withCredentials.get('x-echo')).to.deep.equal(['from-credentials']);
    });

    it('channelFactoryOverride builds our channel for each client', async () => {
      const made = new GrpcJsEcho(`127.0.0.1:${peer.port}`, grpcJs.credentials.createInsecure(), { channelFactoryOverride: grpcJsChannelFactory() });
      try {
        expect(made.getChannel()).to.be.instanceOf(GrpcJsChannel);
        expect((await unary(made, 'factory')).message).to.equal('factory');
        expect(made.getChannel().getConnectivityState(false)).to.equal(grpcJs.connectivityState.READY);
      } finally {
        made.close();
      }
    });

    describe('nice-grpc', () => {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      let nice: any;

      before(() => {
        // nice-grpc types its channel as grpc-js's Channel class (private members): our channel needs a cast.
        nice = createClientFactory()
          .use(deadlineMiddleware)
          .create(GrpcJsEcho.service, createChannel(`http://127.0.0.1:${peer.port}`) as unknown as grpcJs.Channel);
      });

      it('the four call kinds', async () => {
        expect(await nice.UnaryEcho({ message: 'hi' })).to.deep.equal({ message: 'hi' });
        const streamed: string[] = [];
        for await (const response of nice.ServerStreamingEcho({ message: 'repeat:4:r' })) streamed.push(response.message);
        expect(streamed).to.deep.equal(['r', 'r', 'r', 'r']);
        async function* requests(): AsyncGenerator<{ message: string }> {
          yield { message: 'x' };
          yield { message: 'y' };
        }
        expect(await nice.ClientStreamingEcho(requests())).to.deep.equal({ message: 'x,y' });
        const echoed: string[] = [];
        for await (const response of nice.BidirectionalStreamingEcho(requests())) echoed.push(response.message);
        expect(echoed).to.deep.equal(['x', 'y']);
      });

      it('metadata, errors, deadlines and AbortSignal cancellation', async () => {
        let header: NiceMetadata | undefined;
        await nice.UnaryEcho({ message: 'metadata' }, { metadata: NiceMetadata({ 'x-request': 'nice' }), onHeader: (value: NiceMetadata) => (header = value) });
        expect(header!.get('x-echo')).to.equal('nice');
        const error = await failure(nice.UnaryEcho({ message: 'error' }));
        expect(error).to.be.instanceOf(ClientError);
        expect((error as unknown as ClientError).code).to.equal(NiceStatus.INVALID_ARGUMENT);
        const late = await failure(nice.UnaryEcho({ message: 'sleep' }, { deadline: new Date(Date.now() + 50) }));
        expect((late as unknown as ClientError).code).to.equal(NiceStatus.DEADLINE_EXCEEDED);
        const controller = new AbortController();
        const pending = nice.UnaryEcho({ message: 'sleep' }, { signal: controller.signal });
        setTimeout(() => controller.abort(), 20);
        expect((await failure(pending)).name).to.equal('AbortError');
      });
    });
  });
}

describe('h2grpc/grpc-js-channel: the subpath entry', () => {
  it('loads without loading @grpc/grpc-js; the package exports it with typings', async () => {
    const root = join(__dirname, '..', '..');
    const script = `const m = require('./dist/grpc-js-channel/index.js'); const c = new m.GrpcJsChannel('127.0.0.1:1', require('./dist/index.js').credentials.createInsecure()); c.close(); console.log(Object.keys(require.cache).filter((f) => /[\\\\/]@grpc[\\\\/]grpc-js[\\\\/]/.test(f)).length);`;
    const loaded = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['-e', script], { cwd: root, timeout: 20_000 }, (error, stdout, stderr) =>
        error ? reject(new Error(stderr)) : resolve(stdout.trim()),
      ),
    );
    expect(loaded).to.equal('0');
    const pkg = require(join(root, 'package.json'));
    expect(pkg.exports['./grpc-js-channel'].types).to.equal('./dist/grpc-js-channel/index.d.ts');
    expect(pkg.typesVersions['*']['grpc-js-channel']).to.deep.equal(['./dist/grpc-js-channel/index.d.ts']);
  });

  it("grpc-js's secure credentials are refused with a clear error; per-call host too", () => {
    expect(() => new GrpcJsChannel('127.0.0.1:1', grpcJs.credentials.createSsl())).to.throw(/h2grpc's credentials/);
    const channel = new GrpcJsChannel('127.0.0.1:1', grpcJs.credentials.createInsecure());
    expect(() => channel.createCall('/a/b', Infinity, 'other-host', null, undefined)).to.throw(/per-call host/);
    channel.close();
  });
});
