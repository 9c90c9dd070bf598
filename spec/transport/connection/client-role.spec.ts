import { expect } from 'chai';
import { once } from 'node:events';
import * as net from 'node:net';
import {
  createClientConnection,
  ErrorCode,
  type HeaderList,
  type Http2Connection,
  type Http2Stream,
  type Initiator,
  isUnprocessedReset,
  PingTimeoutError,
  type StreamListener,
  type StreamRequest,
} from '../../../lib/transport';
import { FrameType } from '../../../lib/transport/frame/frame-type';
import { SettingId } from '../../../lib/transport/settings';
import { grpcRequestHeaders } from '../../support/echo-request';
import { frames } from '../../support/frames';
import { RawPeer } from '../../support/raw-peer';
import { eventually } from '../../support/waiting';

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

/** A StreamRequest that records what happened to it, and the stream's resets. */
class Request implements StreamRequest, StreamListener {
  readonly headers: HeaderList = grpcRequestHeaders();
  readonly prepared = null;
  readonly endStream = true;
  stream: Http2Stream | null = null;
  failed: { error: Error; unprocessed: boolean } | null = null;
  reset: { code: number; initiator: Initiator } | null = null;
  responseHeaders: HeaderList | null = null;
  ended = false;
  onStreamOpened(stream: Http2Stream): void {
    this.stream = stream;
    stream.setListener(this);
  }
  onStreamFailed(error: Error, unprocessed: boolean): void {
    this.failed = { error, unprocessed };
  }
  onHeaders(headers: HeaderList): void {
    this.responseHeaders = headers;
  }
  onData(): void {}
  onTrailers(): void {}
  onEnd(): void {
    this.ended = true;
  }
  onReset(code: number, initiator: Initiator): void {
    this.reset = { code, initiator };
  }
  onDrain(): void {}
}

