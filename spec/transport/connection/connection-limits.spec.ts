/**
 * The per-connection budgets of a bare server-role Http2Connection (no gRPC above it), driven by a
 * raw peer: retained streams keep their concurrency slot, resets and do-nothing frames spend token
 * buckets that end in GOAWAY ENHANCE_YOUR_CALM, a WINDOW_UPDATE flood merges, and window is credited
 * only when its WINDOW_UPDATE is written.
 */
import { expect } from 'chai';
import { type ConnectionOptions, ErrorCode, type Http2Stream } from '../../../lib/transport';
import { serveBare as serve, sink } from '../../support/bare-server';
import { FrameType } from '../../../lib/transport/frame/frame-type';
import { frames } from '../../support/frames';
import { RawPeer } from '../../support/raw-peer';
import { grpcRequestHeaders } from '../../support/echo-request';
import { eventually } from '../../support/waiting';

describe('Http2Connection per-connection limits', () => {
  let server: Awaited<ReturnType<typeof serve>> | undefined;
  let peer: RawPeer | undefined;

  afterEach(async () => {
    peer?.destroy();
    peer = undefined;
    await server?.close();
    server = undefined;
  });

  async function connect(): Promise<RawPeer> {
    peer = await RawPeer.connect(server!.port);
    peer.sendPreface();
    return peer;
  }

  describe('retained streams (rapid reset, CVE-2023-44487)', () => {
    it('a reset stream whose handler still runs keeps its slot; release() frees it', async () => {
      const opened: Http2Stream[] = [];
      server = await serve({ settings: { maxConcurrentStreams: 2 } }, (stream) => {
        stream.retain();
        stream.setListener(sink());
        opened.push(stream);
      });
      const raw = await connect();
      raw.openStream(1);
      raw.openStream(3);
      raw.send([frames.rstStream(1, ErrorCode.CANCEL), frames.rstStream(3, ErrorCode.CANCEL)]);
      await eventually(() => server!.connections[0]?.stats.retainedStreams === 2);
      expect(server.connections[0].stats.streams).to.equal(0);

      // Both slots are still taken by running handlers: a third stream is refused.
      raw.openStream(5);
      await raw.expectRstStream(5, ErrorCode.REFUSED_STREAM);
      expect(opened).to.have.length(2);

      opened[0].release();
      opened[0].release(); // idempotent
      expect(server.connections[0].stats.retainedStreams).to.equal(1);
      raw.openStream(7);
      await eventually(() => opened.length === 3);
      expect(opened[2].id).to.equal(7);
    });

    it('a stream that is released while open frees nothing extra when it closes', async () => {
      server = await serve({ settings: { maxConcurrentStreams: 1 } }, (stream) => {
        stream.retain();
        stream.release();
        stream.setListener(sink());
      });
      const raw = await connect();
      raw.openStream(1);
      raw.send(frames.rstStream(1, ErrorCode.CANCEL));
      raw.openStream(3);
      await eventually(() => server!.connections[0]?.stats.streams === 1);
      expect(server.connections[0].stats.retainedStreams).to.equal(0);
    });
  });

  describe('reset budget', () => {
    const limits = { resetBurst: 10, resetsPerSecond: 0.001 };

    it('the peer’s RST_STREAMs spend it: the 11th reset gets GOAWAY ENHANCE_YOUR_CALM', async () => {
      server = await serve({ limits }, (stream) => stream.setListener(sink()));
      const raw = await connect();
      for (let index = 0; index < 10; index++)
        raw.send([...raw.requestFrames(1 + 2 * index, grpcRequestHeaders(), null, false), frames.rstStream(1 + 2 * index, ErrorCode.CANCEL)]);
      // Still fine after ten: a PING is answered.
      raw.send(frames.ping(Buffer.from('12345678')));
      await raw.expectFrame(FrameType.PING, (frame) => frame.ack);
      raw.send([...raw.requestFrames(21, grpcRequestHeaders(), null, false), frames.rstStream(21, ErrorCode.CANCEL)]);
      const goAway = await raw.expectGoAway(ErrorCode.ENHANCE_YOUR_CALM);
      expect(goAway.debugData.toString()).to.contain('resets');
      await raw.closed();
    });

    it('resets we send because of the peer’s frames (MadeYouReset, CVE-2025-8671) spend it too', async () => {
      server = await serve({ limits }, (stream) => stream.setListener(sink()));
      const raw = await connect();
      // WINDOW_UPDATE with increment 0 on an open stream: a stream error (RFC 9113 §6.9) we answer with RST_STREAM.
      for (let index = 0; index < 11; index++)
        raw.send([...raw.requestFrames(1 + 2 * index, grpcRequestHeaders(), null, false), frames.windowUpdate(1 + 2 * index, 0)]);
      await raw.expectGoAway(ErrorCode.ENHANCE_YOUR_CALM);
      await raw.closed();
    });

    it('refused streams spend it: a peer opening past the limit is cut off', async () => {
      server = await serve({ limits, settings: { maxConcurrentStreams: 1 } }, (stream) => stream.setListener(sink()));
      const raw = await connect();
      for (let index = 0; index < 12; index++) raw.openStream(1 + 2 * index);
      await raw.expectGoAway(ErrorCode.ENHANCE_YOUR_CALM);
    });
  });

  describe('invalid-frame budget', () => {
    const limits = { invalidFrameBurst: 20, invalidFramesPerSecond: 0.001 };

    for (const [name, make] of [
      ['PRIORITY', () => frames.priority(1, { dependsOn: 0 })],
      ['unknown frame types (§5.5)', () => frames.raw(0xfa, 0, 0, 'x')],
      ['empty DATA without END_STREAM', () => frames.data(1, '')],
      ['RST_STREAM on a closed stream', () => frames.rstStream(1, ErrorCode.CANCEL)],
    ] as const) {
      it(`${name}: 20 are tolerated, the 21st gets GOAWAY ENHANCE_YOUR_CALM`, async () => {
        server = await serve({ limits }, (stream) => stream.setListener(sink()));
        const raw = await connect();
        raw.openStream(1);
        if (name.startsWith('RST_STREAM')) raw.send(frames.rstStream(1, ErrorCode.CANCEL)); // a real reset first; what follows hits a closed stream
        raw.send(Array.from({ length: 20 }, make));
        raw.send(frames.ping(Buffer.from('still ok')));
        await raw.expectFrame(FrameType.PING, (frame) => frame.ack);
        raw.send(make());
        await raw.expectGoAway(ErrorCode.ENHANCE_YOUR_CALM);
        await raw.closed();
      });
    }
  });

  describe('outbound header lists', () => {
    it("are checked against the peer's SETTINGS_MAX_HEADER_LIST_SIZE before anything is sent", async () => {
      const results: unknown[] = [];
      server = await serve({}, (stream) => {
        stream.setListener(sink());
        const big = [':status', '200', 'x-big', 'v'.repeat(2000)];
        results.push(stream.fitsHeaderList(big));
        try {
          stream.sendHeaders(big);
        } catch (error) {
          results.push((error as Error).name, (error as { limit: number }).limit);
        }
        results.push(stream.headersSent);
        stream.sendHeaders([':status', '200', 'x-small', 'v'], true);
      });
      const raw = await connect();
      raw.send(frames.settings([{ id: 0x6, value: 1000 }]));
      raw.openStream(1);
      const response = await raw.expectResponse(1);
      expect(results).to.deep.equal([false, 'HeaderListTooLargeError', 1000, false]);
      expect(response.headers).to.include('x-small');
    });

    it('are capped at maxSendHeaderListSize when the peer sets no limit', async () => {
      const results: unknown[] = [];
      server = await serve({ limits: { maxSendHeaderListSize: 500 } }, (stream) => {
        stream.setListener(sink());
        results.push(stream.fitsHeaderList([':status', '200', 'x', 'v'.repeat(400)]), stream.fitsHeaderList([':status', '200', 'x', 'v'.repeat(500)]));
        stream.sendHeaders([':status', '200'], true);
      });
      const raw = await connect();
      raw.openStream(1);
      await raw.expectResponse(1);
      expect(results).to.deep.equal([true, false]);
    });
  });

  describe('write quota', () => {
    it('counts a fixed overhead per queued write, so tiny messages cannot queue items without bound; drained writes are given back', async () => {
      const counts: number[] = [];
      // The per-turn write budget (256 by default) would stop the writes first; here only the quota counts.
      server = await serve({ limits: { writesPerTurn: 1 << 20 } }, (stream) => {
        stream.setListener({
          ...sink(),
          onDrain: () => {
            if (counts.length === 2) return;
            // Everything written: the quota is whole again.
            let again = 0;
            while (stream.write(Buffer.alloc(13))) again++;
            counts.push(again);
            stream.end();
          },
        });
        stream.sendHeaders([':status', '200']);
        let writes = 1;
        while (stream.write(Buffer.alloc(13))) writes++;
        counts.push(writes);
      });
      const raw = await connect();
      raw.openStream(1);
      await raw.expectResponse(1);
      // 64 KiB quota / (13 bytes + 128 overhead) = 465 writes; bytes alone would allow 5041.
      expect(counts[0]).to.equal(Math.ceil(65536 / 141));
      expect(counts[1] + 1).to.be.at.least(counts[0] - 100);
    });
  });

  describe('control queue caps', () => {
    it('more DATA queued for the writer than maxQueuedControlBytes ends the connection with ENHANCE_YOUR_CALM', async () => {
      server = await serve({ limits: { maxQueuedControlBytes: 4 << 20 } }, (stream) => {
        stream.setListener(sink());
        stream.sendHeaders([':status', '200']);
        const chunk = Buffer.alloc(1 << 20);
        // Written in one turn, ignoring write()'s false: all of it waits in the control queue.
        for (let index = 0; index < 8; index++) if (!stream.isClosed) stream.write(chunk);
      });
      const raw = await connect();
      raw.openStream(1);
      await raw.closed();
      expect(server.errors.map((error) => error.errorCode)).to.deep.equal([ErrorCode.ENHANCE_YOUR_CALM]);
    });
  });

  describe('a peer that does not read', () => {
    /** Blocks the server's writer: a 32 MiB response on stream 1 to a peer that never reads. */
    async function blockedWriter(options: ConnectionOptions = {}): Promise<RawPeer> {
      server = await serve(options, (stream) => {
        stream.setListener(sink());
        stream.sendHeaders([':status', '200']);
        const chunk = Buffer.alloc(1 << 20);
        for (let index = 0; index < 32; index++) stream.write(chunk);
      });
      const raw = await connect();
      raw.socket.pause();
      // Large windows so the writer is limited by the socket, not by flow control.
      raw.send([frames.settings([{ id: 0x4, value: 2 ** 31 - 1 }]), frames.windowUpdate(0, 2 ** 31 - 1 - 65535)]);
      raw.openStream(1);
      await eventually(() => server!.connections[0]?.stats.queuedBytes > 0 && server!.connections[0].stats.queuedBytes < 32 << 20);
      return raw;
    }

    it('a WINDOW_UPDATE flood queues one merged item, not one per frame', async () => {
      const raw = await blockedWriter();
      const connection = server!.connections[0];
      const flood = Buffer.concat(Array.from({ length: 10_000 }, () => frames.windowUpdate(0, 1)));
      for (let round = 0; round < 10; round++) raw.send(flood);
      await eventually(() => connection.stats.readerBufferedBytes === 0 && connection.stats.controlItems > 0);
      expect(connection.stats.controlItems).to.be.at.most(5);
      expect(connection.isClosed).to.equal(false);
    });

    it('window returned for its data is not usable until the WINDOW_UPDATE is written: it gets FLOW_CONTROL_ERROR', async () => {
      const raw = await blockedWriter();
      const connection = server!.connections[0];
      raw.openStream(3);
      // The connection window is 1 MiB; the data is consumed at once, but our WINDOW_UPDATEs wait behind the blocked writer.
      const chunk = frames.data(3, Buffer.alloc(16 * 1024));
      let sent = 0;
      while (!connection.isClosed && sent < 200) {
        raw.send(chunk);
        sent++;
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect(server!.errors.map((error) => error.errorCode)).to.deep.equal([ErrorCode.FLOW_CONTROL_ERROR]);
      // 1 MiB connection window = 64 frames of 16 KiB, or the 256 KiB stream window first = 16 frames.
      expect(sent).to.be.within(17, 70);
    });
  });
});
