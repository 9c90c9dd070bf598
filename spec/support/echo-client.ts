import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ECHO_PROTO } from '../../examples/echo-service';

const definition = protoLoader.loadSync(ECHO_PROTO, { keepCase: true, defaults: true });
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const loaded = grpc.loadPackageDefinition(definition) as any;

/** A @grpc/grpc-js Echo client (the reference peer). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type EchoClient = grpc.Client & Record<string, (...args: any[]) => any>;

export function grpcJsEchoClient(port: number, options: grpc.ClientOptions = {}): EchoClient {
  return new loaded.grpc.examples.echo.Echo(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), options) as EchoClient;
}

/** The grpc-js service definition of Echo (for grpc-js servers in specs). */
export const grpcJsEchoService: grpc.ServiceDefinition = loaded.grpc.examples.echo.Echo.service;

export function unary(client: EchoClient, message: string, metadata = new grpc.Metadata(), options: grpc.CallOptions = {}): Promise<{ message: string }> {
  return new Promise((resolve, reject) => {
    client.UnaryEcho({ message }, metadata, options, (error: grpc.ServiceError | null, response: { message: string }) =>
      error ? reject(error) : resolve(response),
    );
  });
}

/** Resolves with the error a call ended with (fails the test if it succeeded). */
export function expectError(promise: Promise<unknown>): Promise<grpc.ServiceError> {
  return promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (error: grpc.ServiceError) => error,
  );
}

export { grpc };
