/**
 * The gRPC interop test server (grpc.testing.TestService) on h2grpc, as gRPC's
 * doc/interop-test-descriptions.md ("Server" section) describes it.
 *
 *   npm run interop-server -- --port 10000 [--host 127.0.0.1]
 *
 * Implemented: EmptyCall, UnaryCall, StreamingOutputCall, StreamingInputCall, FullDuplexCall,
 * HalfDuplexCall, with the features CompressedResponse, CompressedRequest, Echo Status, Echo
 * Metadata and ResponseParameters.interval_us. UnimplementedCall has no handler (UNIMPLEMENTED),
 * UnimplementedService and ReconnectService are not registered, CacheableUnaryCall is not served
 * (it needs a caching proxy in front), and TLS is not supported yet.
 */
import * as path from 'node:path';
import * as protoLoader from '@grpc/proto-loader';
import { loadPackageDefinition, Metadata, Server, ServerCredentials, Status, type ServiceDefinition, type UntypedServiceImplementation } from '../lib';
import type { ServerCall } from '../lib/grpc/server/server-call';
import { untilWritable } from '../lib/grpc/server/call-objects';

export const INTEROP_PROTO_DIR = path.join(__dirname, '..', 'protos');
export const INTEROP_PROTO_FILE = 'grpc/testing/test.proto';

/** proto-loader options for the interop protos (the same ones grpc-node's interop tests use). */
export const INTEROP_PROTO_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [INTEROP_PROTO_DIR],
};

/** The interop package definition (grpc.testing.*), loaded with @grpc/proto-loader. */
export function loadInteropDefinition(): protoLoader.PackageDefinition {
  return protoLoader.loadSync(INTEROP_PROTO_FILE, INTEROP_PROTO_OPTIONS);
}

/** grpc.testing.TestService's service definition. */
export function loadTestService(): ServiceDefinition {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const loaded = loadPackageDefinition(loadInteropDefinition()) as any;
  return loaded.grpc.testing.TestService.service as ServiceDefinition;
}

const ECHO_INITIAL_KEY = 'x-grpc-test-echo-initial';
const ECHO_TRAILING_KEY = 'x-grpc-test-echo-trailing-bin';

interface BoolValue {
  value: boolean;
}
interface EchoStatus {
  code: number;
  message: string;
}
interface Payload {
  type: string | number;
  body: Buffer;
}
interface ResponseParameters {
  size: number;
  interval_us: number;
  compressed: BoolValue | null;
}
interface SimpleRequest {
  response_type: string | number;
  response_size: number;
  payload: Payload | null;
  response_compressed: BoolValue | null;
  response_status: EchoStatus | null;
  expect_compressed: BoolValue | null;
}
interface StreamingInputCallRequest {
  payload: Payload | null;
  expect_compressed: BoolValue | null;
}
interface StreamingOutputCallRequest {
  response_type: string | number;
  response_parameters: ResponseParameters[];
  payload: Payload | null;
  response_status: EchoStatus | null;
}

