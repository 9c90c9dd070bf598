import { existsSync } from 'node:fs';
import * as path from 'node:path';
import * as protoLoader from '@grpc/proto-loader';
import { loadPackageDefinition } from '../lib';
import type { ServiceDefinition, UntypedServiceImplementation } from '../lib';

/** protos/echo.proto, found from examples/ (ts-node) or from its compiled copy in build/examples/ (npm start). */
export const ECHO_PROTO = [path.join(__dirname, '..', 'protos', 'echo.proto'), path.join(__dirname, '..', '..', 'protos', 'echo.proto')].find((file) =>
  existsSync(file),
)!;

/** protos/echo.proto as @grpc/proto-loader loads it (also what the reflection service describes). */
export function loadEchoPackageDefinition(): protoLoader.PackageDefinition {
  return protoLoader.loadSync(ECHO_PROTO, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
}

/** The Echo service definition, loaded with @grpc/proto-loader. */
export function loadEchoService(): ServiceDefinition {
  const definition = loadEchoPackageDefinition();
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const loaded = loadPackageDefinition(definition) as any;
  return loaded.grpc.examples.echo.Echo.service as ServiceDefinition;
}

interface EchoRequest {
  message: string;
}

/**
 * The echo handlers, written exactly as for @grpc/grpc-js. ServerStreamingEcho sends the message
 * back `n` times when it reads "repeat:<n>:<text>", once otherwise.
 */
export const echoImplementation: UntypedServiceImplementation = {
  UnaryEcho(call, callback) {
    callback(null, { message: call.request.message });
  },
  ServerStreamingEcho(call) {
    const { message } = call.request as EchoRequest;
    const match = /^repeat:(\d+):(.*)$/s.exec(message);
    let remaining = match ? Number(match[1]) : 1;
    const text = match ? match[2] : message;
    const writeSome = () => {
      while (remaining > 0) {
        remaining--;
        if (!call.write({ message: text })) {
          call.once('drain', writeSome);
          return;
        }
      }
      call.end();
    };
    writeSome();
  },
  ClientStreamingEcho(call, callback) {
    const messages: string[] = [];
    call.on('data', (request: EchoRequest) => messages.push(request.message));
    call.on('end', () => callback(null, { message: messages.join(',') }));
  },
  BidirectionalStreamingEcho(call) {
    call.on('data', (request: EchoRequest) => call.write({ message: request.message }));
    call.on('end', () => call.end());
  },
};
