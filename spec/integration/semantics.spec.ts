import { expect } from 'chai';
import * as zlib from 'node:zlib';
import {
  GrpcError,
  Metadata,
  Server,
  Status,
  type ServerDuplexStream,
  type ServerReadableStream,
  type ServerUnaryCall,
  type ServerWritableStream,
} from '../../lib';
import { loadEchoService } from '../../examples/echo-service';
import { expectError, grpc, grpcJsEchoClient, unary, type EchoClient } from '../support/echo-client';
import { headerValue, RawPeer } from '../support/raw-peer';
import { echoMessage, grpcRequestHeaders } from '../support/echo-request';
import { collect } from '../support/waiting';

interface Echo {
  message: string;
}

describe('integration: async/await handler style', () => {
  let server: Server;
  let client: EchoClient;

  before(async () => {
    server = new Server();
    server.addService(loadEchoService(), {
      async UnaryEcho(call: ServerUnaryCall<Echo>) {
        if (call.request.message === 'fail') throw new GrpcError(Status.FAILED_PRECONDITION, 'async failure');
        await Promise.resolve();
        return { message: `async:${call.request.message}` };
      },
      async ClientStreamingEcho(call: ServerReadableStream<Echo>) {
        const parts: string[] = [];
        for await (const request of call) parts.push(request.message);
        return { message: parts.join('+') };
      },
      async *ServerStreamingEcho(call: ServerWritableStream<Echo>) {
        for (let index = 0; index < 3; index++) yield { message: `${call.request.message}${index}` };
        if (call.request.message === 'boom') throw new GrpcError(Status.ABORTED, 'generator failed');
      },
      async *BidirectionalStreamingEcho(call: ServerDuplexStream<Echo>) {
        for await (const request of call) yield { message: request.message.toUpperCase() };
      },
    });
    client = grpcJsEchoClient(await server.listen(0));
  });
  after(() => {
    client.close();
    server.forceShutdown();
  });

  it('an async unary handler returns the response', async () => {
    expect(await unary(client, 'x')).to.deep.equal({ message: 'async:x' });
  });

  it('a thrown GrpcError becomes the call status', async () => {
    const error = await expectError(unary(client, 'fail'));
    expect(error.code).to.equal(grpc.status.FAILED_PRECONDITION);
    expect(error.details).to.equal('async failure');
  });

  it('client streaming with for await', async () => {
    const response = await new Promise<Echo>((resolve, reject) => {
      const call = client.ClientStreamingEcho((error: Error | null, value: Echo) => (error ? reject(error) : resolve(value)));
      ['a', 'b', 'c'].forEach((message) => call.write({ message }));
      call.end();
    });
    expect(response.message).to.equal('a+b+c');
  });

  it('server streaming with an async generator, and an error thrown after some messages', async () => {
    expect((await collect<Echo>(client.ServerStreamingEcho({ message: 'm' }))).map((item) => item.message)).to.deep.equal(['m0', 'm1', 'm2']);
    const received: string[] = [];
    const error = await new Promise<grpc.ServiceError>((resolve) => {
      const call = client.ServerStreamingEcho({ message: 'boom' });
      call.on('data', (item: Echo) => received.push(item.message));
      call.on('error', resolve);
    });
    expect(received).to.deep.equal(['boom0', 'boom1', 'boom2']);
    expect(error.code).to.equal(grpc.status.ABORTED);
  });

  it('bidi with an async generator over the requests', async () => {
    const call = client.BidirectionalStreamingEcho();
    const done = collect<Echo>(call);
    ['x', 'y'].forEach((message) => call.write({ message }));
    call.end();
    expect((await done).map((item) => item.message)).to.deep.equal(['X', 'Y']);
  });
});

