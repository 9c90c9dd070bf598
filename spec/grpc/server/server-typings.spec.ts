import { expect } from 'chai';
import { join } from 'node:path';
import { StrictProject } from '../../support/strict-compile';

const root = join(__dirname, '..', '..', '..');

/** Server code as a grpc-js user writes it (grpc-js's handler and interceptor types), against dist/. */
const USE = `import * as grpc from ${JSON.stringify(join(root, 'dist', 'index'))};
interface EchoRequest { message: string }
interface EchoResponse { message: string }

const unaryEcho: grpc.handleUnaryCall<EchoRequest, EchoResponse> = (
  call: grpc.ServerUnaryCall<EchoRequest, EchoResponse>,
  callback: grpc.sendUnaryData<EchoResponse>,
) => {
  const deadline: grpc.Deadline = call.getDeadline();
  callback(null, { message: call.request.message + String(deadline) });
};
const serverStreamingEcho: grpc.handleServerStreamingCall<EchoRequest, EchoResponse> = (call: grpc.ServerWritableStream<EchoRequest, EchoResponse>) => {
  call.write({ message: call.request.message });
  call.end();
};
const clientStreamingEcho: grpc.handleClientStreamingCall<EchoRequest, EchoResponse> = (
  call: grpc.ServerReadableStream<EchoRequest, EchoResponse>,
  callback: grpc.sendUnaryData<EchoResponse>,
) => {
  call.on('data', (request: EchoRequest) => void request.message);
  call.on('end', () => {
    const error: grpc.ServerErrorResponse = Object.assign(new Error('nope'), { code: grpc.status.INVALID_ARGUMENT });
    callback(error, null);
  });
};
const bidirectionalStreamingEcho: grpc.handleBidiStreamingCall<EchoRequest, EchoResponse> = (call: grpc.ServerDuplexStream<EchoRequest, EchoResponse>) => {
  call.on('data', (request: EchoRequest) => call.write({ message: request.message }));
  call.on('end', () => call.end());
};

const requireToken: grpc.ServerInterceptor = (methodDescriptor: grpc.ServerMethodDefinition<unknown, unknown>, call: grpc.ServerInterceptingCallInterface) =>
  new grpc.ServerInterceptingCall(call, new grpc.ResponderBuilder()
    .withStart((next) => {
      next(new grpc.ServerListenerBuilder()
        .withOnReceiveMetadata((metadata: grpc.Metadata, mdNext: (metadata: grpc.Metadata) => void) => {
          if (metadata.get('authorization').length === 0) call.sendStatus({ code: grpc.status.UNAUTHENTICATED, details: methodDescriptor.path });
          else mdNext(metadata);
        })
        .build());
    })
    .build());

const implementation: grpc.UntypedServiceImplementation = { unaryEcho, serverStreamingEcho, clientStreamingEcho, bidirectionalStreamingEcho };
const server = new grpc.Server({ interceptors: [requireToken] });
declare const service: grpc.ServiceDefinition;
server.addService(service, implementation);
grpc.addAdminServicesToServer(server);
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error: Error | null, port: number) => void [error, port]);
`;

/**
 * grpc-js-style server code type-checks against the built declarations under strict, library checks
 * on (npm test builds dist/ first): handler types, call classes with two type parameters,
 * interceptors, addAdminServicesToServer.
 */
describe('server typings in dist/ (grpc-js-style code, strict, skipLibCheck off)', function () {
  this.timeout(60_000);
  const project = new StrictProject();
  after(() => project.dispose());
  const compile = (source: string) => project.compile(source);

  it('type-checks handlers, interceptors and admin services', async () => {
    expect(await compile(USE)).to.equal('');
  });

  it('the check can fail: a handler answering with the wrong response type is an error', async () => {
    const wrong = USE.replace('callback(null, { message: call.request.message + String(deadline) });', 'callback(null, { text: 1 });');
    expect(wrong).to.not.equal(USE);
    expect(await compile(wrong)).to.match(/error TS2353|error TS2345|error TS2322/);
  });
});
