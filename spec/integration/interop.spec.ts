import { expect } from 'chai';
import * as http2 from 'node:http2';
import * as zlib from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import type { Server } from '../../lib';
import { loadInteropDefinition, startInteropServer } from '../../examples/interop-server';

/**
 * gRPC's interop test cases (doc/interop-test-descriptions.md), run with @grpc/grpc-js as the
 * client against our interop server (examples/interop-server.ts). Each case follows the
 * description's procedure and makes the client assertions it lists.
 */

const definition = loadInteropDefinition();
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const testing = (grpc.loadPackageDefinition(definition) as any).grpc.testing;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Client = grpc.Client & Record<string, (...args: any[]) => any>;

/** grpc-js's compressionAlgorithms: 2 is gzip. */
const GZIP = 2;
/** grpc-js's WriteFlags.NoCompress (a const enum, so not importable at run time). */
const NO_COMPRESS = 2;
const CALL_TIMEOUT_MS = 10_000;

function deadline(milliseconds = CALL_TIMEOUT_MS): grpc.Deadline {
  return Date.now() + milliseconds;
}

function zeros(size: number): Buffer {
  return Buffer.alloc(size);
}

interface Payload {
  type: string;
  body: Buffer;
}

function expectZeroPayload(payload: Payload | null, size: number): void {
  expect(payload, 'payload').to.not.equal(null);
  expect(payload!.type).to.equal('COMPRESSABLE');
  expect(payload!.body.length).to.equal(size);
  expect(payload!.body.equals(zeros(size)), 'payload body is all zeros').to.equal(true);
}

interface UnaryOutcome<T> {
  error: grpc.ServiceError | null;
  response: T | undefined;
  headers: grpc.Metadata | undefined;
  status: grpc.StatusObject;
}

/** Runs a unary call to completion, keeping the response headers and the final status. */
function unary<T>(client: Client, method: string, request: unknown, metadata = new grpc.Metadata()): Promise<UnaryOutcome<T>> {
  return new Promise((resolve) => {
    const outcome: Partial<UnaryOutcome<T>> = {};
    let pending = 2;
    const settle = () => {
      if (--pending === 0) resolve(outcome as UnaryOutcome<T>);
    };
    const call = client[method](request, metadata, { deadline: deadline() }, (error: grpc.ServiceError | null, response: T) => {
      outcome.error = error;
      outcome.response = response;
      settle();
    });
    call.on('metadata', (headers: grpc.Metadata) => (outcome.headers = headers));
    call.on('status', (status: grpc.StatusObject) => {
      outcome.status = status;
      settle();
    });
  });
}

async function unaryOk<T>(client: Client, method: string, request: unknown): Promise<T> {
  const outcome = await unary<T>(client, method, request);
  if (outcome.error) throw outcome.error;
  return outcome.response as T;
}

interface StreamOutcome<T> {
  responses: T[];
  headers: grpc.Metadata | undefined;
  status: grpc.StatusObject;
}

/** Reads a response stream to its end; resolves with every response and the final status (never rejects). */
function drain<T>(call: grpc.ClientReadableStream<T>): Promise<StreamOutcome<T>> {
  return new Promise((resolve) => {
    const outcome: Partial<StreamOutcome<T>> = { responses: [] };
    call.on('data', (response: T) => outcome.responses!.push(response));
    call.on('metadata', (headers: grpc.Metadata) => (outcome.headers = headers));
    call.on('error', () => {}); // the status event carries the error
    call.on('status', (status: grpc.StatusObject) => {
      outcome.status = status;
      resolve(outcome as StreamOutcome<T>);
    });
  });
}

/** Resolves with the status of a client-streaming call (and its response, if any). */
function clientStreaming<T>(
  client: Client,
  method: string,
  send: (call: grpc.ClientWritableStream<unknown>) => void,
): Promise<{ error: grpc.ServiceError | null; response?: T }> {
  return new Promise((resolve) => {
    const call = client[method]({ deadline: deadline() }, (error: grpc.ServiceError | null, response: T) => resolve({ error, response }));
    send(call);
  });
}

