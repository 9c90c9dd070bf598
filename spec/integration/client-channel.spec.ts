import { expect } from 'chai';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConnectivityState, Metadata, Server, Status } from '../../lib';
import { FrameType } from '../../lib/transport/frame/frame-type';
import { type AnyClient, callFailure, EchoClient, ourEchoClient, startOurEchoServer, unaryCall } from '../support/client-peers';
import { echoImplementation } from '../../examples/echo-service';
import { frames } from '../support/frames';
import { RawPeer } from '../support/raw-peer';
import { eventually } from '../support/waiting';

const FAST_BACKOFF = { 'grpc.initial_reconnect_backoff_ms': 50, 'grpc.max_reconnect_backoff_ms': 200, 'h2grpc.min_connect_timeout_ms': 1000 };

describe('integration: our client channel (connections, GOAWAY, reconnects, keepalive)', () => {
  const clients: AnyClient[] = [];
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  function track(client: AnyClient): AnyClient {
    clients.push(client);
    return client;
  }

  it('connectivity: IDLE until asked, then CONNECTING and READY; watchConnectivityState reports changes', async () => {
    const peer = await startOurEchoServer();
    cleanups.push(() => peer.stop());
    const client = track(ourEchoClient(peer.port));
    const channel = client.getChannel();
    expect(channel.getConnectivityState(false)).to.equal(ConnectivityState.IDLE);
    const states: ConnectivityState[] = [];
    const watch = (state: ConnectivityState): void =>
      channel.watchConnectivityState(state, Date.now() + 5000, (error?: Error) => {
        if (error) return;
        const next = channel.getConnectivityState(false);
        states.push(next);
        if (next !== ConnectivityState.READY) watch(next);
      });
    watch(ConnectivityState.IDLE);
    expect(channel.getConnectivityState(true)).to.equal(ConnectivityState.CONNECTING);
    await eventually(() => states.includes(ConnectivityState.READY));
    expect(states[states.length - 1]).to.equal(ConnectivityState.READY);
    // A watch with the current state and a past deadline calls back with an error.
    const error = await new Promise<Error | undefined>((resolve) => channel.watchConnectivityState(ConnectivityState.READY, Date.now() - 1, resolve));
    expect(error).to.be.instanceOf(Error);
    client.close();
    expect(channel.getConnectivityState(false)).to.equal(ConnectivityState.SHUTDOWN);
    expect(() => client.UnaryEcho({ message: 'x' }, () => {})).to.throw(/shut down/);
  });

  it('a server GOAWAY during 200 calls in flight: every call completes (none lost), later calls use a new connection', async () => {
    let release: (() => void) | null = null;
    const gate = new Promise<void>((resolve) => (release = resolve));
    // The server ages its connections out: a graceful GOAWAY while calls are in flight.
    const server = new Server({ 'grpc.max_connection_age_ms': 300, 'grpc.max_concurrent_streams': 100 });
    server.addService(EchoClient.service, {
      ...echoImplementation,
      UnaryEcho(call: { request: { message: string } }, callback: (error: null, value: { message: string }) => void) {
        void gate.then(() => callback(null, { message: call.request.message }));
      },
    });
    const port = await server.listen(0);
    cleanups.push(() => server.forceShutdown());
    const client = track(ourEchoClient(port, FAST_BACKOFF));
    const calls = Array.from({ length: 200 }, (_, index) => unaryCall(client, `g${index}`));
    // 100 calls run on the first connection; the GOAWAY sends the 100 waiting ones to a new one.
    await eventually(() => server.stats.streams === 200);
    expect(server.stats.connections).to.equal(2);
    release!();
    const results = await Promise.all(calls);
    expect(results.every((result, index) => result.message === `g${index}`)).to.equal(true);
  });

  it('a restarted server: calls fail fast UNAVAILABLE while it is down, waitForReady calls succeed once it is back', async () => {
    const first = await startOurEchoServer();
    const port = first.port;
    const client = track(ourEchoClient(port, FAST_BACKOFF));
    expect((await unaryCall(client, 'before')).message).to.equal('before');
    await first.stop();
    await eventually(() => client.getChannel().getConnectivityState(true) === ConnectivityState.TRANSIENT_FAILURE);
    const failure = await callFailure(unaryCall(client, 'down'));
    expect(failure.code).to.equal(Status.UNAVAILABLE);
    const waiting = unaryCall(client, 'waited', new Metadata({ waitForReady: true }));
    const server = new Server();
    server.addService(EchoClient.service, echoImplementation);
    await server.listen(port);
    cleanups.push(() => server.forceShutdown());
    expect((await waiting).message).to.equal('waited');
    await new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 5000, (error?: Error) => (error ? reject(error) : resolve())));
  });

  it('waitForReady() fails at its deadline when nothing listens', async () => {
    const listener = net.createServer();
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const port = (listener.address() as net.AddressInfo).port;
    await new Promise((resolve) => listener.close(resolve));
    const client = track(ourEchoClient(port, FAST_BACKOFF));
    const error = await new Promise<Error | undefined>((resolve) => client.waitForReady(Date.now() + 300, resolve));
    expect(error).to.be.instanceOf(Error);
  });

  it('a server that stops answering PINGs: calls fail UNAVAILABLE within the keepalive timeout', async () => {
    const peers: RawPeer[] = [];
    const { server, port } = await RawPeer.listen((peer) => {
      peers.push(peer);
      peer.send(frames.settings());
    });
    cleanups.push(() => {
      for (const peer of peers) peer.destroy();
      return new Promise((resolve) => server.close(resolve));
    });
    const client = track(ourEchoClient(port, { ...FAST_BACKOFF, 'grpc.keepalive_time_ms': 100, 'grpc.keepalive_timeout_ms': 200 }));
    const started = Date.now();
    const error = await callFailure(unaryCall(client, 'never'));
    expect(error.code).to.equal(Status.UNAVAILABLE);
    expect(Date.now() - started).to.be.lessThan(2000);
    // The client did ping, and nothing answered.
    await peers[0].expectFrame(FrameType.PING, (frame) => !frame.ack);
  });

  it('a GOAWAY ENHANCE_YOUR_CALM "too_many_pings" doubles the keepalive interval for the next connection', async () => {
    const peers: RawPeer[] = [];
    const { server, port } = await RawPeer.listen((peer) => {
      peers.push(peer);
      peer.send(frames.settings());
    });
    cleanups.push(() => {
      for (const peer of peers) peer.destroy();
      return new Promise((resolve) => server.close(resolve));
    });
    const client = track(ourEchoClient(port, { ...FAST_BACKOFF, 'grpc.keepalive_time_ms': 1000, 'grpc.keepalive_permit_without_calls': 1 }));
    client.getChannel().getConnectivityState(true);
    await eventually(() => client.getChannel().getConnectivityState(false) === ConnectivityState.READY);
    peers[0].send(frames.goAway(0, 0xb, 'too_many_pings'));
    peers[0].destroy();
    await eventually(() => client.getChannel().getConnectivityState(true) === ConnectivityState.READY && peers.length === 2);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const subchannel = (client.getChannel() as any).subchannels[0];
    expect(subchannel.keepaliveTimeMs).to.equal(2000);
  });

  it('round_robin spreads calls over every address of an ipv4: list', async () => {
    const first = await startOurEchoServer();
    const second = await startOurEchoServer();
    cleanups.push(
      () => first.stop(),
      () => second.stop(),
    );
    const client = track(
      new EchoClient(`ipv4:127.0.0.1:${first.port},127.0.0.1:${second.port}`, (await import('../../lib')).credentials.createInsecure(), {
        'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
      }),
    );
    await new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 5000, (error?: Error) => (error ? reject(error) : resolve())));
    await eventually(() => client.getChannel().getConnectivityState(false) === ConnectivityState.READY);
    const peersSeen = new Set<string>();
    for (let index = 0; index < 20; index++) {
      await new Promise<void>((resolve, reject) => {
        const call = client.UnaryEcho({ message: 'rr' }, (error: Error | null) => (error ? reject(error) : resolve()));
        call.on('status', () => peersSeen.add(call.getPeer()));
      });
    }
    await eventually(() => peersSeen.size === 2, 5000);
  });

  it('unix: targets (relative path form and unix:///absolute)', async () => {
    const socketPath = path.join(os.tmpdir(), `h2grpc-client-${process.pid}-${Date.now()}.sock`);
    const server = new Server();
    server.addService(EchoClient.service, echoImplementation);
    const listener = net.createServer((socket) => server.accept(socket));
    await new Promise<void>((resolve) => listener.listen(socketPath, resolve));
    cleanups.push(
      () => server.forceShutdown(),
      () => new Promise((resolve) => listener.close(resolve)),
    );
    const { credentials } = await import('../../lib');
    for (const target of [`unix:${socketPath}`, `unix://${socketPath}`]) {
      const client = track(new EchoClient(target, credentials.createInsecure()));
      expect((await unaryCall(client, 'over unix')).message).to.equal('over unix');
    }
  });

  it('grpc.client_idle_timeout_ms: the channel goes IDLE without calls and reconnects for the next one', async () => {
    const peer = await startOurEchoServer();
    cleanups.push(() => peer.stop());
    const client = track(ourEchoClient(peer.port, { 'grpc.client_idle_timeout_ms': 100 }));
    expect((await unaryCall(client, 'one')).message).to.equal('one');
    expect(client.getChannel().getConnectivityState(false)).to.equal(ConnectivityState.READY);
    await new Promise<void>((resolve) => client.getChannel().watchConnectivityState(ConnectivityState.READY, Date.now() + 5000, () => resolve()));
    expect(client.getChannel().getConnectivityState(false)).to.equal(ConnectivityState.IDLE);
    expect((await unaryCall(client, 'two')).message).to.equal('two');
  });

  it('options that are not implemented throw when the client is created', () => {
    const { credentials } = require('../../lib') as typeof import('../../lib');
    expect(() => new EchoClient('127.0.0.1:1', credentials.createInsecure(), { interceptors: 'x' as never })).to.throw(/must be an array/);
    expect(() => new EchoClient('127.0.0.1:1', credentials.createInsecure(), { 'grpc.enable_retries': 1 })).to.throw(/retries/);
    expect(() => new EchoClient('127.0.0.1:1', credentials.createInsecure(), { 'grpc.http_proxy': 'x' })).to.throw(/not supported/);
    expect(() => new EchoClient('127.0.0.1:1', credentials.createInsecure(), { 'grpc.lb_policy_name': 'grpclb' })).to.throw(/not supported/);
  });
});
