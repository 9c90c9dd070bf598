/**
 * The connection lifecycle with short test values: handshake timeout, idle and age limits,
 * keepalive pings and their timeout, the ping policy (strikes -> GOAWAY "too_many_pings") and the
 * minimum data rate. Driven by a raw peer against a bare server-role Http2Connection. Where a spec
 * shows that something does NOT happen, it waits a few multiples of the configured timer: that is
 * the measurement, not a synchronisation.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { type ConnectionOptions, ErrorCode, type Http2Stream } from '../../../lib/transport';
import { FrameType } from '../../../lib/transport/frame/frame-type';
import { DEFAULT_LIFECYCLE, KEEPALIVE_PING_DATA } from '../../../lib/transport/connection/lifecycle';
import { frames, PREFACE } from '../../support/frames';
import { type BareServer, serveBare, sink } from '../../support/bare-server';
import { RawPeer } from '../../support/raw-peer';
import { grpcRequestHeaders } from '../../support/echo-request';
import { eventually } from '../../support/waiting';

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Http2Connection lifecycle timers', () => {
  let server: BareServer | undefined;
  let peer: RawPeer | undefined;
  const streams: Http2Stream[] = [];

  afterEach(async () => {
    peer?.destroy();
    peer = undefined;
    streams.length = 0;
    await server?.close();
    server = undefined;
  });

  async function start(lifecycle: ConnectionOptions['lifecycle'], answer = false): Promise<void> {
    server = await serveBare({ lifecycle }, (stream) => {
      streams.push(stream);
      stream.setListener({ ...sink(), onEnd: () => answer && stream.sendHeaders([':status', '200'], true) });
    });
  }

  async function connect(): Promise<RawPeer> {
    peer = await RawPeer.connect(server!.port);
    peer.sendPreface();
    return peer;
  }

  it('defaults: grpc-go keepalive (2 h / 20 s), 5 min between pings, 2 strikes, handshake 20 s, 240 B/s after 5 s', () => {
    expect(DEFAULT_LIFECYCLE).to.deep.include({
      keepaliveTimeMs: 7_200_000,
      keepaliveTimeoutMs: 20_000,
      minPingIntervalMs: 300_000,
      maxPingStrikes: 2,
      permitPingsWithoutCalls: false,
      handshakeTimeoutMs: 20_000,
      minDataRate: 240,
      minDataRateGraceMs: 5_000,
      maxIdleMs: Infinity,
      maxAgeMs: Infinity,
    });
  });

  describe('handshake timeout', () => {
    for (const [what, bytes] of [
      ['a silent socket', null],
      ['a socket that sends only the preface magic', PREFACE],
    ] as const) {
      it(`closes ${what}`, async () => {
        await start({ handshakeTimeoutMs: 100 });
        peer = await RawPeer.connect(server!.port);
        if (bytes !== null) peer.sendRaw(bytes);
        const started = Date.now();
        await peer.closed(2000);
        expect(Date.now() - started).to.be.within(50, 1500);
      });
    }

    it('leaves a connection that completed its handshake alone', async () => {
      await start({ handshakeTimeoutMs: 50 });
      const raw = await connect();
      await delay(200);
      raw.send(frames.ping(Buffer.from('are you?')));
      await raw.expectFrame(FrameType.PING, (frame) => frame.ack);
      expect(server!.connections[0].isClosed).to.equal(false);
    });
  });

  describe('max idle', () => {
    it('sends GOAWAY(NO_ERROR, "max_idle") once no stream has been open for maxIdleMs, then closes', async () => {
      await start({ maxIdleMs: 100 }, true);
      const raw = await connect();
      raw.request(1, grpcRequestHeaders(), null);
      await raw.expectResponse(1);
      // Two steps (RFC 9113 §6.8): GOAWAY(2^31-1) with a PING, then the last processed id once the PING is answered.
      const headsUp = await raw.expectGoAway(ErrorCode.NO_ERROR, 2000);
      expect(headsUp.debugData.toString()).to.equal('max_idle');
      expect(headsUp.lastStreamId).to.equal(2 ** 31 - 1);
      const ping = await raw.expectFrame(FrameType.PING, (frame) => !frame.ack);
      raw.send(frames.ping(ping.data, true));
      const final = await raw.expectGoAway(ErrorCode.NO_ERROR);
      expect(final.lastStreamId).to.equal(1);
      expect(final.debugData.toString()).to.equal('max_idle');
      await raw.closed();
    });

    it('does not count time while a stream is open', async () => {
      await start({ maxIdleMs: 50 });
      const raw = await connect();
      raw.openStream(1);
      await delay(200);
      expect(server!.connections[0].isDraining).to.equal(false);
      raw.send(frames.data(1, '', { endStream: true }));
    });
  });

  describe('max age and grace', () => {
    it('drains with GOAWAY(NO_ERROR, "max_age"), lets a running stream go on through the grace period, then closes', async () => {
      await start({ maxAgeMs: 100, maxAgeGraceMs: 200 });
      const raw = await connect();
      raw.openStream(1);
      const goAway = await raw.expectGoAway(ErrorCode.NO_ERROR, 2000);
      expect(goAway.debugData.toString()).to.equal('max_age');
      const drainedAt = Date.now();
      // The open stream still works during the grace period...
      expect(streams[0].isClosed).to.equal(false);
      // ...and at its end the connection closes, resetting it.
      await raw.closed(3000);
      expect(Date.now() - drainedAt).to.be.at.least(100);
      expect(streams[0].isAborted).to.equal(true);
    });
  });

  describe('keepalive', () => {
    it('PINGs a peer it has not heard from for keepaliveTimeMs and closes when no ACK comes within keepaliveTimeoutMs', async () => {
      await start({ keepaliveTimeMs: 100, keepaliveTimeoutMs: 100 });
      const raw = await connect();
      const ping = await raw.expectFrame(FrameType.PING, (frame) => !frame.ack, 2000);
      expect(ping.data).to.deep.equal(KEEPALIVE_PING_DATA);
      await raw.closed(2000);
      expect(server!.connections[0].isClosed).to.equal(true);
    });

    it('keeps a peer that answers its PINGs', async () => {
      await start({ keepaliveTimeMs: 50, keepaliveTimeoutMs: 50 });
      const raw = await connect();
      for (let round = 0; round < 3; round++) {
        const ping = await raw.expectFrame(FrameType.PING, (frame) => !frame.ack, 2000);
        raw.send(frames.ping(ping.data, true));
      }
      expect(server!.connections[0].isClosed).to.equal(false);
    });
  });

  describe('ping policy (grpc-go enforcement)', () => {
    it('is a server policy: a client answers a server that pings it often, and stays connected', async () => {
      const { duplexPair } = await import('../../../lib/transport/duplex-pair');
      const { createClientConnection, createServerConnection } = await import('../../../lib/transport');
      const [a, b] = duplexPair();
      const pinging = createServerConnection(a, { lifecycle: { keepaliveTimeMs: 20, keepaliveTimeoutMs: 1000 } });
      const client = createClientConnection(b);
      const errors: string[] = [];
      client.on('connectionError', (error) => errors.push(error.reason));
      await delay(300); // ~15 keepalive PINGs from the server, well past two strikes
      expect(errors).to.deep.equal([]);
      expect(client.isClosed).to.equal(false);
      expect(pinging.isClosed).to.equal(false);
      client.close();
      pinging.close();
    });

    it('without calls, the third strike past the limit gets GOAWAY(ENHANCE_YOUR_CALM, "too_many_pings")', async () => {
      await start({});
      const raw = await connect();
      // The first PING is free; the next three come too soon: strikes 1, 2, 3 (> 2).
      for (let index = 0; index < 3; index++) {
        raw.send(frames.ping(Buffer.alloc(8, index)));
        await raw.expectFrame(FrameType.PING, (frame) => frame.ack);
      }
      raw.send(frames.ping(Buffer.alloc(8, 9)));
      const goAway = await raw.expectGoAway(ErrorCode.ENHANCE_YOUR_CALM);
      expect(goAway.debugData.toString()).to.equal('too_many_pings');
      await raw.closed();
    });

    it('permits any rate with permitPingsWithoutCalls and minPingIntervalMs 0', async () => {
      await start({ permitPingsWithoutCalls: true, minPingIntervalMs: 0 });
      const raw = await connect();
      for (let index = 0; index < 20; index++) raw.send(frames.ping(Buffer.alloc(8, index)));
      for (let index = 0; index < 20; index++) await raw.expectFrame(FrameType.PING, (frame) => frame.ack);
      expect(server!.connections[0].isClosed).to.equal(false);
    });

    it('a response we send resets the strikes (the peer is not idle-pinging)', async () => {
      await start({}, true);
      const raw = await connect();
      for (let round = 0; round < 6; round++) {
        raw.send(frames.ping(Buffer.alloc(8, round)));
        await raw.expectFrame(FrameType.PING, (frame) => frame.ack);
        raw.request(1 + 2 * round, grpcRequestHeaders(), null);
        await raw.expectResponse(1 + 2 * round);
      }
      expect(server!.connections[0].isClosed).to.equal(false);
    });
  });

  describe('write stall', () => {
    /** A server that answers every stream with 32 MiB, for a peer that may not read it. */
    async function bigResponses(lifecycle: ConnectionOptions['lifecycle']): Promise<RawPeer> {
      server = await serveBare({ lifecycle }, (stream) => {
        stream.setListener(sink());
        stream.sendHeaders([':status', '200']);
        const chunk = Buffer.alloc(1 << 20);
        for (let index = 0; index < 32; index++) stream.write(chunk);
      });
      const raw = await connect();
      raw.send([frames.settings([{ id: 0x4, value: 2 ** 31 - 1 }]), frames.windowUpdate(0, 2 ** 31 - 1 - 65535)]);
      raw.openStream(1);
      return raw;
    }

    it('closes a connection whose peer takes nothing while the socket is full for writeStallTimeoutMs', async () => {
      const raw = await bigResponses({ writeStallTimeoutMs: 200 });
      raw.socket.pause();
      const started = Date.now();
      // The paused peer cannot see the close; the server's side is what the spec measures.
      await eventually(() => server!.connections[0]?.isClosed === true, 5000);
      expect(Date.now() - started).to.be.within(150, 4000);
    });

    it('keeps a peer that reads in bursts every 25 ms', async () => {
      const raw = await bigResponses({ writeStallTimeoutMs: 1000 });
      raw.socket.pause();
      // ~5 MB/s: the socket drains again and again (each time the writer's last batch is taken), never stalls for 1 s.
      const started = Date.now();
      while (Date.now() - started < 2000) {
        await delay(25);
        while (raw.socket.read() !== null);
      }
      expect(server!.connections[0].isClosed).to.equal(false);
    });
  });

  describe('minimum data rate', () => {
    const lifecycle = { minDataRate: 1000, minDataRateGraceMs: 100 };

    it('resets (CANCEL) a stream whose peer sends below the rate after the grace period; the connection stays', async () => {
      await start(lifecycle, true);
      const raw = await connect();
      raw.openStream(1);
      raw.send(frames.data(1, 'x'));
      await raw.expectRstStream(1, ErrorCode.CANCEL, 3000);
      raw.request(3, grpcRequestHeaders(), null);
      await raw.expectResponse(3);
    });

    it('the application hears the reset (onReset), so nothing it does later writes to a closed stream', async () => {
      const resets: number[] = [];
      server = await serveBare({ lifecycle }, (stream) => {
        stream.setListener({ ...sink(), onReset: (code) => resets.push(code) });
      });
      const raw = await connect();
      raw.openStream(1);
      await raw.expectRstStream(1, ErrorCode.CANCEL, 3000);
      expect(resets).to.deep.equal([ErrorCode.CANCEL]);
    });

    it('leaves streams alone that send fast enough, that ended, or that the application exempted', async () => {
      server = await serveBare({ lifecycle }, (stream) => {
        streams.push(stream);
        if (stream.id === 5) stream.exemptFromDataRate();
        stream.setListener(sink());
      });
      const raw = await connect();
      raw.openStream(1);
      raw.request(3, grpcRequestHeaders(), null);
      raw.openStream(5);
      const started = Date.now();
      while (Date.now() - started < 400) {
        raw.send(frames.data(1, Buffer.alloc(100))); // 100 bytes per 20 ms: 5000 B/s
        await delay(20);
      }
      expect(streams.map((stream) => stream.isAborted)).to.deep.equal([false, false, false]);
    });

    it('does not count time the application keeps the peer waiting (paused, data unread)', async () => {
      server = await serveBare({ lifecycle }, (stream) => {
        streams.push(stream);
        stream.pause();
        stream.setListener(sink());
      });
      const raw = await connect();
      raw.openStream(1);
      raw.send(frames.data(1, 'x'));
      await delay(400);
      expect(streams[0].isAborted).to.equal(false);
    });
  });

  it('timers do not keep the process alive: a process with two armed connections exits by itself', () => {
    // Both ends of an in-memory pair, handshake done, every timer armed at 60 s: if any were ref'd,
    // the child would live for a minute.
    const script = `
      const { Http2Connection } = require('./lib/transport');
      const { duplexPair } = require('./lib/transport/duplex-pair');
      const [a, b] = duplexPair();
      const lifecycle = { handshakeTimeoutMs: 60000, keepaliveTimeMs: 60000, maxIdleMs: 60000, maxAgeMs: 60000, maxAgeGraceMs: 60000 };
      const server = new Http2Connection(a, 'server', { lifecycle });
      const client = new Http2Connection(b, 'client', { lifecycle });
      client.ping().then(() => process.stdout.write('ready'));
    `;
    const started = Date.now();
    const result = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script], {
      cwd: join(__dirname, '..', '..', '..'),
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.stderr).to.equal('');
    expect(result.stdout).to.equal('ready');
    expect(result.status).to.equal(0);
    expect(Date.now() - started).to.be.below(20_000);
  });
});
