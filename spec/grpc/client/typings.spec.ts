import { expect } from 'chai';
import { join } from 'node:path';
import { StrictProject } from '../../support/strict-compile';

const root = join(__dirname, '..', '..', '..');

/** Client code as a grpc-js user writes it, against the built declarations. */
const USE = `import * as grpc from ${JSON.stringify(join(root, 'dist', 'index'))};
import { GrpcJsChannel } from ${JSON.stringify(join(root, 'dist', 'grpc-js-channel', 'index'))};
const Echo = grpc.makeGenericClientConstructor({}, 'Echo');
const client = new Echo('127.0.0.1:1', grpc.credentials.createSsl(null), { 'grpc.keepalive_time_ms': 1000 });
const state: grpc.ConnectivityState = client.getChannel().getConnectivityState(false);
const call: grpc.ClientUnaryCall<string> = client.makeUnaryRequest('/a/b', (value: string) => Buffer.from(value), (data: Buffer) => data.toString(), 'x', (error: grpc.ClientServiceError | null, value?: string) => void [error, value]);
call.cancel();
client.close();
const logging: grpc.Interceptor = (options, nextCall) =>
  new grpc.InterceptingCall(nextCall(options), new grpc.RequesterBuilder().withStart((metadata, listener, next) => next(metadata, new grpc.ListenerBuilder().withOnReceiveStatus((status, done) => done(status)).build())).build());
const token = grpc.credentials.createFromMetadataGenerator((options, callback) => callback(null, new grpc.Metadata()));
const secure = grpc.credentials.combineChannelCredentials(grpc.credentials.createSsl(null), token);
type Unary = grpc.TypedMethodDefinition<string, number, false, false>;
type Stream = grpc.TypedMethodDefinition<string, number, true, true>;
declare const definition: { Get: Unary; Chat: Stream };
const asyncClient = grpc.createAsyncClient(definition, '127.0.0.1:1', secure, { interceptors: [logging] });
const answer: Promise<number> = asyncClient.Get('x', { signal: new AbortController().signal, credentials: token });
const replies: AsyncIterable<number> = asyncClient.Chat(['a', 'b']);
asyncClient.close();
const channel = new GrpcJsChannel('127.0.0.1:1', grpc.credentials.createInsecure());
channel.close();
export const seen = [state, call.getPeer(), answer, replies];
`;

/**
 * The client's declarations stand alone under stripInternal: nothing public refers to a stripped
 * internal type (a check skipLibCheck would hide; npm test builds dist/ first).
 */
describe('client typings in dist/ (strict, skipLibCheck off)', function () {
  this.timeout(60_000);
  const project = new StrictProject();
  after(() => project.dispose());

  it('type-checks client code and every declaration it pulls in', async () => {
    const output = await project.compile(USE);
    expect(output).to.equal('');
  });
});
