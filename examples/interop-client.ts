/**
 * The gRPC interop test client (grpc.testing.TestService), as gRPC's
 * doc/interop-test-descriptions.md ("Client" section) describes each case.
 *
 *   npm run interop-client -- --server_host=127.0.0.1 --server_port=10000 --test_case=large_unary
 *     [--use_tls=true --use_test_ca=true --ca_file=PATH --server_host_override=foo.test.google.fr]
 *
 * Exits 0 when the case passes, 1 with the reason when it fails. `runInteropCase()` takes the gRPC
 * module to run with (grpc-js's API shape), so the same cases run with h2grpc's client and, as a
 * reference, with @grpc/grpc-js.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { loadInteropDefinition } from './interop-server';

/** Every standard case this client implements (the description's names). */
export const INTEROP_TEST_CASES = [
  'empty_unary',
  'large_unary',
  'client_streaming',
  'server_streaming',
  'ping_pong',
  'empty_stream',
  'cancel_after_begin',
  'cancel_after_first_response',
  'timeout_on_sleeping_server',
  'custom_metadata',
  'status_code_and_message',
  'special_status_message',
  'unimplemented_method',
  'unimplemented_service',
  'client_compressed_unary',
  'server_compressed_unary',
  'client_compressed_streaming',
  'server_compressed_streaming',
] as const;
export type InteropTestCase = (typeof INTEROP_TEST_CASES)[number];

/** Where the server is and how to reach it. */
export interface InteropClientOptions {
  serverHost: string;
  serverPort: number;
  useTls?: boolean;
  /** PEM of the CA that signed the server's certificate (use_test_ca / ca_file). */
  rootCerts?: Buffer | null;
  /** grpc.ssl_target_name_override: the name the server's certificate is checked against. */
  serverHostOverride?: string;
  /** Extra channel options for every client (h2grpc's 'h2grpc.dialer' runs the cases in memory). */
  channelOptions?: Record<string, unknown>;
}

/** The part of a grpc-js-shaped module the client uses (h2grpc and @grpc/grpc-js both fit). */
export interface GrpcModule {
  loadPackageDefinition(definition: never): unknown;
  credentials: { createInsecure(): unknown; createSsl(rootCerts?: Buffer | null): unknown };
  Metadata: new () => MetadataLike;
}

interface MetadataLike {
  set(key: string, value: string | Buffer): void;
  get(key: string): (string | Buffer)[];
}

interface StatusLike {
  code: number;
  details: string;
  metadata: MetadataLike;
}

interface Payload {
  type: string;
  body: Buffer;
}

interface PayloadResponse {
  payload: Payload | null;
}

// Calls are made through grpc-js's dynamic client methods, which have no static types.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type DynamicClient = { close(): void } & Record<string, (...args: any[]) => any>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type DynamicCall = any;

const OK = 0;
const CANCELLED = 1;
const UNKNOWN = 2;
const INVALID_ARGUMENT = 3;
const DEADLINE_EXCEEDED = 4;
const UNIMPLEMENTED = 12;
/** grpc-js's compressionAlgorithms.gzip (the channel option's value). */
const GZIP_ALGORITHM = 2;
/** grpc-js's WriteFlags.NoCompress. */
const NO_COMPRESS = 2;
const CALL_TIMEOUT_MS = 10_000;
const ECHO_INITIAL_KEY = 'x-grpc-test-echo-initial';
const ECHO_TRAILING_KEY = 'x-grpc-test-echo-trailing-bin';

function deadline(milliseconds = CALL_TIMEOUT_MS): number {
  return Date.now() + milliseconds;
}

function zeros(size: number): Buffer {
  return Buffer.alloc(size);
}

function checkPayload(payload: Payload | null | undefined, size: number, what = 'payload'): void {
  assert.ok(payload, `${what}: missing`);
  assert.equal(payload.type, 'COMPRESSABLE', `${what}: type`);
  assert.equal(payload.body.length, size, `${what}: size`);
  assert.ok(payload.body.equals(zeros(size)), `${what}: body is not all zeros`);
}

/** One interop session: the clients for a server, closed by close(). */
class InteropSession {
  private readonly testing: Record<string, new (target: string, credentials: unknown, options?: object) => DynamicClient>;
  private readonly clients: DynamicClient[] = [];

