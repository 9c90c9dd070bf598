import { expect } from 'chai';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { create, toBinary } from '@bufbuild/protobuf';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { type Client, createClient } from '@connectrpc/connect';
import * as grpcJs from '@grpc/grpc-js';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { Server } from '../../lib';
import { addConnectRouter, createConnectTransport, createGrpcTransport, createGrpcWebTransport, type H2grpcTransport } from '../../lib/connect';
import type { H2grpcTransportOptions } from '../../lib/connect/transports';
import { echoImplementation } from '../../examples/echo-service';
import { echoDefinition } from '../support/client-peers';
import {
  Code,
  ConnectError,
  echoRecorder,
  echoRoutes,
  EchoResponseSchema,
  EchoServiceDesc,
  type EchoRecorder,
  type EchoService,
  type ProtocolName,
} from '../support/connect-echo';
import { eventually } from '../support/waiting';

const PROTOCOLS: ProtocolName[] = ['grpc', 'connect', 'grpc-web'];

/** A Connect client on our transport (h2grpc's client channel), for one protocol. */
function ourConnectClient(
  protocol: ProtocolName,
  port: number,
  options: Partial<H2grpcTransportOptions> = {},
): { client: Client<EchoService>; transport: H2grpcTransport } {
  const common = { baseUrl: `http://127.0.0.1:${port}`, ...options };
  const transport =
    protocol === 'connect' ? createConnectTransport(common) : protocol === 'grpc' ? createGrpcTransport(common) : createGrpcWebTransport(common);
  return { client: createClient(EchoServiceDesc, transport), transport };
}