describe('Http2Connection, client role (grpc-go http2_client semantics) against a raw server', () => {
  let server: net.Server;
  let port: number;
  let peers: RawPeer[];
  let connections: Http2Connection[];

  beforeEach(async () => {
    peers = [];
    connections = [];
    ({ server, port } = await RawPeer.listen((peer) => peers.push(peer)));
  });
  afterEach(async () => {
    for (const connection of connections) connection.close();
    for (const peer of peers) peer.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  async function connect(options: Parameters<typeof createClientConnection>[1] = {}): Promise<{ connection: Http2Connection; peer: RawPeer }> {
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    const connection = createClientConnection(socket, options);
    connections.push(connection);
    await eventually(() => peers.length === connections.length);
    return { connection, peer: peers[peers.length - 1] };
  }

  async function handshake(settings: { id: number; value: number }[] = [], options = {}): Promise<{ connection: Http2Connection; peer: RawPeer }> {
    const { connection, peer } = await connect(options);
    peer.send(frames.settings(settings));
    await connection.whenReady();
    return { connection, peer };
  }

  function respond(peer: RawPeer, streamId: number, endStream = true): void {
    peer.send(frames.headers(streamId, peer.encodeHeaders([':status', '200', 'grpc-status', '0']), { endStream }));
  }

  it("is ready (event and promise) once the server's SETTINGS arrive", async () => {
    const { connection, peer } = await connect();
    let ready = false;
    connection.on('ready', () => (ready = true));
    expect(connection.isReady).to.equal(false);
    peer.send(frames.settings());
    await connection.whenReady();
    expect(ready).to.equal(true);
    expect(connection.isReady).to.equal(true);
  });

  it('a first frame other than SETTINGS is a connection error PROTOCOL_ERROR; whenReady() rejects', async () => {
    const { connection, peer } = await connect();
    peer.send(frames.ping());
    await peer.expectGoAway(ErrorCode.PROTOCOL_ERROR);
    expect((await rejection(connection.whenReady())).message).to.match(/before the handshake/);
  });

  it('a server that never sends SETTINGS is dropped after the handshake timeout', async () => {
    const { connection } = await connect({ lifecycle: { handshakeTimeoutMs: 100 } });
    expect((await rejection(connection.whenReady())).message).to.match(/before the handshake/);
    expect(connection.isClosed).to.equal(true);
  });

  it("requests beyond the peer's SETTINGS_MAX_CONCURRENT_STREAMS wait for a slot instead of being refused", async () => {
    const { connection, peer } = await handshake([{ id: SettingId.MAX_CONCURRENT_STREAMS, value: 2 }]);
    const requests = Array.from({ length: 5 }, () => new Request());
    for (const request of requests) connection.openStream(request);
    expect(requests.map((request) => request.stream?.id ?? null)).to.deep.equal([1, 3, null, null, null]);
    expect(connection.waitingStreamRequests).to.equal(3);
    // A stream closing frees a slot for the next waiting request.
    respond(peer, 1);
    await eventually(() => requests[2].stream !== null);
    expect(requests[2].stream!.id).to.equal(5);
    expect(requests[3].stream).to.equal(null);
    // A withdrawn request is skipped; the peer raising its limit wakes the rest.
    expect(connection.cancelStreamRequest(requests[3])).to.equal(true);
    peer.send(frames.settings([{ id: SettingId.MAX_CONCURRENT_STREAMS, value: 10 }]));
    await eventually(() => requests[4].stream !== null);
    expect(requests[4].stream!.id).to.equal(7);
    expect(requests[3].stream).to.equal(null);
    const heads = [];
    for (let index = 0; index < 4; index++) heads.push((await peer.expectFrame(FrameType.HEADERS)).streamId);
    expect(heads).to.deep.equal([1, 3, 5, 7]);
  });

  it('GOAWAY: streams above its last stream id are reported unprocessed, waiting requests fail unprocessed, lower ones go on', async () => {
    const { connection, peer } = await handshake([{ id: SettingId.MAX_CONCURRENT_STREAMS, value: 3 }]);
    const requests = Array.from({ length: 4 }, () => new Request());
    for (const request of requests) connection.openStream(request);
    let draining = 0;
    connection.on('draining', () => draining++);
    peer.send(frames.goAway(1, ErrorCode.NO_ERROR));
    await eventually(() => requests[3].failed !== null && requests[2].reset !== null);
    expect(draining).to.equal(1);
    for (const request of [requests[1], requests[2]]) {
      expect(request.reset!.code).to.equal(ErrorCode.REFUSED_STREAM);
      expect(isUnprocessedReset(request.reset!.code, request.reset!.initiator)).to.equal(true);
    }
    expect(requests[3].failed!.unprocessed).to.equal(true);
    expect(connection.isDraining).to.equal(true);
    // A later GOAWAY may lower the id (stream 1 is then unprocessed too)...
    peer.send(frames.goAway(0, ErrorCode.NO_ERROR));
    await eventually(() => requests[0].reset !== null);
    expect(isUnprocessedReset(requests[0].reset!.code, requests[0].reset!.initiator)).to.equal(true);
    const late = new Request();
    connection.openStream(late);
    expect(late.failed!.unprocessed).to.equal(true);
  });

  it('a GOAWAY that raises the last stream id is a connection error PROTOCOL_ERROR', async () => {
    const { connection, peer } = await handshake();
    const request = new Request();
    connection.openStream(request);
    peer.send(frames.goAway(1, ErrorCode.NO_ERROR));
    peer.send(frames.goAway(5, ErrorCode.NO_ERROR));
    await peer.expectGoAway(ErrorCode.PROTOCOL_ERROR);
  });

  it('a stream below the GOAWAY id completes normally', async () => {
    const { connection, peer } = await handshake();
    const request = new Request();
    connection.openStream(request);
    peer.send(frames.goAway(1, ErrorCode.NO_ERROR));
    respond(peer, 1);
    await eventually(() => request.ended);
    expect(request.reset).to.equal(null);
    await once(connection, 'close');
  });

  it('running out of stream ids drains the connection: the owner is told, later requests fail unprocessed', async () => {
    const { connection } = await handshake();
    connection.registry.nextLocalStreamId = 2 ** 31 - 1;
    let draining = false;
    connection.on('draining', () => (draining = true));
    const last = new Request();
    connection.openStream(last);
    expect(last.stream!.id).to.equal(2 ** 31 - 1);
    expect(draining).to.equal(true);
    const next = new Request();
    connection.openStream(next);
    expect(next.failed!.unprocessed).to.equal(true);
  });

  it('keepalive: PINGs after keepalive time with a call open, and closes when the ACK does not come', async () => {
    const { connection, peer } = await handshake([], { lifecycle: { keepaliveTimeMs: 50, keepaliveTimeoutMs: 100 } });
    const request = new Request();
    connection.openStream(request);
    await peer.expectFrame(FrameType.PING, (frame) => !frame.ack);
    await once(connection, 'close');
    expect(request.reset).to.not.equal(null);
  });

  it('keepalive with permit_without_calls pings an idle connection and stays up while ACKed', async () => {
    const { connection, peer } = await handshake([], { lifecycle: { keepaliveTimeMs: 30, keepaliveTimeoutMs: 1000, permitPingsWithoutCalls: true } });
    for (let index = 0; index < 2; index++) {
      const ping = await peer.expectFrame(FrameType.PING, (frame) => !frame.ack);
      peer.send(frames.ping(ping.data, true));
    }
    expect(connection.isClosed).to.equal(false);
  });

  it('ping(timeout) matches its ACK by payload and rejects with PingTimeoutError without one', async () => {
    const { connection, peer } = await handshake();
    const answered = connection.ping(1000);
    const frame = await peer.expectFrame(FrameType.PING, (ping) => !ping.ack);
    peer.send(frames.ping(Buffer.from('not-mine'), true)); // an ACK for some other PING is ignored
    peer.send(frames.ping(frame.data, true));
    expect(await answered).to.be.a('number');
    expect(await rejection(connection.ping(50))).to.be.instanceOf(PingTimeoutError);
  });

  for (const which of ['response headers', 'trailers'] as const) {
    it(`${which} cut short by our SETTINGS_MAX_HEADER_LIST_SIZE are a stream error PROTOCOL_ERROR`, async () => {
      const { connection, peer } = await handshake([], { settings: { maxHeaderListSize: 1024 } });
      const request = new Request();
      connection.openStream(request);
      const big = ['x-big', 'v'.repeat(2000)];
      if (which === 'trailers') {
        respond(peer, 1, false);
        peer.send(frames.headers(1, peer.encodeHeaders(['grpc-status', '0', ...big]), { endStream: true }));
      } else {
        peer.send(frames.headers(1, peer.encodeHeaders([':status', '200', ...big]), { endStream: false }));
      }
      await peer.expectRstStream(1, ErrorCode.PROTOCOL_ERROR);
      await eventually(() => request.reset !== null);
      expect(request.reset).to.deep.equal({ code: ErrorCode.PROTOCOL_ERROR, initiator: 'library' });
      expect(request.ended).to.equal(false);
      // The connection stays usable.
      const next = new Request();
      connection.openStream(next);
      respond(peer, 3);
      await eventually(() => next.ended);
    });
  }
});