  constructor(
    private readonly grpc: GrpcModule,
    private readonly options: InteropClientOptions,
  ) {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    this.testing = (grpc.loadPackageDefinition(loadInteropDefinition() as never) as any).grpc.testing;
  }

  client(service = 'TestService', channelOptions: Record<string, unknown> = {}): DynamicClient {
    const { serverHost, serverPort, useTls, rootCerts, serverHostOverride } = this.options;
    const host = serverHost.includes(':') ? `[${serverHost}]` : serverHost;
    const credentials = useTls ? this.grpc.credentials.createSsl(rootCerts ?? null) : this.grpc.credentials.createInsecure();
    const extra = { ...this.options.channelOptions, ...channelOptions };
    const options = serverHostOverride ? { ...extra, 'grpc.ssl_target_name_override': serverHostOverride } : extra;
    const client = new this.testing[service](`${host}:${serverPort}`, credentials, options);
    this.clients.push(client);
    return client;
  }

  metadata(entries: [string, string | Buffer][] = []): MetadataLike {
    const metadata = new this.grpc.Metadata();
    for (const [key, value] of entries) metadata.set(key, value);
    return metadata;
  }

  close(): void {
    for (const client of this.clients.splice(0)) client.close();
  }
}

interface UnaryOutcome<T> {
  error: StatusLike | null;
  response: T | undefined;
  headers: MetadataLike | undefined;
  status: StatusLike;
}

/** A unary call run to completion, keeping the response headers and the final status. */
function unary<T>(client: DynamicClient, method: string, request: unknown, metadata: MetadataLike): Promise<UnaryOutcome<T>> {
  return new Promise((resolve) => {
    const outcome: Partial<UnaryOutcome<T>> = {};
    let pending = 2;
    const settle = () => {
      if (--pending === 0) resolve(outcome as UnaryOutcome<T>);
    };
    const call = client[method](request, metadata, { deadline: deadline() }, (error: StatusLike | null, response: T) => {
      outcome.error = error;
      outcome.response = response;
      settle();
    });
    call.on('metadata', (headers: MetadataLike) => (outcome.headers = headers));
    call.on('status', (status: StatusLike) => {
      outcome.status = status;
      settle();
    });
  });
}

async function unaryOk<T>(client: DynamicClient, method: string, request: unknown, metadata: MetadataLike): Promise<T> {
  const outcome = await unary<T>(client, method, request, metadata);
  if (outcome.error) throw new Error(`${method} failed: ${outcome.error.code} ${outcome.error.details}`);
  return outcome.response as T;
}

interface StreamOutcome<T> {
  responses: T[];
  headers: MetadataLike | undefined;
  status: StatusLike;
}

/** Reads a response stream to its end: every response and the final status (never rejects). */
function drain<T>(call: DynamicCall): Promise<StreamOutcome<T>> {
  return new Promise((resolve) => {
    const outcome: Partial<StreamOutcome<T>> = { responses: [] };
    call.on('data', (response: T) => outcome.responses!.push(response));
    call.on('metadata', (headers: MetadataLike) => (outcome.headers = headers));
    call.on('error', () => {}); // the status event carries the error
    call.on('status', (status: StatusLike) => {
      outcome.status = status;
      resolve(outcome as StreamOutcome<T>);
    });
  });
}

/** A client-streaming call: what `send` writes, then the error or response. */
function clientStreaming<T>(client: DynamicClient, method: string, send: (call: DynamicCall) => void): Promise<{ error: StatusLike | null; response?: T }> {
  return new Promise((resolve) => {
    const call = client[method]({ deadline: deadline() }, (error: StatusLike | null, response: T) => resolve({ error, response }));
    send(call);
  });
}

/** The next message of a duplex stream, for lock-step exchanges. */
function reader<T>(call: DynamicCall): () => Promise<T> {
  const iterator = (call as AsyncIterable<T>)[Symbol.asyncIterator]();
  return async () => {
    const next = await iterator.next();
    if (next.done) throw new Error('the response stream ended early');
    return next.value;
  };
}

function statusOf(call: DynamicCall): Promise<StatusLike> {
  return new Promise((resolve) => {
    call.on('error', () => {});
    call.on('status', resolve);
  });
}