/** A status to end a call with: what grpc-js handlers pass to callback() or emit as 'error'. */
interface CallStatus {
  code: number;
  details: string;
  metadata: Metadata;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyCall = any;

/** The transport-level call under a grpc-js style call object. */
function coreOf(call: AnyCall): ServerCall {
  return call.core as ServerCall;
}

/** Echo Metadata: the request's x-grpc-test-echo-initial, for the response headers (or null). */
function echoInitial(call: AnyCall): Metadata | null {
  const values = (call.metadata as Metadata).get(ECHO_INITIAL_KEY);
  if (values.length === 0) return null;
  const metadata = new Metadata();
  for (const value of values) metadata.add(ECHO_INITIAL_KEY, value);
  return metadata;
}

/** Echo Metadata: the request's x-grpc-test-echo-trailing-bin, for the trailers (on success and on error). */
function echoTrailer(call: AnyCall): Metadata {
  const metadata = new Metadata();
  for (const value of (call.metadata as Metadata).get(ECHO_TRAILING_KEY)) metadata.add(ECHO_TRAILING_KEY, value);
  return metadata;
}

/** Echo Status: a response_status with a non-OK code ends the call with that code and message. */
function requestedStatus(status: EchoStatus | null, trailer: Metadata): CallStatus | null {
  if (status === null || status === undefined || !status.code) return null;
  return { code: status.code, details: status.message ?? '', metadata: trailer };
}

/**
 * A payload of `size` zero bytes of the requested type. COMPRESSABLE is the only PayloadType; any
 * other value fails the call with INVALID_ARGUMENT (UnaryCall: "If the server does not support the
 * response_type, then it should fail the RPC with INVALID_ARGUMENT").
 */
function makePayload(type: string | number, size: number, trailer: Metadata): Payload {
  if (type !== 'COMPRESSABLE' && type !== 0) {
    throw { code: Status.INVALID_ARGUMENT, details: `Unsupported response_type ${String(type)}`, metadata: trailer } satisfies CallStatus;
  }
  if (!Number.isInteger(size) || size < 0) {
    throw { code: Status.INVALID_ARGUMENT, details: `Invalid response size ${size}`, metadata: trailer } satisfies CallStatus;
  }
  return { type: 'COMPRESSABLE', body: Buffer.alloc(size) };
}

function isCallStatus(value: unknown): value is CallStatus {
  return typeof value === 'object' && value !== null && typeof (value as CallStatus).code === 'number';
}

/**
 * CompressedResponse: gzip for this call's response messages, when asked for and the client listed
 * gzip in grpc-accept-encoding; identity otherwise. Must run before the response headers go out.
 */
function chooseResponseCompression(call: AnyCall, compress: boolean): void {
  const core = coreOf(call);
  if (!compress || !core.setResponseEncoding('gzip')) core.setResponseEncoding('identity');
}

/**
 * CompressedRequest for streaming calls: whether each request message arrived with the compressed
 * flag set. ServerCall records the flag of the message it is delivering (`lastRequestCompressed`)
 * just before handing that message to the call object (`onMessage`); a 'data' listener may see the
 * message later, after more have arrived, so the flag is noted per message at hand-over.
 */
function trackRequestCompression(call: AnyCall): (message: unknown) => boolean {
  const core = coreOf(call);
  const flags = new WeakMap<object, boolean>();
  const deliver = call.onMessage.bind(call) as (message: unknown) => void;
  call.onMessage = (message: unknown) => {
    if (typeof message === 'object' && message !== null) flags.set(message, core.lastRequestCompressed);
    deliver(message);
  };
  return (message) => (typeof message === 'object' && message !== null ? (flags.get(message) ?? core.lastRequestCompressed) : core.lastRequestCompressed);
}

/** Resolves after `microseconds` (at once for 0), or early (false) if the call is cancelled. */
function sleep(call: AnyCall, microseconds: number): Promise<boolean> {
  if (call.cancelled) return Promise.resolve(false);
  if (!(microseconds > 0)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onCancel = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      call.off('cancelled', onCancel);
      resolve(true);
    }, microseconds / 1000);
    call.once('cancelled', onCancel);
  });
}

/**
 * Sends one response message with backpressure. When the call compresses its responses but this
 * message must not be (ResponseParameters.compressed false), it goes through ServerCall.sendMessage
 * with compression disallowed, after the Writable has flushed so the order is kept.
 */
async function sendResponse(call: AnyCall, message: unknown, compressed: boolean): Promise<void> {
  const core = coreOf(call);
  if (call.cancelled || !core.canSend) return;
  if (compressed || core.responseMessageEncoding === 'identity') {
    if (!call.write(message)) await untilWritable(call);
    return;
  }
  if (call.writableLength > 0) await untilWritable(call);
  if (call.cancelled || !core.canSend) return;
  core.sendMessage(message, false);
}

/**
 * Answers one StreamingOutputCallRequest: one response per ResponseParameters, in order, each after
 * its interval_us. Returns false if the call was cancelled meanwhile. Throws a CallStatus for an
 * Echo Status request or an invalid one.
 */
