import { expect } from 'chai';
import * as grpcJs from '@grpc/grpc-js';
import { collect } from '../support/waiting';

/**
 * grpc-node's static-codegen style (`*_grpc_pb.js` from grpc_tools_node_protoc's grpc_js option,
 * with require('@grpc/grpc-js') changed to require('h2grpc')) loads and serves on h2grpc, and its
 * generated client constructor runs on our client. Both come from dist/ (npm test builds it).
 */
const h2grpc = require('h2grpc') as typeof import('../../lib');
const generated = require('../fixtures/static-codegen/echo_grpc_pb.js');
const messages = require('../fixtures/static-codegen/echo_pb.js');

interface EchoMessage {
  getMessage(): string;
  setMessage(value: string): EchoMessage;
}
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyCall = any;

function request(text: string): EchoMessage {
  return new messages.EchoRequest().setMessage(text);
}
function response(text: string): EchoMessage {
  return new messages.EchoResponse().setMessage(text);
}

const implementation = {
  unaryEcho(call: AnyCall, callback: AnyCall) {
    callback(null, response(call.request.getMessage()));
  },
  serverStreamingEcho(call: AnyCall) {
    for (const part of (call.request.getMessage() as string).split(',')) call.write(response(part));
    call.end();
  },
  clientStreamingEcho(call: AnyCall, callback: AnyCall) {
    const parts: string[] = [];
    call.on('data', (message: EchoMessage) => parts.push(message.getMessage()));
    call.on('end', () => callback(null, response(parts.join('+'))));
  },
  bidirectionalStreamingEcho(call: AnyCall) {
    call.on('data', (message: EchoMessage) => call.write(response(message.getMessage().toUpperCase())));
    call.on('end', () => call.end());
  },
};

describe('static generated code (*_grpc_pb.js) with h2grpc in place of @grpc/grpc-js', () => {
  let server: InstanceType<typeof h2grpc.Server>;
  let port: number;
  const clients: { close(): void }[] = [];

  before(async () => {
    server = new h2grpc.Server();
    server.addService(generated.EchoService, implementation);
    port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', h2grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
    );
  });
  after(() => {
    for (const client of clients.splice(0)) client.close();
    server.forceShutdown();
  });

  for (const [name, makeClient] of [
    ['the generated EchoClient (our client)', () => new generated.EchoClient(`127.0.0.1:${port}`, h2grpc.credentials.createInsecure())],
    [
      'a grpc-js client built from the same service definition',
      () => new (grpcJs.makeGenericClientConstructor(generated.EchoService, 'Echo'))(`127.0.0.1:${port}`, grpcJs.credentials.createInsecure()),
    ],
  ] as const) {
    it(`serves all four kinds to ${name}`, async () => {
      const client = makeClient() as AnyCall;
      clients.push(client);
      const unary = await new Promise<EchoMessage>((resolve, reject) =>
        client.unaryEcho(request('hi'), (error: Error | null, value: EchoMessage) => (error ? reject(error) : resolve(value))),
      );
      expect(unary.getMessage()).to.equal('hi');

      const streamed = await collect<EchoMessage>(client.serverStreamingEcho(request('a,b,c')));
      expect(streamed.map((message) => message.getMessage())).to.deep.equal(['a', 'b', 'c']);

      const joined = await new Promise<EchoMessage>((resolve, reject) => {
        const call = client.clientStreamingEcho((error: Error | null, value: EchoMessage) => (error ? reject(error) : resolve(value)));
        for (const part of ['x', 'y']) call.write(request(part));
        call.end();
      });
      expect(joined.getMessage()).to.equal('x+y');

      const bidi = client.bidirectionalStreamingEcho();
      const answers = collect<EchoMessage>(bidi);
      for (const part of ['p', 'q']) bidi.write(request(part));
      bidi.end();
      expect((await answers).map((message) => message.getMessage())).to.deep.equal(['P', 'Q']);
    });
  }

  it('the generated serializer still checks its argument type (a plain object fails the call, not the process)', async () => {
    const client = new generated.EchoClient(`127.0.0.1:${port}`, h2grpc.credentials.createInsecure()) as AnyCall;
    clients.push(client);
    const error = await new Promise<{ code: number; details: string }>((resolve) =>
      client.unaryEcho({ message: 'plain' }, (failure: AnyCall) => resolve(failure)),
    );
    expect(error.code).to.equal(h2grpc.status.INTERNAL);
    expect(error.details).to.contain('Expected argument of type grpc.examples.echo.EchoRequest');
  });
});