/** Reads a bidi stream message by message (for request/response lock-step). */
function reader<T>(call: grpc.ClientDuplexStream<unknown, T>): () => Promise<T> {
  const iterator = (call as unknown as AsyncIterable<T>)[Symbol.asyncIterator]();
  return async () => {
    const next = await iterator.next();
    if (next.done) throw new Error('the response stream ended early');
    return next.value;
  };
}

/** The final status of a call (resolves on 'status', swallowing 'error'). */
function statusOf(call: grpc.ClientReadableStream<unknown> | grpc.ClientWritableStream<unknown>): Promise<grpc.StatusObject> {
  return new Promise((resolve) => {
    call.on('error', () => {});
    call.on('status', resolve);
  });
}

interface StreamingOutputCallResponse {
  payload: Payload | null;
}

describe('interop: @grpc/grpc-js client → our interop server', () => {
  let server: Server;
  let port: number;
  const clients: grpc.Client[] = [];

  function newClient(options: grpc.ClientOptions = {}): Client {
    const client = new testing.TestService(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), options) as Client;
    clients.push(client);
    return client;
  }

  let client: Client;
  let gzipClient: Client;

  before(async () => {
    ({ server, port } = await startInteropServer(0));
    client = newClient();
    gzipClient = newClient({ 'grpc.default_compression_algorithm': GZIP });
  });
  after(() => {
    for (const each of clients.splice(0)) each.close();
    server.forceShutdown();
  });

  it('empty_unary', async () => {
    const response = await unaryOk<object>(client, 'EmptyCall', {});
    expect(response).to.not.equal(null);
    expect(response).to.deep.equal({});
  });

  it('large_unary', async () => {
    const response = await unaryOk<{ payload: Payload }>(client, 'UnaryCall', { response_size: 314159, payload: { body: zeros(271828) } });
    expectZeroPayload(response.payload, 314159);
  });

  it('client_compressed_unary', async () => {
    // 1. The feature probe: expect_compressed, sent uncompressed → INVALID_ARGUMENT.
    const probe = await unary(client, 'UnaryCall', { expect_compressed: { value: true }, response_size: 314159, payload: { body: zeros(271828) } });
    expect(probe.error?.code, 'probe status').to.equal(grpc.status.INVALID_ARGUMENT);
    // 2. expect_compressed, sent gzip-compressed → OK.
    const compressed = await unary<{ payload: Payload }>(gzipClient, 'UnaryCall', {
      expect_compressed: { value: true },
      response_size: 314159,
      payload: { body: zeros(271828) },
    });
    expect(compressed.error, 'compressed call').to.equal(null);
    expectZeroPayload(compressed.response!.payload, 314159);
    // 3. expect_compressed false, sent uncompressed → OK.
    const plain = await unary<{ payload: Payload }>(client, 'UnaryCall', {
      expect_compressed: { value: false },
      response_size: 314159,
      payload: { body: zeros(271828) },
    });
    expect(plain.error, 'uncompressed call').to.equal(null);
    expectZeroPayload(plain.response!.payload, 314159);
  });

  it('server_compressed_unary (payloads; the compressed flag is checked by the raw HTTP/2 case below)', async () => {
    for (const value of [true, false]) {
      const outcome = await unary<{ payload: Payload }>(client, 'UnaryCall', {
        response_compressed: { value },
        response_size: 314159,
        payload: { body: zeros(271828) },
      });
      expect(outcome.error, `response_compressed ${value}`).to.equal(null);
      expectZeroPayload(outcome.response!.payload, 314159);
    }
  });

  it('client_streaming', async () => {
    const { error, response } = await clientStreaming<{ aggregated_payload_size: number }>(client, 'StreamingInputCall', (call) => {
      for (const size of [27182, 8, 1828, 45904]) call.write({ payload: { body: zeros(size) } });
      call.end();
    });
    expect(error).to.equal(null);
    expect(response!.aggregated_payload_size).to.equal(74922);
  });

  it('client_compressed_streaming', async () => {
    // 1. The feature probe: expect_compressed on an uncompressed message → INVALID_ARGUMENT.
    const probe = await clientStreaming(client, 'StreamingInputCall', (call) => {
      call.write({ expect_compressed: { value: true }, payload: { body: zeros(27182) } });
      call.end();
    });
    expect(probe.error?.code, 'probe status').to.equal(grpc.status.INVALID_ARGUMENT);
    // 2. A compressed message that expects compression, then an uncompressed one that does not.
    const { error, response } = await clientStreaming<{ aggregated_payload_size: number }>(gzipClient, 'StreamingInputCall', (call) => {
      call.write({ expect_compressed: { value: true }, payload: { body: zeros(27182) } });
      call.write({ expect_compressed: { value: false }, payload: { body: zeros(45904) } }, NO_COMPRESS);
      call.end();
    });
    expect(error).to.equal(null);
    expect(response!.aggregated_payload_size).to.equal(73086);
  });

  it('server_streaming', async () => {
    const sizes = [31415, 9, 2653, 58979];
    const call = client.StreamingOutputCall({ response_parameters: sizes.map((size) => ({ size })) }, { deadline: deadline() });
    const { responses, status } = await drain<StreamingOutputCallResponse>(call);
    expect(status.code, status.details).to.equal(grpc.status.OK);
    expect(responses).to.have.length(4);
    responses.forEach((response, index) => expectZeroPayload(response.payload, sizes[index]));
  });

  it('server_compressed_streaming (payloads; the compressed flags are checked by the raw HTTP/2 case below)', async () => {
    const call = client.StreamingOutputCall(
      {
        response_parameters: [
          { compressed: { value: true }, size: 31415 },
          { compressed: { value: false }, size: 92653 },
        ],
      },
      { deadline: deadline() },
    );
    const { responses, status } = await drain<StreamingOutputCallResponse>(call);
    expect(status.code, status.details).to.equal(grpc.status.OK);
    expect(responses).to.have.length(2);
    expectZeroPayload(responses[0].payload, 31415);
    expectZeroPayload(responses[1].payload, 92653);
  });

  it('ping_pong', async () => {
    const call = client.FullDuplexCall({ deadline: deadline() }) as grpc.ClientDuplexStream<unknown, StreamingOutputCallResponse>;
    const status = statusOf(call);
    const next = reader(call);
    const exchanges = [
      [31415, 27182],
      [9, 8],
      [2653, 1828],
      [58979, 45904],
    ];
    for (const [responseSize, requestSize] of exchanges) {
      call.write({ response_parameters: [{ size: responseSize }], payload: { body: zeros(requestSize) } });
      expectZeroPayload((await next()).payload, responseSize);
    }
    call.end();
    const final = await status;
    expect(final.code, final.details).to.equal(grpc.status.OK);
  });

  it('empty_stream', async () => {
    const call = client.FullDuplexCall({ deadline: deadline() });
    const done = drain<StreamingOutputCallResponse>(call);
    call.end();
    const { responses, status } = await done;
    expect(status.code, status.details).to.equal(grpc.status.OK);
    expect(responses).to.have.length(0);
  });

  it('timeout_on_sleeping_server', async () => {
    const call = client.FullDuplexCall({ deadline: Date.now() + 1 });
    const done = drain<StreamingOutputCallResponse>(call);
    call.write({ payload: { body: zeros(27182) } });
    const { status } = await done;
    expect(status.code, status.details).to.equal(grpc.status.DEADLINE_EXCEEDED);
  });

  it('cancel_after_begin', async () => {
    const { error } = await clientStreaming(client, 'StreamingInputCall', (call) => call.cancel());
    expect(error?.code).to.equal(grpc.status.CANCELLED);
  });

  it('cancel_after_first_response', async () => {
    const call = client.FullDuplexCall({ deadline: deadline() }) as grpc.ClientDuplexStream<unknown, StreamingOutputCallResponse>;
    const status = statusOf(call);
    const next = reader(call);
    call.write({ response_parameters: [{ size: 31415 }], payload: { body: zeros(27182) } });
    expectZeroPayload((await next()).payload, 31415);
    call.cancel();
    expect((await status).code).to.equal(grpc.status.CANCELLED);
  });

  describe('custom_metadata', () => {
    const TRAILING_VALUE = Buffer.from([0xab, 0xab, 0xab]);
    function echoMetadata(): grpc.Metadata {
      const metadata = new grpc.Metadata();
      metadata.set('x-grpc-test-echo-initial', 'test_initial_metadata_value');
      metadata.set('x-grpc-test-echo-trailing-bin', TRAILING_VALUE);
      return metadata;
    }
    function expectEchoed(headers: grpc.Metadata | undefined, trailers: grpc.Metadata): void {
      expect(headers?.get('x-grpc-test-echo-initial'), 'initial metadata').to.deep.equal(['test_initial_metadata_value']);
      expect(trailers.get('x-grpc-test-echo-trailing-bin'), 'trailing metadata').to.deep.equal([TRAILING_VALUE]);
    }

    it('UnaryCall', async () => {
      const outcome = await unary<{ payload: Payload }>(client, 'UnaryCall', { response_size: 314159, payload: { body: zeros(271828) } }, echoMetadata());
      expect(outcome.error).to.equal(null);
      expectZeroPayload(outcome.response!.payload, 314159);
      expectEchoed(outcome.headers, outcome.status.metadata);
    });

    it('FullDuplexCall', async () => {
      const call = client.FullDuplexCall(echoMetadata(), { deadline: deadline() });
      const done = drain<StreamingOutputCallResponse>(call);
      call.write({ response_parameters: [{ size: 314159 }], payload: { body: zeros(271828) } });
      call.end();
      const { responses, headers, status } = await done;
      expect(status.code, status.details).to.equal(grpc.status.OK);
      expect(responses).to.have.length(1);
      expectZeroPayload(responses[0].payload, 314159);
      expectEchoed(headers, status.metadata);
    });
  });

  describe('status_code_and_message', () => {
    it('UnaryCall', async () => {
      const outcome = await unary(client, 'UnaryCall', { response_status: { code: 2, message: 'test status message' } });
      expect(outcome.error?.code).to.equal(2);
      expect(outcome.error?.details).to.equal('test status message');
    });

    it('FullDuplexCall', async () => {
      const call = client.FullDuplexCall({ deadline: deadline() });
      const done = drain<StreamingOutputCallResponse>(call);
      call.write({ response_status: { code: 2, message: 'test status message' } });
      call.end();
      const { status } = await done;
      expect(status.code).to.equal(2);
      expect(status.details).to.equal('test status message');
    });
  });

  it('special_status_message', async () => {
    const message = '\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n';
    const outcome = await unary(client, 'UnaryCall', { response_status: { code: 2, message } });
    expect(outcome.error?.code).to.equal(2);
    expect(outcome.error?.details).to.equal(message);
  });

  it('unimplemented_method', async () => {
    const outcome = await unary(client, 'UnimplementedCall', {});
    expect(outcome.error?.code).to.equal(grpc.status.UNIMPLEMENTED);
  });

  it('unimplemented_service', async () => {
    const unimplemented = new testing.UnimplementedService(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as Client;
    clients.push(unimplemented);
    const outcome = await unary(unimplemented, 'UnimplementedCall', {});
    expect(outcome.error?.code).to.equal(grpc.status.UNIMPLEMENTED);
  });

  describe('server features beyond the client cases', () => {
    it('HalfDuplexCall answers every request, in order, after the half-close', async () => {
      const call = client.HalfDuplexCall({ deadline: deadline() });
      const done = drain<StreamingOutputCallResponse>(call);
      call.write({ response_parameters: [{ size: 3 }, { size: 1 }] });
      call.write({ response_parameters: [{ size: 4 }] });
      call.end();
      const { responses, status } = await done;
      expect(status.code, status.details).to.equal(grpc.status.OK);
      expect(responses.map((response) => response.payload!.body.length)).to.deep.equal([3, 1, 4]);
    });

    it('StreamingOutputCall honours interval_us (cumulative sleeps before each response)', async () => {
      const started = Date.now();
      const call = client.StreamingOutputCall(
        {
          response_parameters: [
            { size: 1, interval_us: 30_000 },
            { size: 2, interval_us: 30_000 },
          ],
        },
        { deadline: deadline() },
      );
      const { responses, status } = await drain<StreamingOutputCallResponse>(call);
      expect(status.code, status.details).to.equal(grpc.status.OK);
      expect(responses.map((response) => response.payload!.body.length)).to.deep.equal([1, 2]);
      expect(Date.now() - started).to.be.at.least(55);
    });

    it('StreamingOutputCall with response_status ends with that status and echoes the trailing metadata', async () => {
      const metadata = new grpc.Metadata();
      metadata.set('x-grpc-test-echo-trailing-bin', Buffer.from([1, 2, 3]));
      const call = client.StreamingOutputCall({ response_parameters: [{ size: 5 }], response_status: { code: 9, message: 'nope' } }, metadata, {
        deadline: deadline(),
      });
      const { responses, status } = await drain<StreamingOutputCallResponse>(call);
      expect(status.code).to.equal(9);
      expect(status.details).to.equal('nope');
      expect(responses).to.have.length(0);
      expect(status.metadata.get('x-grpc-test-echo-trailing-bin')).to.deep.equal([Buffer.from([1, 2, 3])]);
    });

    it('FullDuplexCall answers earlier requests, then stops at an Echo Status', async () => {
      const call = client.FullDuplexCall({ deadline: deadline() });
      const done = drain<StreamingOutputCallResponse>(call);
      call.write({ response_parameters: [{ size: 7 }] });
      call.write({ response_status: { code: 10, message: 'stop here' }, response_parameters: [{ size: 8 }] });
      call.write({ response_parameters: [{ size: 9 }] });
      call.end();
      const { responses, status } = await done;
      expect(status.code).to.equal(10);
      expect(status.details).to.equal('stop here');
      expect(responses.map((response) => response.payload!.body.length)).to.deep.equal([7]);
    });

    it('StreamingOutputCall stops when the client cancels during an interval', async () => {
      const call = client.StreamingOutputCall({ response_parameters: [{ size: 1 }, { size: 2, interval_us: 60_000_000 }] }, { deadline: deadline() });
      const status = statusOf(call);
      await new Promise((resolve) => call.once('data', resolve));
      call.cancel();
      expect((await status).code).to.equal(grpc.status.CANCELLED);
    });
  });
});