describe('integration: message size limits and compression', () => {
  let server: Server;
  let port: number;
  const seen: { statusDetails?: Buffer } = {};

  before(async () => {
    server = new Server({ 'grpc.max_send_message_length': 1024 * 1024 });
    server.addService(loadEchoService(), {
      UnaryEcho(call: ServerUnaryCall<Echo>, callback: (error: unknown, value?: Echo) => void) {
        if (call.request.message === 'big-response') return callback(null, { message: 'r'.repeat(2 * 1024 * 1024) });
        if (call.request.message === 'compress-me') {
          (call as unknown as { setResponseCompression(encoding: string): boolean }).setResponseCompression('gzip');
          return callback(null, { message: 'c'.repeat(1000) });
        }
        if (call.request.message === 'details') {
          const metadata = new Metadata();
          seen.statusDetails = Buffer.from([1, 2, 3, 4]);
          metadata.set('grpc-status-details-bin', seen.statusDetails);
          return callback({ code: Status.INVALID_ARGUMENT, details: 'see details', metadata });
        }
        callback(null, { message: `len:${call.request.message.length}` });
      },
    });
    port = await server.listen(0);
  });
  after(() => server.forceShutdown());

  it('a request over the 4 MiB receive limit gets RESOURCE_EXHAUSTED', async () => {
    const client = grpcJsEchoClient(port);
    try {
      const error = await expectError(unary(client, 'q'.repeat(4 * 1024 * 1024 + 10)));
      expect(error.code).to.equal(grpc.status.RESOURCE_EXHAUSTED);
    } finally {
      client.close();
    }
  });

  it('a response over the send limit gets RESOURCE_EXHAUSTED', async () => {
    const client = grpcJsEchoClient(port);
    try {
      const error = await expectError(unary(client, 'big-response'));
      expect(error.code).to.equal(grpc.status.RESOURCE_EXHAUSTED);
    } finally {
      client.close();
    }
  });

  it('gzip-compressed requests are accepted; a 10 MiB gzip bomb past the limit is RESOURCE_EXHAUSTED', async () => {
    const client = grpcJsEchoClient(port, { 'grpc.default_compression_algorithm': 2 });
    try {
      expect(await unary(client, 'z'.repeat(100_000))).to.deep.equal({ message: 'len:100000' });
      // 10 MiB of one repeated byte compresses to a few KiB: the receive limit must be checked after inflating.
      const error = await expectError(unary(client, 'z'.repeat(10 * 1024 * 1024)));
      expect(error.code).to.equal(grpc.status.RESOURCE_EXHAUSTED);
    } finally {
      client.close();
    }
  });

  it('grpc-status-details-bin set by a handler reaches the client', async () => {
    const client = grpcJsEchoClient(port);
    try {
      const error = await expectError(unary(client, 'details'));
      expect(error.code).to.equal(grpc.status.INVALID_ARGUMENT);
      expect(error.metadata.get('grpc-status-details-bin')).to.deep.equal([seen.statusDetails]);
    } finally {
      client.close();
    }
  });

  describe('on the wire (raw peer)', () => {
    let peer: RawPeer;
    beforeEach(async () => {
      peer = await RawPeer.connect(port);
      peer.sendPreface();
    });
    afterEach(() => peer.destroy());

    it('an unsupported grpc-encoding gets UNIMPLEMENTED listing the supported encodings', async () => {
      peer.request(1, grpcRequestHeaders(undefined, ['grpc-encoding', 'snappy']));
      const response = await peer.expectResponse(1);
      expect(response.grpcStatus).to.equal(String(Status.UNIMPLEMENTED));
      expect(headerValue(response.headers, 'grpc-accept-encoding')).to.equal('identity,deflate,gzip');
    });

    it('a compressed message without grpc-encoding gets INTERNAL', async () => {
      const message = echoMessage('hi');
      message[0] = 1;
      peer.request(1, grpcRequestHeaders(), message);
      expect((await peer.expectResponse(1)).grpcStatus).to.equal(String(Status.INTERNAL));
    });

    it('a deflate-compressed message is inflated', async () => {
      const plain = echoMessage('abc');
      const deflated = zlib.deflateSync(plain.subarray(5));
      const framed = Buffer.alloc(5 + deflated.length);
      framed[0] = 1;
      framed.writeUInt32BE(deflated.length, 1);
      deflated.copy(framed, 5);
      peer.request(1, grpcRequestHeaders(undefined, ['grpc-encoding', 'deflate']), framed);
      const response = await peer.expectResponse(1);
      expect(response.grpcStatus).to.equal('0');
      expect(response.data.subarray(5).toString('latin1')).to.contain('len:3');
    });

    it('a malformed grpc-timeout is rejected with INTERNAL', async () => {
      peer.request(1, grpcRequestHeaders(undefined, ['grpc-timeout', '123456789S']));
      expect((await peer.expectResponse(1)).grpcStatus).to.equal(String(Status.INTERNAL));
    });

    it('a handler can compress its response per call, when the client accepts the encoding', async () => {
      peer.request(1, grpcRequestHeaders(undefined, ['grpc-accept-encoding', 'gzip']), echoMessage('compress-me'));
      const compressed = await peer.expectResponse(1);
      expect(headerValue(compressed.headers, 'grpc-encoding')).to.equal('gzip');
      expect(compressed.data[0]).to.equal(1);
      expect(zlib.gunzipSync(compressed.data.subarray(5)).toString('latin1')).to.contain('c'.repeat(1000));
      // Without gzip in grpc-accept-encoding the same call answers uncompressed.
      peer.request(3, grpcRequestHeaders(), echoMessage('compress-me'));
      const plain = await peer.expectResponse(3);
      expect(headerValue(plain.headers, 'grpc-encoding')).to.equal(undefined);
      expect(plain.data[0]).to.equal(0);
    });

    it('-bin metadata accepts unpadded base64', async () => {
      peer.request(1, grpcRequestHeaders(undefined, ['x-data-bin', 'AQID']));
      expect((await peer.expectResponse(1)).grpcStatus).to.equal('0');
    });
  });
});
