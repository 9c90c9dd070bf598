import { expect } from 'chai';
import * as http2 from 'node:http2';
import { setTimeout as delay } from 'node:timers/promises';
import { create } from '@bufbuild/protobuf';
import { createContextValues, type ConnectRouter } from '@connectrpc/connect';
import { Server } from '../../lib';
import { addConnectRouter } from '../../lib/connect';
import type { Http2Stream } from '../../lib/transport';
import { connectNodeClient, EchoResponseSchema, EchoServiceDesc, type ProtocolName } from '../support/connect-echo';

const MESSAGE_SIZE = 64 * 1024;
const COUNT = 256; // 16 MiB each way
/** Our server's default stream receive window and write quota. */
const STREAM_WINDOW = 256 * 1024;
const WRITE_QUOTA = 64 * 1024;
/** Messages a sender may be ahead of its slow peer: windows and socket buffers, far below COUNT. */
const MAX_AHEAD = 32;
const CONTENT_TYPES: Record<string, string> = { grpc: 'application/grpc', connect: 'application/connect+proto' };

describe('integration: flow control between a Connect router on our server and its clients', () => {
  let server: Server;
  let port: number;
  const streams: Http2Stream[] = [];
  const progress = { produced: 0, consumed: 0, maxAhead: 0, maxBuffered: 0, maxQueued: 0 };

  function sample(): void {
    progress.maxAhead = Math.max(progress.maxAhead, progress.produced - progress.consumed);
    for (const stream of streams) progress.maxBuffered = Math.max(progress.maxBuffered, stream.bufferedBytes);
    progress.maxQueued = Math.max(progress.maxQueued, server.stats.queuedBytes);
  }

  before(async () => {
    server = new Server();
    addConnectRouter(server, {
      // The handlers' streams, to watch what the transport buffers for them.
      contextValues(stream) {
        streams.push(stream);
        return createContextValues();
      },
      routes: (router: ConnectRouter) =>
        router.service(EchoServiceDesc, {
          // A slow reader: one message per timer tick.
          async clientStreamingEcho(requests) {
            let bytes = 0;
            for await (const request of requests) {
              progress.consumed++;
              bytes += request.message.length;
              sample();
              await delay(1);
            }
            return create(EchoResponseSchema, { message: String(bytes) });
          },
          // A fast writer: as many messages as the client lets through.
          async *serverStreamingEcho() {
            for (let index = 0; index < COUNT; index++) {
              progress.produced++;
              sample();
              yield create(EchoResponseSchema, { message: 'w'.repeat(MESSAGE_SIZE) });
            }
          },
        }),
    });
    port = await server.listen(0);
  });
  beforeEach(() => {
    Object.assign(progress, { produced: 0, consumed: 0, maxAhead: 0, maxBuffered: 0, maxQueued: 0 });
    streams.length = 0;
  });
  after(() => server.forceShutdown());

  for (const protocol of ['grpc', 'connect'] as ProtocolName[]) {
    it(`${protocol}: a fast 16 MiB upload to a slow handler is held back by the stream window`, async () => {
      const connection = connectNodeClient(protocol, port, { readMaxBytes: 1 << 24, writeMaxBytes: 1 << 24 });
      try {
        async function* upload() {
          for (let index = 0; index < COUNT; index++) {
            progress.produced++;
            sample();
            yield { message: 'u'.repeat(MESSAGE_SIZE) };
          }
        }
        const response = await connection.client.clientStreamingEcho(upload());
        expect(response.message).to.equal(String(COUNT * MESSAGE_SIZE));
      } finally {
        connection.close();
      }
      expect(progress.consumed).to.equal(COUNT);
      // Without backpressure the sender would be ~COUNT messages ahead of the slow handler.
      expect(progress.maxAhead).to.be.at.most(MAX_AHEAD);
      // What waits on our side is within the stream's receive window (plus one DATA frame).
      expect(progress.maxBuffered).to.be.at.most(STREAM_WINDOW + 16 * 1024);
    });

    it(`${protocol}: a fast 16 MiB server stream to a slow reader is held back by the client's window`, async () => {
      // A raw node:http2 reader (connect-node's client reads ahead on its own): one chunk per tick.
      const session = http2.connect(`http://127.0.0.1:${port}`);
      let bytes = 0;
      try {
        const request = session.request({
          ':method': 'POST',
          ':path': '/grpc.examples.echo.Echo/ServerStreamingEcho',
          'content-type': CONTENT_TYPES[protocol],
          te: 'trailers',
        });
        // One enveloped empty EchoRequest (the same 5 bytes in both protocols).
        request.end(Buffer.alloc(5));
        for await (const chunk of request) {
          bytes += (chunk as Buffer).length;
          progress.consumed = Math.floor(bytes / (MESSAGE_SIZE + 16));
          sample();
          await delay(1);
        }
      } finally {
        session.close();
      }
      expect(bytes).to.be.greaterThan(COUNT * MESSAGE_SIZE);
      expect(progress.produced).to.equal(COUNT);
      // Without backpressure the handler would be ~COUNT messages ahead of the slow reader.
      expect(progress.maxAhead).to.be.at.most(MAX_AHEAD);
      // Our unwritten bytes stay within one write quota plus the message that crossed it.
      expect(progress.maxQueued).to.be.greaterThan(0);
      expect(progress.maxQueued).to.be.at.most(WRITE_QUOTA + MESSAGE_SIZE + 64);
    });
  }
});
