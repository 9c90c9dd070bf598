/**
 * Shutdown as clients see it: the two-step GOAWAY on the wire, graceful shutdown under load with a
 * second server to move to, the drain deadline, and forceShutdown's RST_STREAM(CANCEL) + GOAWAY.
 */
import { expect } from 'chai';
import * as protoLoader from '@grpc/proto-loader';
import { Server, type ServerUnaryCall } from '../../lib';
import { ECHO_PROTO, echoImplementation, loadEchoService } from '../../examples/echo-service';
import { ErrorCode } from '../../lib/transport/errors';
import { FrameType } from '../../lib/transport/frame/frame-type';
import { frames } from '../support/frames';
import { RawPeer } from '../support/raw-peer';
import { grpcRequestHeaders } from '../support/echo-request';
import { type EchoClient, grpc, grpcJsEchoClient, unary } from '../support/echo-client';
import { eventually } from '../support/waiting';

/** A server whose UnaryEcho answers only when released (calls stay in flight). */
async function holdingServer(options = {}): Promise<{ server: Server; port: number; held: (() => void)[]; cancelled: number[] }> {
  const server = new Server(options);
  const held: (() => void)[] = [];
  const cancelled: number[] = [];
  server.addService(loadEchoService(), {
    ...echoImplementation,
    UnaryEcho(call: ServerUnaryCall<{ message: string }>, callback: (error: unknown, value?: unknown) => void) {
      call.on('cancelled', () => cancelled.push(1));
      held.push(() => callback(null, { message: call.request.message }));
    },
  });
  return { server, port: await server.listen(0), held, cancelled };
}

describe('integration: shutdown', () => {
  const cleanup: (() => void)[] = [];
  afterEach(() => {
    for (const step of cleanup.splice(0).reverse()) step();
  });

  /** A raw peer past its preface, destroyed after the spec. */
  async function connectRaw(port: number): Promise<RawPeer> {
    const peer = await RawPeer.connect(port);
    cleanup.push(() => peer.destroy());
    peer.sendPreface();
    return peer;
  }

  it('tryShutdown sends GOAWAY(2^31-1) + PING, still serves streams opened before the client saw it, then GOAWAY(last id)', async () => {
    const { server, port, held } = await holdingServer();
    cleanup.push(() => server.forceShutdown());
    const peer = await connectRaw(port);
    peer.request(1);
    await eventually(() => held.length === 1);
    let shutDown = false;
    server.tryShutdown(() => (shutDown = true));
    const headsUp = await peer.expectGoAway(ErrorCode.NO_ERROR);
    expect(headsUp.lastStreamId).to.equal(2 ** 31 - 1);
    const ping = await peer.expectFrame(FrameType.PING, (frame) => !frame.ack);
    // A request already on its way when the first GOAWAY left: still accepted.
    peer.request(3);
    await eventually(() => held.length === 2);
    peer.send(frames.ping(ping.data, true));
    const final = await peer.expectGoAway(ErrorCode.NO_ERROR);
    expect(final.lastStreamId).to.equal(3);
    // After the final GOAWAY new streams are refused; the accepted ones finish.
    peer.request(5);
    await peer.expectRstStream(5, ErrorCode.REFUSED_STREAM);
    for (const answer of held) answer();
    expect((await peer.expectResponse(1)).grpcStatus).to.equal('0');
    // The closing GOAWAY does not name the refused stream 5: last-stream-id never increases (RFC 9113 §6.8).
    const closing = await peer.expectGoAway(ErrorCode.NO_ERROR);
    expect(closing.lastStreamId).to.equal(3);
    await peer.closed();
    await eventually(() => shutDown);
  });

  it('under load, every call accepted before the final GOAWAY completes and new calls move to the other server', async () => {
    const first = new Server();
    const second = new Server();
    const served = [0, 0];
    for (const [index, server] of [first, second].entries()) {
      server.addService(loadEchoService(), {
        ...echoImplementation,
        UnaryEcho(call: ServerUnaryCall<{ message: string }>, callback: (error: unknown, value?: unknown) => void) {
          served[index]++;
          // A little work in flight, so calls are running when the GOAWAY comes.
          setImmediate(() => callback(null, { message: call.request.message }));
        },
      });
    }
    const ports = [await first.listen(0), await second.listen(0)];
    cleanup.push(
      () => first.forceShutdown(),
      () => second.forceShutdown(),
    );
    const definition = protoLoader.loadSync(ECHO_PROTO, { keepCase: true, defaults: true });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const Echo = (grpc.loadPackageDefinition(definition) as any).grpc.examples.echo.Echo;
    // pick_first over both addresses: the first server until it goes away, then the second.
    const client: EchoClient = new Echo(`ipv4:127.0.0.1:${ports[0]},127.0.0.1:${ports[1]}`, grpc.credentials.createInsecure());
    cleanup.push(() => client.close());

    const total = 2000;
    const inFlight = 20;
    let started = 0;
    let failures: string[] = [];
    let shutdownDone: Promise<void> | null = null;
    const worker = async () => {
      while (started < total) {
        const index = started++;
        if (index === total / 4) shutdownDone = new Promise((resolve) => first.tryShutdown(() => resolve()));
        try {
          const reply = await unary(client, `m${index}`, new grpc.Metadata(), { deadline: Date.now() + 10_000 });
          if (reply.message !== `m${index}`) failures.push(`m${index}: ${reply.message}`);
        } catch (error) {
          failures.push(`m${index}: ${(error as Error).message}`);
        }
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    failures = failures.slice(0, 5);
    expect(failures).to.deep.equal([]);
    expect(served[0]).to.be.at.least(total / 4 - inFlight);
    expect(served[1]).to.be.at.least(total / 2);
    expect(served[0] + served[1]).to.equal(total);
    await shutdownDone;
    expect(first.stats.connections).to.equal(0);
  });

  it("'h2grpc.drain_deadline_ms' closes what is still running when the deadline passes; those calls see CANCELLED", async () => {
    const { server, port, held, cancelled } = await holdingServer({ 'h2grpc.drain_deadline_ms': 200 });
    const client = grpcJsEchoClient(port);
    cleanup.push(
      () => client.close(),
      () => server.forceShutdown(),
    );
    const calls = Array.from({ length: 3 }, () =>
      unary(client, 'x').then(
        () => null,
        (error: grpc.ServiceError) => error,
      ),
    );
    await eventually(() => held.length === 3);
    const started = Date.now();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    expect(Date.now() - started).to.be.within(150, 5000);
    const errors = await Promise.all(calls);
    expect(errors.map((error) => error?.code)).to.deep.equal([grpc.status.CANCELLED, grpc.status.CANCELLED, grpc.status.CANCELLED]);
    expect(cancelled).to.have.length(3);
  });

  it('forceShutdown writes RST_STREAM(CANCEL) for each open stream and GOAWAY before closing', async () => {
    const { server, port, held } = await holdingServer();
    cleanup.push(() => server.forceShutdown());
    const peer = await connectRaw(port);
    peer.request(1);
    peer.openStream(3, grpcRequestHeaders('/grpc.examples.echo.Echo/BidirectionalStreamingEcho'));
    await eventually(() => held.length === 1 && server.stats.streams === 2);
    server.forceShutdown();
    await peer.expectRstStream(1, ErrorCode.CANCEL);
    await peer.expectRstStream(3, ErrorCode.CANCEL);
    const goAway = await peer.expectGoAway(ErrorCode.NO_ERROR);
    expect(goAway.debugData.toString()).to.equal('server shutdown');
    await peer.closed();
  });
});
