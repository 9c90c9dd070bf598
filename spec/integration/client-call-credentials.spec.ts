import * as grpcJs from '@grpc/grpc-js';
import { expect } from 'chai';
import * as h2grpc from '../../lib';
import { CallCredentials, credentials, Metadata, Status } from '../../lib';
import { type AnyClient, callFailure, echoDefinition, EchoClient, unaryCall } from '../support/client-peers';
import { interopCertificates } from '../support/certificates';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const grpcJsEcho = (grpcJs.loadPackageDefinition(echoDefinition) as any).grpc.examples.echo.Echo;

/** Echo handlers whose unary answer lists the request's x-* and authorization metadata as "key=value;...". */
const metadataEcho = {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  UnaryEcho(call: any, callback: any) {
    const seen = Object.entries(call.metadata.toJSON() as { [key: string]: string[] })
      .filter(([key]) => key.startsWith('x-') || key === 'authorization')
      .map(([key, values]) => `${key}=${values.join(',')}`)
      .sort();
    callback(null, { message: seen.join(';') });
  },
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  ServerStreamingEcho(call: any) {
    call.end();
  },
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  ClientStreamingEcho(_call: any, callback: any) {
    callback(null, { message: '' });
  },
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  BidirectionalStreamingEcho(call: any) {
    call.end();
  },
};

function generator(key: string, value: string, seen?: h2grpc.CallMetadataOptions[]): CallCredentials {
  return credentials.createFromMetadataGenerator((options, callback) => {
    seen?.push(options);
    const metadata = new Metadata();
    metadata.set(key, value);
    setImmediate(() => callback(null, metadata));
  });
}

