import { expect } from 'chai';
import { setTimeout as delay } from 'node:timers/promises';
import { create } from '@bufbuild/protobuf';
import { type Client, createClient } from '@connectrpc/connect';
import { Server } from '../../lib';
import type { ConnectionStats } from '../../lib/transport';
import { addConnectRouter, createConnectTransport, createGrpcTransport, type H2grpcTransport } from '../../lib/connect';
import { EchoResponseSchema, EchoServiceDesc, type EchoService, type ProtocolName } from '../support/connect-echo';

const MESSAGE_SIZE = 64 * 1024;
const COUNT = 1600; // 100 MiB each way
const LIMIT = 1024 * 1024;
/** Messages a fast sender may be ahead of its slow peer: 1 MiB of them (windows and buffers), far below COUNT. */
const MAX_AHEAD = LIMIT / MESSAGE_SIZE;

interface Peak {
  queued: number;
  streamBuffered: number;
  readerBuffered: number;
}

/**
 * Backpressure end to end over our Connect client → our Connect adapter: 100 MiB to a slow
 * reader, each way, and the bytes both transports hold (queued for writing, buffered for a
 * reader, unparsed) stay under 1 MiB on each end, as their connection stats show.
 */
describe('integration: 100 MiB through our Connect client and our Connect adapter with slow readers', function () {
  this.timeout(120_000);
  let server: Server;
  let port: number;
  const progress = { produced: 0, consumed: 0, maxAhead: 0 };
  const peaks: { server: Peak; client: Peak } = { server: emptyPeak(), client: emptyPeak() };
  let transport: H2grpcTransport | null = null;

  function emptyPeak(): Peak {
    return { queued: 0, streamBuffered: 0, readerBuffered: 0 };
  }

  function record(peak: Peak, stats: ConnectionStats[]): void {
    for (const connection of stats) {
      peak.queued = Math.max(peak.queued, connection.queuedBytes);
      peak.streamBuffered = Math.max(peak.streamBuffered, connection.streamBufferedBytes);
      peak.readerBuffered = Math.max(peak.readerBuffered, connection.readerBufferedBytes);
    }
  }

  function sample(): void {
    progress.maxAhead = Math.max(progress.maxAhead, progress.produced - progress.consumed);
    record(peaks.server, server.connectionStats());
    if (transport !== null) record(peaks.client, transport.channel.connectionStats());
  }

  before(async () => {
    server = new Server();
    addConnectRouter(server, {
      readMaxBytes: 2 * MESSAGE_SIZE,
      routes: (router) =>
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
            const message = 'd'.repeat(MESSAGE_SIZE);
            for (let index = 0; index < COUNT; index++) {
              progress.produced++;
              sample();
              yield create(EchoResponseSchema, { message });
            }
          },
        }),
    });
    port = await server.listen(0);
  });
  beforeEach(() => {
    Object.assign(progress, { produced: 0, consumed: 0, maxAhead: 0 });
    peaks.server = emptyPeak();
    peaks.client = emptyPeak();
  });
  afterEach(() => {
    transport?.channel.close();
    transport = null;
  });
  after(() => server.forceShutdown());

  function connect(protocol: ProtocolName): Client<EchoService> {
    // Uncompressed, so the wire carries the 100 MiB (a repeated letter gzips to almost nothing).
    const options = { baseUrl: `http://127.0.0.1:${port}`, readMaxBytes: 2 * MESSAGE_SIZE, acceptCompression: [] };
    transport = protocol === 'grpc' ? createGrpcTransport(options) : createConnectTransport(options);
    return createClient(EchoServiceDesc, transport);
  }

  function expectBounded(): void {
    for (const side of ['server', 'client'] as const) {
      const peak = peaks[side];
      expect(peak.queued, `${side} queued bytes`).to.be.below(LIMIT);
      expect(peak.streamBuffered, `${side} stream-buffered bytes`).to.be.below(LIMIT);
      expect(peak.readerBuffered, `${side} reader-buffered bytes`).to.be.below(LIMIT);
    }
    // Without backpressure the fast side would be up to COUNT messages ahead.
    expect(progress.maxAhead).to.be.at.most(MAX_AHEAD);
  }

  for (const protocol of ['grpc', 'connect'] as ProtocolName[]) {
    it(`${protocol}: a fast 100 MiB upload to a slow handler`, async () => {
      const client = connect(protocol);
      const message = 'u'.repeat(MESSAGE_SIZE);
      async function* upload() {
        for (let index = 0; index < COUNT; index++) {
          progress.produced++;
          sample();
          yield { message };
        }
      }
      const response = await client.clientStreamingEcho(upload());
      expect(response.message).to.equal(String(COUNT * MESSAGE_SIZE));
      expect(progress.consumed).to.equal(COUNT);
      expectBounded();
    });

    it(`${protocol}: a fast 100 MiB server stream to a slow client`, async () => {
      const client = connect(protocol);
      let bytes = 0;
      for await (const response of client.serverStreamingEcho({ message: 'go' })) {
        progress.consumed++;
        bytes += response.message.length;
        sample();
        await delay(1);
      }
      expect(bytes).to.equal(COUNT * MESSAGE_SIZE);
      expect(progress.produced).to.equal(COUNT);
      expectBounded();
    });
  }
});