// ---- raw HTTP/2 peer: the compressed flag of each response message ----

interface RawResponse {
  headers: http2.IncomingHttpHeaders;
  messages: { compressed: boolean; data: Buffer }[];
  trailers: http2.IncomingHttpHeaders;
}

function frame(message: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, message]);
}

/** Splits a response body into gRPC messages, keeping each compressed flag. */
function unframe(body: Buffer): { compressed: boolean; data: Buffer }[] {
  const messages: { compressed: boolean; data: Buffer }[] = [];
  let offset = 0;
  while (offset < body.length) {
    const flag = body[offset];
    const length = body.readUInt32BE(offset + 1);
    messages.push({ compressed: flag === 1, data: body.subarray(offset + 5, offset + 5 + length) });
    offset += 5 + length;
  }
  expect(offset, 'whole messages').to.equal(body.length);
  return messages;
}

/** One gRPC call over node:http2 with grpc-accept-encoding advertising gzip. */
function rawCall(session: http2.ClientHttp2Session, path: string, request: Buffer): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const stream = session.request({
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc',
      te: 'trailers',
      'grpc-accept-encoding': 'identity,deflate,gzip',
      'grpc-timeout': `${CALL_TIMEOUT_MS}m`,
    });
    const chunks: Buffer[] = [];
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    stream.on('response', (received) => (headers = received));
    stream.on('trailers', (received) => (trailers = received));
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('error', reject);
    stream.on('end', () => {
      try {
        resolve({ headers, messages: unframe(Buffer.concat(chunks)), trailers });
      } catch (error) {
        reject(error);
      }
    });
    stream.end(frame(request));
  });
}