describe('integration: call credentials (grpc-js semantics)', () => {
  let server: h2grpc.Server;
  let port: number;
  const clients: { close(): void }[] = [];

  before(async () => {
    server = new h2grpc.Server();
    server.addService(EchoClient.service, metadataEcho);
    port = await server.listen(0);
  });
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });
  after(() => server.forceShutdown());

  function insecureClient(): AnyClient {
    const client = new EchoClient(`127.0.0.1:${port}`, credentials.createInsecure());
    clients.push(client);
    return client;
  }

  function grpcJsClient(): AnyClient {
    const client = new grpcJsEcho(`127.0.0.1:${port}`, grpcJs.credentials.createInsecure());
    clients.push(client);
    return client;
  }

  it("per-call credentials add their metadata; the generator is told what grpc-js's tells it", async () => {
    const ours: h2grpc.CallMetadataOptions[] = [];
    const theirs: h2grpc.CallMetadataOptions[] = [];
    const response = await unaryCall(insecureClient(), 'x', undefined, { credentials: generator('x-token', 'abc', ours) });
    expect(response.message).to.equal('x-token=abc');
    const theirCredentials = grpcJs.credentials.createFromMetadataGenerator((options, callback) => {
      theirs.push(options);
      const metadata = new grpcJs.Metadata();
      metadata.set('x-token', 'abc');
      callback(null, metadata);
    });
    const theirResponse = await unaryCall(grpcJsClient(), 'x', new grpcJs.Metadata() as never, { credentials: theirCredentials as never });
    expect(theirResponse.message).to.equal(response.message);
    expect(ours).to.deep.equal(theirs);
    expect(ours[0].method_name).to.equal('/grpc.examples.echo.Echo/UnaryEcho');
  });

  it('composed call credentials merge their metadata in order, after the call metadata', async () => {
    const composed = credentials.combineCallCredentials(generator('x-a', '1'), generator('x-b', '2'), generator('x-a', '3'));
    const metadata = new Metadata();
    metadata.set('x-call', 'c');
    const response = await unaryCall(insecureClient(), 'x', metadata, { credentials: composed });
    expect(response.message).to.equal('x-a=1, 3;x-b=2;x-call=c');
    expect(generator('x', 'y').compose(CallCredentials.createEmpty())).to.be.instanceOf(CallCredentials);
    const single = generator('x', 'y');
    expect(single.compose(CallCredentials.createEmpty())).to.equal(single);
    expect(single._equals(single)).to.equal(true);
  });

  for (const [name, error, code, details] of [
    ['a plain error fails the call UNKNOWN', new Error('boom'), Status.UNKNOWN, 'Getting metadata from plugin failed with error: boom'],
    ['an error with a code fails the call with that code', Object.assign(new Error('later'), { code: Status.UNAVAILABLE }), Status.UNAVAILABLE, 'later'],
    [
      'a code a control plane may not give becomes INTERNAL',
      Object.assign(new Error('odd'), { code: Status.NOT_FOUND }),
      Status.INTERNAL,
      'Invalid status from control plane',
    ],
  ] as const) {
    it(`a failing generator: ${name}, as with grpc-js`, async () => {
      const failing = credentials.createFromMetadataGenerator((_options, callback) => callback(error));
      const ourError = await callFailure(unaryCall(insecureClient(), 'x', undefined, { credentials: failing }));
      const theirFailing = grpcJs.credentials.createFromMetadataGenerator((_options, callback) => callback(error));
      const theirError = await callFailure(unaryCall(grpcJsClient(), 'x', new grpcJs.Metadata() as never, { credentials: theirFailing as never }));
      expect(ourError.code).to.equal(code);
      expect(ourError.details).to.contain(details);
      expect(ourError.code).to.equal(theirError.code);
      expect(ourError.details).to.equal(theirError.details);
    });
  }

  it('"authorization" from both the call and its credentials fails the call INTERNAL', async () => {
    const metadata = new Metadata();
    metadata.set('authorization', 'Bearer a');
    const failure = await callFailure(unaryCall(insecureClient(), 'x', metadata, { credentials: generator('authorization', 'Bearer b') }));
    expect(failure.code).to.equal(Status.INTERNAL);
    expect(failure.details).to.match(/authorization/);
  });

  it('a call whose generator never answers ends at its deadline, or when cancelled', async () => {
    const stuck = credentials.createFromMetadataGenerator(() => {});
    const late = await callFailure(unaryCall(insecureClient(), 'x', undefined, { credentials: stuck, deadline: Date.now() + 100 }));
    expect(late.code).to.equal(Status.DEADLINE_EXCEEDED);
    const client = insecureClient();
    const cancelled = new Promise<h2grpc.GrpcError>((resolve) => {
      const call = client.UnaryEcho({ message: 'x' }, new Metadata(), { credentials: stuck }, (error: h2grpc.GrpcError) => resolve(error));
      setImmediate(() => call.cancel());
    });
    expect((await cancelled).code).to.equal(Status.CANCELLED);
  });

  it('insecure channel credentials refuse to be composed, as grpc-js refuses; bad arguments throw', async () => {
    expect(() => credentials.combineChannelCredentials(credentials.createInsecure(), generator('x', 'y'))).to.throw('Cannot compose insecure credentials');
    expect(() => grpcJs.credentials.combineChannelCredentials(grpcJs.credentials.createInsecure(), grpcJs.credentials.createEmpty())).to.throw(
      'Cannot compose insecure credentials',
    );
    expect(() => credentials.createFromMetadataGenerator('x' as never)).to.throw(TypeError);
    expect(await callFailure(unaryCall(insecureClient(), 'x', undefined, { credentials: {} as never }))).to.be.instanceOf(TypeError);
  });

  describe('over TLS', function () {
    this.timeout(30_000);
    const certificates = interopCertificates();
    let tlsServer: grpcJs.Server;
    let tlsPort: number;

    before(async function () {
      if (certificates === null) this.skip();
      tlsServer = new grpcJs.Server();
      tlsServer.addService(grpcJsEcho.service, metadataEcho);
      tlsPort = await new Promise<number>((resolve, reject) =>
        tlsServer.bindAsync(
          '127.0.0.1:0',
          grpcJs.ServerCredentials.createSsl(null, [{ private_key: certificates!.key, cert_chain: certificates!.cert }]),
          (error, bound) => (error ? reject(error) : resolve(bound)),
        ),
      );
    });
    after(() => tlsServer?.forceShutdown());

    it("channel credentials combined with call credentials add them to every call, after a call's own", async () => {
      const seen: h2grpc.CallMetadataOptions[] = [];
      const channelCredentials = credentials.combineChannelCredentials(
        credentials.createSsl(certificates!.ca),
        generator('x-channel', 'one', seen),
        generator('authorization', 'Bearer t'),
      );
      const client = new EchoClient(`127.0.0.1:${tlsPort}`, channelCredentials, { 'grpc.ssl_target_name_override': 'foo.test.google.fr' }) as AnyClient;
      clients.push(client);
      expect((await unaryCall(client, 'x')).message).to.equal('authorization=Bearer t;x-channel=one');
      expect((await unaryCall(client, 'x', undefined, { credentials: generator('x-channel', 'call') })).message).to.equal(
        'authorization=Bearer t;x-channel=call, one',
      );
      expect(seen[0]).to.deep.equal({ method_name: '/grpc.examples.echo.Echo/UnaryEcho', service_url: 'https://127.0.0.1/grpc.examples.echo.Echo' });
    });
  });
});