async function failure(promise: Promise<unknown>): Promise<ConnectError> {
  try {
    await promise;
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error('expected the call to fail');
}

async function* messages(...texts: string[]) {
  for (const message of texts) yield { message };
}

interface EchoServer {
  port: number;
  stop(): void;
}

/** The servers running the Connect Echo routes (spec/support/connect-echo.ts). */
const SERVERS: { name: string; start(recorder: EchoRecorder): Promise<EchoServer> }[] = [
  {
    name: "connect-node's server (node:http2)",
    async start(recorder) {
      const server = http2.createServer(connectNodeAdapter({ routes: echoRoutes(recorder) }));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const sessions = new Set<http2.ServerHttp2Session>();
      server.on('session', (session) => {
        sessions.add(session);
        session.on('close', () => sessions.delete(session));
      });
      return {
        port: (server.address() as AddressInfo).port,
        stop() {
          for (const session of sessions) session.destroy();
          server.close();
        },
      };
    },
  },
  {
    name: 'our server with the Connect adapter',
    async start(recorder) {
      const server = new Server();
      addConnectRouter(server, { routes: echoRoutes(recorder) });
      return { port: await server.listen(0), stop: () => server.forceShutdown() };
    },
  },
];

for (const { name, start } of SERVERS) {
  describe(`integration: our Connect client (h2grpc/connect transports) → ${name}`, () => {
    let server: EchoServer;
    let recorder: EchoRecorder;
    const transports: H2grpcTransport[] = [];

    before(async () => {
      recorder = echoRecorder();
      server = await start(recorder);
    });
    after(() => server.stop());
    afterEach(() => {
      for (const transport of transports.splice(0)) transport.channel.close();
    });

    function connect(protocol: ProtocolName, options: Partial<H2grpcTransportOptions> = {}): Client<EchoService> {
      const { client, transport } = ourConnectClient(protocol, server.port, options);
      transports.push(transport);
      return client;
    }

    for (const protocol of PROTOCOLS) {
      describe(protocol, () => {
        it('unary', async () => {
          expect((await connect(protocol).unaryEcho({ message: 'hello' })).message).to.equal('hello');
        });

        it('server streaming', async () => {
          const received: string[] = [];
          for await (const response of connect(protocol).serverStreamingEcho({ message: 'repeat:3:ab' })) received.push(response.message);
          expect(received).to.deep.equal(['ab', 'ab', 'ab']);
        });

        it('client streaming', async () => {
          expect((await connect(protocol).clientStreamingEcho(messages('a', 'b', 'c'))).message).to.equal('a,b,c');
        });

        it('bidi streaming: each answer comes before the next request is sent (full duplex)', async () => {
          const client = connect(protocol);
          const answers: string[] = [];
          let release: () => void = () => {};
          async function* requests() {
            for (const message of ['one', 'two', 'three']) {
              yield { message };
              // The next request waits for the answer to this one.
              await new Promise<void>((resolve) => (release = resolve));
            }
          }
          for await (const response of client.bidirectionalStreamingEcho(requests())) {
            answers.push(response.message);
            release();
          }
          expect(answers).to.deep.equal(['one', 'two', 'three']);
        });

        it('errors carry code, message, details and metadata', async () => {
          const error = await failure(connect(protocol).unaryEcho({ message: 'fail:5:not here' }));
          expect(error.code).to.equal(Code.NotFound);
          expect(error.rawMessage).to.equal('not here');
          expect(error.findDetails(EchoResponseSchema).map((detail) => detail.message)).to.deep.equal(['detail:not here']);
          expect(error.metadata.get('x-fail')).to.equal('yes');
        });

        it('a server-streaming error after no message (trailers-only for gRPC)', async () => {
          const error = await failure(
            (async () => {
              for await (const response of connect(protocol).serverStreamingEcho({ message: 'fail:7:denied' })) void response;
            })(),
          );
          expect(error.code).to.equal(Code.PermissionDenied);
          expect(error.rawMessage).to.equal('denied');
        });

        it('request headers go out; response headers and trailers come back', async () => {
          let header: Headers | undefined;
          let trailer: Headers | undefined;
          const response = await connect(protocol).unaryEcho(
            { message: 'headers' },
            { headers: { 'x-request': 'value-1' }, onHeader: (value) => (header = value), onTrailer: (value) => (trailer = value) },
          );
          expect(response.message).to.equal('headers');
          expect(recorder.lastRequestHeader?.get('x-request')).to.equal('value-1');
          expect(header?.get('x-echo-header')).to.equal('value-1');
          expect(trailer?.get('x-echo-trailer')).to.equal('value-1');
        });

        it('abort → Canceled here, and the handler hears of it', async () => {
          const controller = new AbortController();
          const waiting = recorder.waiting;
          const aborts = recorder.aborts.length;
          const call = connect(protocol).unaryEcho({ message: 'wait' }, { signal: controller.signal });
          await eventually(() => recorder.waiting > waiting);
          controller.abort();
          expect((await failure(call)).code).to.equal(Code.Canceled);
          await eventually(() => recorder.aborts.length > aborts);
          expect(ConnectError.from(recorder.aborts.at(-1)).code).to.be.oneOf([Code.Canceled, Code.DeadlineExceeded]);
        });

        it('timeoutMs → DeadlineExceeded', async () => {
          const error = await failure(connect(protocol).unaryEcho({ message: 'wait' }, { timeoutMs: 100 }));
          expect(error.code).to.equal(Code.DeadlineExceeded);
        });

        it('abort of a server stream in the middle → Canceled', async () => {
          const controller = new AbortController();
          const received: string[] = [];
          const error = await failure(
            (async () => {
              for await (const response of connect(protocol).serverStreamingEcho({ message: 'repeat:100000:x' }, { signal: controller.signal })) {
                received.push(response.message);
                if (received.length === 3) controller.abort();
              }
            })(),
          );
          expect(error.code).to.equal(Code.Canceled);
          expect(received.length).to.be.at.least(3).and.below(100000);
        });
      });
    }
  });
}

/** google.rpc.Status { code, message, details: [Any(EchoResponse { message: detail })] }, as grpc-status-details-bin. */
function statusDetails(code: number, message: string, detail: string): Buffer {
  const echo = toBinary(EchoResponseSchema, create(EchoResponseSchema, { message: detail }));
  const any = new BinaryWriter()
    .tag(1, WireType.LengthDelimited)
    .string('type.googleapis.com/grpc.examples.echo.EchoResponse')
    .tag(2, WireType.LengthDelimited)
    .bytes(echo)
    .finish();
  return Buffer.from(
    new BinaryWriter()
      .tag(1, WireType.Varint)
      .int32(code)
      .tag(2, WireType.LengthDelimited)
      .string(message)
      .tag(3, WireType.LengthDelimited)
      .bytes(any)
      .finish(),
  );
}

describe('integration: our Connect client (gRPC protocol) → a grpc-js server', () => {
  let server: grpcJs.Server;
  let port: number;
  const seen = { sleeping: 0, cancelled: 0 };
  const transports: H2grpcTransport[] = [];
  before(async () => {
    server = new grpcJs.Server();
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const service = (grpcJs.loadPackageDefinition(echoDefinition) as any).grpc.examples.echo.Echo.service;
    server.addService(service, {
      ...echoImplementation,
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      UnaryEcho(call: any, callback: any) {
        const message: string = call.request.message;
        if (message === 'error') {
          const trailer = new grpcJs.Metadata();
          trailer.set('x-trailer', 'oops');
          trailer.set('grpc-status-details-bin', statusDetails(grpcJs.status.INVALID_ARGUMENT, 'bad ✓ request 100%', 'why'));
          callback({ code: grpcJs.status.INVALID_ARGUMENT, details: 'bad ✓ request 100%', metadata: trailer });
        } else if (message === 'sleep') {
          // No answer: the client's deadline or abort ends it.
          seen.sleeping++;
          call.on('cancelled', () => seen.cancelled++);
        } else if (message === 'metadata') {
          const headers = new grpcJs.Metadata();
          headers.set('x-echo', String(call.metadata.get('x-request')[0]));
          call.sendMetadata(headers);
          const trailer = new grpcJs.Metadata();
          trailer.set('x-trailer', 'done');
          callback(null, { message }, trailer);
        } else {
          callback(null, { message });
        }
      },
    });
    port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpcJs.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
    );
  });
  after(() => server.forceShutdown());
  afterEach(() => {
    for (const transport of transports.splice(0)) transport.channel.close();
  });

  function connect(): Client<EchoService> {
    const { client, transport } = ourConnectClient('grpc', port);
    transports.push(transport);
    return client;
  }

  it('unary, server streaming, client streaming and bidi', async () => {
    const client = connect();
    expect((await client.unaryEcho({ message: 'u' })).message).to.equal('u');
    const streamed: string[] = [];
    for await (const response of client.serverStreamingEcho({ message: 'repeat:4:s' })) streamed.push(response.message);
    expect(streamed).to.deep.equal(['s', 's', 's', 's']);
    expect((await client.clientStreamingEcho(messages('x', 'y'))).message).to.equal('x,y');
    const echoed: string[] = [];
    for await (const response of client.bidirectionalStreamingEcho(messages('p', 'q', 'r'))) echoed.push(response.message);
    expect(echoed).to.deep.equal(['p', 'q', 'r']);
  });

  it('an error with its message, details and trailing metadata', async () => {
    const error = await failure(connect().unaryEcho({ message: 'error' }));
    expect(error.code).to.equal(Code.InvalidArgument);
    expect(error.rawMessage).to.equal('bad ✓ request 100%');
    expect(error.findDetails(EchoResponseSchema).map((detail) => detail.message)).to.deep.equal(['why']);
    expect(error.metadata.get('x-trailer')).to.equal('oops');
  });

  it('response headers and trailers', async () => {
    let header: Headers | undefined;
    let trailer: Headers | undefined;
    await connect().unaryEcho(
      { message: 'metadata' },
      { headers: { 'x-request': 'r1' }, onHeader: (value) => (header = value), onTrailer: (value) => (trailer = value) },
    );
    expect(header?.get('x-echo')).to.equal('r1');
    expect(trailer?.get('x-trailer')).to.equal('done');
  });

  it('abort → Canceled, and the server sees the call cancelled', async () => {
    const controller = new AbortController();
    const { sleeping, cancelled } = seen;
    const call = connect().unaryEcho({ message: 'sleep' }, { signal: controller.signal });
    await eventually(() => seen.sleeping > sleeping);
    controller.abort();
    expect((await failure(call)).code).to.equal(Code.Canceled);
    await eventually(() => seen.cancelled > cancelled);
  });

  it('timeoutMs → DeadlineExceeded', async () => {
    expect((await failure(connect().unaryEcho({ message: 'sleep' }, { timeoutMs: 100 }))).code).to.equal(Code.DeadlineExceeded);
  });
});