function expectStatus(status: StatusLike | null | undefined, code: number, what: string): void {
  assert.ok(status, `${what}: no status`);
  assert.equal(status.code, code, `${what}: status ${status.code} (${status.details}), expected ${code}`);
}

type CaseBody = (session: InteropSession) => Promise<void>;

const LARGE_REQUEST = 271828;
const LARGE_RESPONSE = 314159;

const CASES: Record<InteropTestCase, CaseBody> = {
  async empty_unary(session) {
    const response = await unaryOk<object>(session.client(), 'EmptyCall', {}, session.metadata());
    assert.deepEqual(response, {});
  },

  async large_unary(session) {
    const response = await unaryOk<PayloadResponse>(
      session.client(),
      'UnaryCall',
      { response_size: LARGE_RESPONSE, payload: { body: zeros(LARGE_REQUEST) } },
      session.metadata(),
    );
    checkPayload(response.payload, LARGE_RESPONSE);
  },

  async client_streaming(session) {
    const { error, response } = await clientStreaming<{ aggregated_payload_size: number }>(session.client(), 'StreamingInputCall', (call) => {
      for (const size of [27182, 8, 1828, 45904]) call.write({ payload: { body: zeros(size) } });
      call.end();
    });
    expectStatus(error ?? { code: OK, details: '', metadata: session.metadata() }, OK, 'StreamingInputCall');
    assert.equal(response!.aggregated_payload_size, 74922);
  },

  async server_streaming(session) {
    const sizes = [31415, 9, 2653, 58979];
    const call = session.client().StreamingOutputCall({ response_parameters: sizes.map((size) => ({ size })) }, { deadline: deadline() });
    const { responses, status } = await drain<PayloadResponse>(call);
    expectStatus(status, OK, 'StreamingOutputCall');
    assert.equal(responses.length, sizes.length, 'response count');
    responses.forEach((response, index) => checkPayload(response.payload, sizes[index], `response ${index}`));
  },

  async ping_pong(session) {
    const call = session.client().FullDuplexCall({ deadline: deadline() });
    const status = statusOf(call);
    const next = reader<PayloadResponse>(call);
    for (const [responseSize, requestSize] of [
      [31415, 27182],
      [9, 8],
      [2653, 1828],
      [58979, 45904],
    ]) {
      call.write({ response_parameters: [{ size: responseSize }], payload: { body: zeros(requestSize) } });
      checkPayload((await next()).payload, responseSize);
    }
    call.end();
    expectStatus(await status, OK, 'FullDuplexCall');
  },

  async empty_stream(session) {
    const call = session.client().FullDuplexCall({ deadline: deadline() });
    const done = drain<PayloadResponse>(call);
    call.end();
    const { responses, status } = await done;
    expectStatus(status, OK, 'FullDuplexCall');
    assert.equal(responses.length, 0, 'response count');
  },

  async cancel_after_begin(session) {
    const { error } = await clientStreaming(session.client(), 'StreamingInputCall', (call) => call.cancel());
    expectStatus(error, CANCELLED, 'StreamingInputCall');
  },

  async cancel_after_first_response(session) {
    const call = session.client().FullDuplexCall({ deadline: deadline() });
    const status = statusOf(call);
    const next = reader<PayloadResponse>(call);
    call.write({ response_parameters: [{ size: 31415 }], payload: { body: zeros(27182) } });
    checkPayload((await next()).payload, 31415);
    call.cancel();
    expectStatus(await status, CANCELLED, 'FullDuplexCall');
  },

  async timeout_on_sleeping_server(session) {
    const call = session.client().FullDuplexCall({ deadline: Date.now() + 1 });
    const done = drain<PayloadResponse>(call);
    call.write({ payload: { body: zeros(27182) } });
    expectStatus((await done).status, DEADLINE_EXCEEDED, 'FullDuplexCall');
  },

  async custom_metadata(session) {
    const trailingValue = Buffer.from([0xab, 0xab, 0xab]);
    const echo = (): MetadataLike =>
      session.metadata([
        [ECHO_INITIAL_KEY, 'test_initial_metadata_value'],
        [ECHO_TRAILING_KEY, trailingValue],
      ]);
    const checkEchoed = (headers: MetadataLike | undefined, trailers: MetadataLike, what: string) => {
      assert.deepEqual(headers?.get(ECHO_INITIAL_KEY), ['test_initial_metadata_value'], `${what}: initial metadata`);
      assert.deepEqual(trailers.get(ECHO_TRAILING_KEY), [trailingValue], `${what}: trailing metadata`);
    };
    const client = session.client();
    const outcome = await unary<PayloadResponse>(client, 'UnaryCall', { response_size: LARGE_RESPONSE, payload: { body: zeros(LARGE_REQUEST) } }, echo());
    expectStatus(outcome.status, OK, 'UnaryCall');
    checkPayload(outcome.response?.payload, LARGE_RESPONSE);
    checkEchoed(outcome.headers, outcome.status.metadata, 'UnaryCall');

    const call = client.FullDuplexCall(echo(), { deadline: deadline() });
    const done = drain<PayloadResponse>(call);
    call.write({ response_parameters: [{ size: LARGE_RESPONSE }], payload: { body: zeros(LARGE_REQUEST) } });
    call.end();
    const { responses, headers, status } = await done;
    expectStatus(status, OK, 'FullDuplexCall');
    assert.equal(responses.length, 1, 'FullDuplexCall response count');
    checkPayload(responses[0].payload, LARGE_RESPONSE);
    checkEchoed(headers, status.metadata, 'FullDuplexCall');
  },

  async status_code_and_message(session) {
    const message = 'test status message';
    const client = session.client();
    const outcome = await unary(client, 'UnaryCall', { response_status: { code: UNKNOWN, message } }, session.metadata());
    expectStatus(outcome.error, UNKNOWN, 'UnaryCall');
    assert.equal(outcome.error!.details, message);

    const call = client.FullDuplexCall({ deadline: deadline() });
    const done = drain<PayloadResponse>(call);
    call.write({ response_status: { code: UNKNOWN, message } });
    call.end();
    const { status } = await done;
    expectStatus(status, UNKNOWN, 'FullDuplexCall');
    assert.equal(status.details, message);
  },

  async special_status_message(session) {
    const message = '\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n';
    const outcome = await unary(session.client(), 'UnaryCall', { response_status: { code: UNKNOWN, message } }, session.metadata());
    expectStatus(outcome.error, UNKNOWN, 'UnaryCall');
    assert.equal(outcome.error!.details, message);
  },

  async unimplemented_method(session) {
    const outcome = await unary(session.client(), 'UnimplementedCall', {}, session.metadata());
    expectStatus(outcome.error, UNIMPLEMENTED, 'UnimplementedCall');
  },

  async unimplemented_service(session) {
    const outcome = await unary(session.client('UnimplementedService'), 'UnimplementedCall', {}, session.metadata());
    expectStatus(outcome.error, UNIMPLEMENTED, 'UnimplementedService/UnimplementedCall');
  },

  async client_compressed_unary(session) {
    const request = (expect: boolean) => ({ expect_compressed: { value: expect }, response_size: LARGE_RESPONSE, payload: { body: zeros(LARGE_REQUEST) } });
    // The feature probe: expect_compressed on an uncompressed request must fail.
    const probe = await unary(session.client(), 'UnaryCall', request(true), session.metadata());
    expectStatus(probe.error, INVALID_ARGUMENT, 'probe (uncompressed, expect_compressed)');
    const gzip = session.client('TestService', { 'grpc.default_compression_algorithm': GZIP_ALGORITHM });
    const compressed = await unary<PayloadResponse>(gzip, 'UnaryCall', request(true), session.metadata());
    expectStatus(compressed.status, OK, 'compressed request');
    checkPayload(compressed.response?.payload, LARGE_RESPONSE);
    const plain = await unary<PayloadResponse>(session.client(), 'UnaryCall', request(false), session.metadata());
    expectStatus(plain.status, OK, 'uncompressed request');
    checkPayload(plain.response?.payload, LARGE_RESPONSE);
  },

  async server_compressed_unary(session) {
    const client = session.client();
    for (const value of [true, false]) {
      const outcome = await unary<PayloadResponse>(
        client,
        'UnaryCall',
        { response_compressed: { value }, response_size: LARGE_RESPONSE, payload: { body: zeros(LARGE_REQUEST) } },
        session.metadata(),
      );
      expectStatus(outcome.status, OK, `response_compressed ${value}`);
      checkPayload(outcome.response?.payload, LARGE_RESPONSE);
    }
  },

  async client_compressed_streaming(session) {
    const probe = await clientStreaming(session.client(), 'StreamingInputCall', (call) => {
      call.write({ expect_compressed: { value: true }, payload: { body: zeros(27182) } });
      call.end();
    });
    expectStatus(probe.error, INVALID_ARGUMENT, 'probe (uncompressed, expect_compressed)');
    const gzip = session.client('TestService', { 'grpc.default_compression_algorithm': GZIP_ALGORITHM });
    const { error, response } = await clientStreaming<{ aggregated_payload_size: number }>(gzip, 'StreamingInputCall', (call) => {
      call.write({ expect_compressed: { value: true }, payload: { body: zeros(27182) } });
      call.write({ expect_compressed: { value: false }, payload: { body: zeros(45904) } }, NO_COMPRESS);
      call.end();
    });
    assert.equal(error, null, `StreamingInputCall: ${error?.code} ${error?.details}`);
    assert.equal(response!.aggregated_payload_size, 73086);
  },

  async server_compressed_streaming(session) {
    const call = session.client().StreamingOutputCall(
      {
        response_parameters: [
          { compressed: { value: true }, size: 31415 },
          { compressed: { value: false }, size: 92653 },
        ],
      },
      { deadline: deadline() },
    );
    const { responses, status } = await drain<PayloadResponse>(call);
    expectStatus(status, OK, 'StreamingOutputCall');
    assert.equal(responses.length, 2, 'response count');
    checkPayload(responses[0].payload, 31415, 'response 0');
    checkPayload(responses[1].payload, 92653, 'response 1');
  },
};