async function answer(call: AnyCall, request: StreamingOutputCallRequest, trailer: Metadata): Promise<boolean> {
  const status = requestedStatus(request.response_status, trailer);
  if (status !== null) throw status;
  for (const parameters of request.response_parameters ?? []) {
    const body = makePayload(request.response_type, parameters.size, trailer);
    if (!(await sleep(call, parameters.interval_us))) return false;
    await sendResponse(call, { payload: body }, parameters.compressed?.value === true);
    if (call.cancelled) return false;
  }
  return true;
}

/** Ends a streaming call with an error status, as grpc-js handlers do (emit 'error'). */
function failStream(call: AnyCall, error: unknown, trailer: Metadata): void {
  const status: CallStatus = isCallStatus(error)
    ? error
    : { code: Status.UNKNOWN, details: error instanceof Error ? error.message : String(error), metadata: trailer };
  call.emit('error', status);
}

export const interopImplementation: UntypedServiceImplementation = {
  EmptyCall(call: AnyCall, callback: (error: unknown, value?: unknown, trailer?: Metadata) => void) {
    const initial = echoInitial(call);
    if (initial !== null) call.sendMetadata(initial);
    callback(null, {}, echoTrailer(call));
  },

  UnaryCall(call: AnyCall, callback: (error: unknown, value?: unknown, trailer?: Metadata) => void) {
    const request = call.request as SimpleRequest;
    const trailer = echoTrailer(call);
    chooseResponseCompression(call, request.response_compressed?.value === true);
    const initial = echoInitial(call);
    if (initial !== null) call.sendMetadata(initial);
    if (request.expect_compressed?.value === true && !coreOf(call).lastRequestCompressed) {
      callback({ code: Status.INVALID_ARGUMENT, details: 'Expected a compressed request but received an uncompressed one', metadata: trailer });
      return;
    }
    const status = requestedStatus(request.response_status, trailer);
    if (status !== null) {
      callback(status);
      return;
    }
    let payload: Payload;
    try {
      payload = makePayload(request.response_type, request.response_size, trailer);
    } catch (error) {
      callback(error);
      return;
    }
    callback(null, { payload }, trailer);
  },

  StreamingInputCall(call: AnyCall, callback: (error: unknown, value?: unknown, trailer?: Metadata) => void) {
    const wasCompressed = trackRequestCompression(call);
    const trailer = echoTrailer(call);
    const initial = echoInitial(call);
    if (initial !== null) call.sendMetadata(initial);
    let aggregated = 0;
    let failed = false;
    call.on('data', (request: StreamingInputCallRequest) => {
      if (failed) return;
      if (request.expect_compressed?.value === true && !wasCompressed(request)) {
        failed = true;
        callback({ code: Status.INVALID_ARGUMENT, details: 'Expected a compressed request message but received an uncompressed one', metadata: trailer });
        return;
      }
      aggregated += request.payload?.body?.length ?? 0;
    });
    call.on('end', () => {
      if (!failed) callback(null, { aggregated_payload_size: aggregated }, trailer);
    });
  },

  StreamingOutputCall(call: AnyCall) {
    const request = call.request as StreamingOutputCallRequest;
    const trailer = echoTrailer(call);
    chooseResponseCompression(
      call,
      (request.response_parameters ?? []).some((parameters) => parameters.compressed?.value === true),
    );
    const initial = echoInitial(call);
    if (initial !== null) call.sendMetadata(initial);
    answer(call, request, trailer).then(
      (completed) => {
        if (completed && coreOf(call).canSend) call.end(trailer);
      },
      (error) => failStream(call, error, trailer),
    );
  },

  FullDuplexCall(call: AnyCall) {
    const trailer = echoTrailer(call);
    const initial = echoInitial(call);
    if (initial !== null) call.sendMetadata(initial);
    // Requests are answered one after another, in order; after an Echo Status no further request is processed.
    let queue = Promise.resolve(true);
    let stopped = false;
    const enqueue = (step: () => Promise<boolean>) => {
      queue = queue
        .then((going) => (going && !stopped ? step() : false))
        .catch((error) => {
          stopped = true;
          failStream(call, error, trailer);
          return false;
        });
    };
    call.on('data', (request: StreamingOutputCallRequest) => {
      if (stopped) return;
      if ((request.response_parameters ?? []).some((parameters) => parameters.compressed?.value === true)) {
        chooseResponseCompression(call, true); // possible only while no response headers went out
      }
      enqueue(() => answer(call, request, trailer));
    });
    call.on('end', () =>
      enqueue(async () => {
        if (coreOf(call).canSend) call.end(trailer);
        return true;
      }),
    );
  },

  HalfDuplexCall(call: AnyCall) {
    const trailer = echoTrailer(call);
    const initial = echoInitial(call);
    if (initial !== null) call.sendMetadata(initial);
    const requests: StreamingOutputCallRequest[] = [];
    call.on('data', (request: StreamingOutputCallRequest) => requests.push(request));
    call.on('end', () => {
      void (async () => {
        try {
          if (requests.some((request) => (request.response_parameters ?? []).some((parameters) => parameters.compressed?.value === true))) {
            chooseResponseCompression(call, true);
          }
          for (const request of requests) {
            if (!(await answer(call, request, trailer))) return;
          }
          if (coreOf(call).canSend) call.end(trailer);
        } catch (error) {
          failStream(call, error, trailer);
        }
      })();
    });
  },
  // UnimplementedCall: deliberately no handler, so the server answers UNIMPLEMENTED.
};

