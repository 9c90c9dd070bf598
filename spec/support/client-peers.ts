/**
 * Servers for our client's specs: the Echo service on our server and on a @grpc/grpc-js server,
 * with the same handlers (written once, to the grpc-js handler API both servers take), and our
 * Echo client.
 */
import * as grpcJs from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import * as h2grpc from '../../lib';
import { echoImplementation, ECHO_PROTO } from '../../examples/echo-service';

export const echoDefinition = protoLoader.loadSync(ECHO_PROTO, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });

/** Our client class for the Echo service (loadPackageDefinition's constructor). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const EchoClient = (h2grpc.loadPackageDefinition(echoDefinition) as any).grpc.examples.echo.Echo as h2grpc.ServiceClientConstructor;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const grpcJsEcho = (grpcJs.loadPackageDefinition(echoDefinition) as any).grpc.examples.echo.Echo;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyClient = any;

export interface EchoPeer {
  name: string;
  port: number;
  /** Calls seen cancelled by the server's handlers. */
  cancelled: number;
  stop(): Promise<void>;
}

interface Handlers {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [name: string]: (...args: any[]) => void;
}

/**
 * Echo handlers with a few behaviours selected by the request message: "error" (INVALID_ARGUMENT
 * with trailers and status details), "sleep" (never answers), "metadata" (echoes x-request in
 * headers and trailers), "big:<n>" (a response of n bytes).
 */
function handlers(peer: EchoPeer): Handlers {
  return {
    ...echoImplementation,
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    UnaryEcho(call: any, callback: any) {
      const message: string = call.request.message;
      const MetadataClass = call.metadata.constructor;
      call.on('cancelled', () => peer.cancelled++);
      if (message === 'error') {
        const trailer = new MetadataClass();
        trailer.set('x-trailer', 'oops');
        trailer.set('grpc-status-details-bin', Buffer.from([1, 2, 3]));
        callback({ code: grpcJs.status.INVALID_ARGUMENT, details: 'bad ✓ request 100%', metadata: trailer });
      } else if (message === 'sleep') {
        // no answer: the client's deadline or cancellation ends it
      } else if (message === 'metadata') {
        const headers = new MetadataClass();
        headers.set('x-echo', String(call.metadata.get('x-request')[0]));
        headers.set('x-echo-bin', call.metadata.get('x-request-bin')[0] ?? Buffer.alloc(0));
        call.sendMetadata(headers);
        const trailer = new MetadataClass();
        trailer.set('x-trailer', 'done');
        callback(null, { message: 'metadata' }, trailer);
      } else if (message.startsWith('big:')) {
        callback(null, { message: 'y'.repeat(Number(message.slice(4))) });
      } else {
        callback(null, { message });
      }
    },
  };
}

/** Our server with the Echo handlers. */
export async function startOurEchoServer(options: h2grpc.ServerOptions = {}): Promise<EchoPeer> {
  const server = new h2grpc.Server(options);
  const peer: EchoPeer = { name: 'our server', port: 0, cancelled: 0, stop: async () => server.forceShutdown() };
  server.addService(EchoClient.service, handlers(peer));
  peer.port = await server.listen(0);
  return peer;
}

/** A @grpc/grpc-js server with the same handlers. */
export async function startGrpcJsEchoServer(options: grpcJs.ServerOptions = {}): Promise<EchoPeer> {
  const server = new grpcJs.Server(options);
  const peer: EchoPeer = { name: 'grpc-js server', port: 0, cancelled: 0, stop: async () => server.forceShutdown() };
  server.addService(grpcJsEcho.service, handlers(peer));
  peer.port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpcJs.ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port))),
  );
  return peer;
}

/** Our Echo client for a loopback port. */
export function ourEchoClient(port: number, options: h2grpc.ClientOptions = {}): AnyClient {
  return new EchoClient(`127.0.0.1:${port}`, h2grpc.credentials.createInsecure(), options);
}

/** A unary call as a promise. */
export function unaryCall(client: AnyClient, message: string, metadata?: h2grpc.Metadata, options: h2grpc.CallOptions = {}): Promise<{ message: string }> {
  return new Promise((resolve, reject) => {
    client.UnaryEcho({ message }, metadata ?? new h2grpc.Metadata(), options, (error: Error | null, response: { message: string }) =>
      error ? reject(error) : resolve(response),
    );
  });
}

/** The error a call failed with (fails if it succeeded). */
export async function callFailure(promise: Promise<unknown>): Promise<h2grpc.GrpcError> {
  try {
    await promise;
  } catch (error) {
    return error as h2grpc.GrpcError;
  }
  throw new Error('expected the call to fail');
}