/** Runs one case against the server; rejects with the reason when it fails. Closes its clients. */
export async function runInteropCase(grpc: GrpcModule, testCase: InteropTestCase, options: InteropClientOptions): Promise<void> {
  const session = new InteropSession(grpc, options);
  try {
    await CASES[testCase](session);
  } finally {
    session.close();
  }
}

function isTestCase(name: string): name is InteropTestCase {
  return (INTEROP_TEST_CASES as readonly string[]).includes(name);
}

/** The official client's flags (the ones these cases use); unknown flags are an error. */
function parseArguments(argv: string[]): { testCase: InteropTestCase; options: InteropClientOptions } {
  const flags: Record<string, string> = {};
  for (const argument of argv) {
    const match = /^--([a-z_]+)(?:=(.*))?$/.exec(argument);
    if (!match) throw new Error(`Unexpected argument ${argument} (flags are --name=value)`);
    flags[match[1]] = match[2] ?? 'true';
  }
  const known = ['server_host', 'server_port', 'test_case', 'use_tls', 'use_test_ca', 'ca_file', 'server_host_override'];
  for (const name of Object.keys(flags)) if (!known.includes(name)) throw new Error(`Unknown flag --${name}`);
  const testCase = flags.test_case ?? 'large_unary';
  if (!isTestCase(testCase)) throw new Error(`Unknown test case ${testCase}; known: ${INTEROP_TEST_CASES.join(', ')}`);
  const serverPort = Number(flags.server_port ?? 10000);
  if (!Number.isInteger(serverPort) || serverPort <= 0 || serverPort > 65535) throw new Error(`Invalid --server_port ${flags.server_port}`);
  const useTls = flags.use_tls === 'true';
  let rootCerts: Buffer | null = null;
  if (useTls && flags.use_test_ca === 'true') {
    if (!flags.ca_file) throw new Error('--use_test_ca needs --ca_file=PATH (the test CA is not bundled)');
    rootCerts = fs.readFileSync(flags.ca_file);
  }
  return {
    testCase,
    options: { serverHost: flags.server_host ?? '127.0.0.1', serverPort, useTls, rootCerts, serverHostOverride: flags.server_host_override },
  };
}

if (require.main === module) {
  let parsed: ReturnType<typeof parseArguments>;
  try {
    parsed = parseArguments(process.argv.slice(2));
  } catch (error) {
    console.error((error as Error).message);
    process.exit(2);
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const grpc = require('../lib') as GrpcModule;
  runInteropCase(grpc, parsed.testCase, parsed.options).then(
    () => {
      console.log(`${parsed.testCase}: PASS`);
      process.exit(0);
    },
    (error: Error) => {
      console.error(`${parsed.testCase}: FAIL: ${error.message}`);
      process.exit(1);
    },
  );
}
