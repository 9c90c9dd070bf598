import * as grpc from '@grpc/grpc-js';
import { loadInteropDefinition } from '../../examples/interop-server';

/**
 * grpc.testing.TestService on @grpc/grpc-js's Server: the reference peer for our interop client.
 * grpc-js's server cannot take part in the compression cases: it never compresses responses and it
 * drops grpc-encoding before handlers see the metadata, so expect_compressed cannot be checked.
 */

interface Payload {
  type?: string;
  body?: Buffer;
}
interface EchoStatus {
  code: number;
  message: string;
}
interface ResponseParameters {
  size: number;
  interval_us?: number;
}
interface SimpleRequest {
  response_size?: number;
  payload?: Payload | null;
  response_status?: EchoStatus | null;
}
interface StreamingOutputCallRequest {
  response_parameters?: ResponseParameters[];
  payload?: Payload | null;
  response_status?: EchoStatus | null;
}

const ECHO_INITIAL_KEY = 'x-grpc-test-echo-initial';
const ECHO_TRAILING_KEY = 'x-grpc-test-echo-trailing-bin';

function payload(size: number): Payload {
  return { type: 'COMPRESSABLE', body: Buffer.alloc(size) };
}

function echoInitial(call: { metadata: grpc.Metadata; sendMetadata(metadata: grpc.Metadata): void }): void {
  const values = call.metadata.get(ECHO_INITIAL_KEY);
  if (values.length === 0) return;
  const metadata = new grpc.Metadata();
  for (const value of values) metadata.add(ECHO_INITIAL_KEY, value);
  call.sendMetadata(metadata);
}

function echoTrailer(call: { metadata: grpc.Metadata }): grpc.Metadata {
  const metadata = new grpc.Metadata();
  for (const value of call.metadata.get(ECHO_TRAILING_KEY)) metadata.add(ECHO_TRAILING_KEY, value);
  return metadata;
}

function statusError(status: EchoStatus | null | undefined, trailer: grpc.Metadata): Partial<grpc.StatusObject> | null {
  if (!status || !status.code) return null;
  return { code: status.code, details: status.message ?? '', metadata: trailer };
}

const implementation: grpc.UntypedServiceImplementation = {
  EmptyCall(call: grpc.ServerUnaryCall<object, object>, callback: grpc.sendUnaryData<object>) {
    callback(null, {});
  },
  UnaryCall(call: grpc.ServerUnaryCall<SimpleRequest, object>, callback: grpc.sendUnaryData<object>) {
    echoInitial(call);
    const trailer = echoTrailer(call);
    const error = statusError(call.request.response_status, trailer);
    if (error) return callback(error as grpc.ServerErrorResponse);
    callback(null, { payload: payload(call.request.response_size ?? 0) }, trailer);
  },
  StreamingOutputCall(call: grpc.ServerWritableStream<StreamingOutputCallRequest, object>) {
    echoInitial(call);
    const trailer = echoTrailer(call);
    void (async () => {
      for (const parameters of call.request.response_parameters ?? []) {
        if (parameters.interval_us) await new Promise((resolve) => setTimeout(resolve, parameters.interval_us! / 1000));
        if (call.cancelled) return;
        call.write({ payload: payload(parameters.size) });
      }
      const error = statusError(call.request.response_status, trailer);
      if (error) call.emit('error', error);
      else call.end(trailer);
    })();
  },
  StreamingInputCall(call: grpc.ServerReadableStream<{ payload?: Payload | null }, object>, callback: grpc.sendUnaryData<object>) {
    let total = 0;
    call.on('data', (request: { payload?: Payload | null }) => (total += request.payload?.body?.length ?? 0));
    call.on('end', () => callback(null, { aggregated_payload_size: total }));
  },
  FullDuplexCall(call: grpc.ServerDuplexStream<StreamingOutputCallRequest, object>) {
    echoInitial(call);
    const trailer = echoTrailer(call);
    let failed = false;
    call.on('data', (request: StreamingOutputCallRequest) => {
      if (failed) return;
      const error = statusError(request.response_status, trailer);
      if (error) {
        failed = true;
        call.emit('error', error);
        return;
      }
      for (const parameters of request.response_parameters ?? []) call.write({ payload: payload(parameters.size) });
    });
    call.on('end', () => {
      if (!failed) call.end(trailer);
    });
  },
  HalfDuplexCall(call: grpc.ServerDuplexStream<StreamingOutputCallRequest, object>) {
    const requests: StreamingOutputCallRequest[] = [];
    call.on('data', (request: StreamingOutputCallRequest) => requests.push(request));
    call.on('end', () => {
      for (const request of requests) for (const parameters of request.response_parameters ?? []) call.write({ payload: payload(parameters.size) });
      call.end();
    });
  },
};

/** Starts a grpc-js TestService server on 127.0.0.1; forceShutdown() it when done. */
export function startGrpcJsInteropServer(): Promise<{ server: grpc.Server; port: number }> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const testing = (grpc.loadPackageDefinition(loadInteropDefinition()) as any).grpc.testing;
  const server = new grpc.Server();
  server.addService(testing.TestService.service, implementation);
  return new Promise((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) => {
      if (error) {
        server.forceShutdown();
        reject(error);
      } else resolve({ server, port });
    });
  });
}

/** The cases grpc-js's server cannot serve: it cannot see whether a request was compressed. */
export const GRPC_JS_SERVER_SKIPS: readonly string[] = ['client_compressed_unary', 'client_compressed_streaming'];
