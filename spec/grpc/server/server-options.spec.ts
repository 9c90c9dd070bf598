/**
 * The Server's connection options (grpc-js names where grpc-js has them): each reaches the
 * transport and has its effect on the wire.
 */
import { expect } from 'chai';
import { Server } from '../../../lib';
import { ErrorCode } from '../../../lib/transport/errors';
import { FrameType } from '../../../lib/transport/frame/frame-type';
import { SettingId } from '../../../lib/transport/settings';
import { frames } from '../../support/frames';
import { RawPeer } from '../../support/raw-peer';
import { grpcRequestHeaders } from '../../support/echo-request';
import { startEchoServer } from '../../support/echo-server';
import type { ServerOptions } from '../../../lib';

describe('Server connection options', () => {
  let server: Server | undefined;
  const peers: RawPeer[] = [];

  afterEach(() => {
    for (const peer of peers.splice(0)) peer.destroy();
    server?.forceShutdown();
    server = undefined;
  });

  async function connect(options: ServerOptions): Promise<RawPeer> {
    const started = await startEchoServer({}, options);
    server = started.server;
    return open(started.port);
  }

  async function open(port: number): Promise<RawPeer> {
    const peer = await RawPeer.connect(port);
    peers.push(peer);
    peer.sendPreface();
    return peer;
  }

  it("'grpc.max_concurrent_streams' is advertised in SETTINGS", async () => {
    const peer = await connect({ 'grpc.max_concurrent_streams': 7 });
    const settings = await peer.expectFrame(FrameType.SETTINGS, (frame) => !frame.ack);
    expect(settings.entries).to.deep.include({ id: SettingId.MAX_CONCURRENT_STREAMS, value: 7 });
  });

  it("'grpc.max_connection_idle_ms' drains an idle connection with GOAWAY", async () => {
    const peer = await connect({ 'grpc.max_connection_idle_ms': 100 });
    const goAway = await peer.expectGoAway(ErrorCode.NO_ERROR, 2000);
    expect(goAway.debugData.toString()).to.equal('max_idle');
  });

  it("'grpc.keepalive_time_ms' / 'grpc.keepalive_timeout_ms' ping and close a silent peer", async () => {
    const peer = await connect({ 'grpc.keepalive_time_ms': 100, 'grpc.keepalive_timeout_ms': 100 });
    await peer.expectFrame(FrameType.PING, (frame) => !frame.ack, 2000);
    await peer.closed(2000);
  });

  it("the ping policy options: 'grpc.keepalive_permit_without_calls' 1 and a 0 ms interval allow a burst of pings", async () => {
    const peer = await connect({ 'grpc.keepalive_permit_without_calls': 1, 'grpc.http2.min_ping_interval_without_data_ms': 0 });
    for (let index = 0; index < 10; index++) peer.send(frames.ping(Buffer.alloc(8, index)));
    for (let index = 0; index < 10; index++) await peer.expectFrame(FrameType.PING, (frame) => frame.ack);
  });

  it('by default the same burst gets GOAWAY ENHANCE_YOUR_CALM "too_many_pings"', async () => {
    const peer = await connect({});
    for (let index = 0; index < 10; index++) peer.send(frames.ping(Buffer.alloc(8, index)));
    const goAway = await peer.expectGoAway(ErrorCode.ENHANCE_YOUR_CALM);
    expect(goAway.debugData.toString()).to.equal('too_many_pings');
  });

  it("'h2grpc.max_connections' closes connections past the limit at once; the first keeps working", async () => {
    const started = await startEchoServer({}, { 'h2grpc.max_connections': 1 });
    server = started.server;
    const first = await open(started.port);
    await first.expectFrame(FrameType.SETTINGS, (frame) => !frame.ack);
    const second = await open(started.port);
    await second.closed();
    first.request(1);
    expect((await first.expectResponse(1)).grpcStatus).to.equal('0');
    expect(server.stats.connections).to.equal(1);
  });

  it("'h2grpc.admit_connection' decides per socket", async () => {
    const seen: string[] = [];
    const started = await startEchoServer(
      {},
      {
        'h2grpc.admit_connection': (socket) => {
          seen.push(String(socket.remoteAddress));
          return seen.length > 1;
        },
      },
    );
    server = started.server;
    const refused = await open(started.port);
    await refused.closed();
    const admitted = await open(started.port);
    admitted.request(1, grpcRequestHeaders());
    expect((await admitted.expectResponse(1)).grpcStatus).to.equal('0');
    expect(seen).to.deep.equal(['127.0.0.1', '127.0.0.1']);
  });
});