describe('interop: response compression as seen on the wire (node:http2 peer)', () => {
  let server: Server;
  let session: http2.ClientHttp2Session;
  const service = definition['grpc.testing.TestService'] as unknown as Record<string, grpc.MethodDefinition<unknown, unknown>>;

  before(async () => {
    let port: number;
    ({ server, port } = await startInteropServer(0));
    session = http2.connect(`http://127.0.0.1:${port}`);
    await new Promise<void>((resolve, reject) => {
      session.once('connect', () => resolve());
      session.once('error', reject);
    });
  });
  after(() => {
    session?.close();
    server.forceShutdown();
  });

  function decode(method: string, headers: http2.IncomingHttpHeaders, message: { compressed: boolean; data: Buffer }): { payload: Payload } {
    let data = message.data;
    if (message.compressed) {
      expect(headers['grpc-encoding'], 'grpc-encoding of a compressed message').to.equal('gzip');
      data = zlib.gunzipSync(data);
    }
    return service[method].responseDeserialize(data) as { payload: Payload };
  }

  it('server_compressed_unary: response_compressed true → gzip and the compressed flag; false → no flag', async () => {
    for (const value of [true, false]) {
      const request = service.UnaryCall.requestSerialize({ response_compressed: { value }, response_size: 314159, payload: { body: zeros(271828) } });
      const response = await rawCall(session, service.UnaryCall.path, request);
      expect(response.trailers['grpc-status'], String(response.trailers['grpc-message'])).to.equal('0');
      expect(response.messages, `messages (response_compressed ${value})`).to.have.length(1);
      expect(response.messages[0].compressed, `compressed flag (response_compressed ${value})`).to.equal(value);
      if (value) expect(response.headers['grpc-encoding']).to.equal('gzip');
      expectZeroPayload(decode('UnaryCall', response.headers, response.messages[0]).payload, 314159);
    }
  });

  it('server_compressed_streaming: per-message compressed flags true, false', async () => {
    const request = service.StreamingOutputCall.requestSerialize({
      response_parameters: [
        { compressed: { value: true }, size: 31415 },
        { compressed: { value: false }, size: 92653 },
      ],
    });
    const response = await rawCall(session, service.StreamingOutputCall.path, request);
    expect(response.trailers['grpc-status'], String(response.trailers['grpc-message'])).to.equal('0');
    expect(response.messages).to.have.length(2);
    expect(
      response.messages.map((message) => message.compressed),
      'compressed flags',
    ).to.deep.equal([true, false]);
    expect(response.headers['grpc-encoding']).to.equal('gzip');
    expectZeroPayload(decode('StreamingOutputCall', response.headers, response.messages[0]).payload, 31415);
    expectZeroPayload(decode('StreamingOutputCall', response.headers, response.messages[1]).payload, 92653);
  });

  it('large_unary without response_compressed is sent uncompressed even though the client accepts gzip', async () => {
    const request = service.UnaryCall.requestSerialize({ response_size: 314159, payload: { body: zeros(271828) } });
    const response = await rawCall(session, service.UnaryCall.path, request);
    expect(response.trailers['grpc-status']).to.equal('0');
    expect(response.messages[0].compressed).to.equal(false);
  });
});