/** The interop server, its TestService added, not listening (serve it with bindAsync, or in memory with inMemoryDialer). */
export function createInteropServer(): Server {
  const server = new Server();
  server.addService(loadTestService(), interopImplementation);
  return server;
}

/** Starts the interop server on host:port (port 0 picks a free one). */
export function startInteropServer(port = 0, host = '127.0.0.1'): Promise<{ server: Server; port: number }> {
  const server = createInteropServer();
  const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise((resolve, reject) => {
    server.bindAsync(address, ServerCredentials.createInsecure(), (error, boundPort) => {
      if (error) {
        server.forceShutdown();
        reject(error);
        return;
      }
      resolve({ server, port: boundPort });
    });
  });
}

/** Parses --port N / --port=N, --host H / --host=H and --use_tls (false only). */
function parseArguments(argv: string[]): { port: number; host: string } {
  const options: Record<string, string> = {};
  for (let index = 0; index < argv.length; index++) {
    const match = /^--([^=]+)(?:=(.*))?$/.exec(argv[index]);
    if (!match) throw new Error(`Unexpected argument ${argv[index]}`);
    options[match[1]] = match[2] ?? argv[++index] ?? '';
  }
  for (const name of Object.keys(options)) {
    if (!['port', 'host', 'use_tls'].includes(name)) throw new Error(`Unknown option --${name}`);
  }
  if (options.use_tls !== undefined && options.use_tls !== 'false') throw new Error('TLS is not supported yet (--use_tls=false only)');
  const port = Number(options.port ?? 10000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`Invalid --port ${options.port}`);
  return { port, host: options.host ?? '127.0.0.1' };
}

async function main(): Promise<void> {
  let settings: { port: number; host: string };
  try {
    settings = parseArguments(process.argv.slice(2));
  } catch (error) {
    console.error(`interop server: ${(error as Error).message}`);
    console.error('usage: npm run interop-server -- [--port N] [--host H]');
    process.exit(2);
  }
  const { server, port } = await startInteropServer(settings.port, settings.host);
  const shown = settings.host.includes(':') ? `[${settings.host}]` : settings.host;
  console.log(`interop server listening on ${shown}:${port}`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      server.tryShutdown(() => process.exit(0));
      setTimeout(() => server.forceShutdown(), 2000).unref();
    });
  }
}

if (require.main === module) {
  main().catch((error: Error) => {
    console.error(`interop server failed to start: ${error.message}`);
    process.exit(1);
  });
}
