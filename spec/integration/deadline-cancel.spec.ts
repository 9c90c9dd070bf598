import { expect } from 'chai';
import { once } from 'node:events';
import { Server, ServerUnaryCall, type ServerDuplexStream } from '../../lib';
import { echoImplementation, loadEchoService } from '../../examples/echo-service';
import { expectError, grpc, grpcJsEchoClient, unary, type EchoClient } from '../support/echo-client';
import { eventually } from '../support/waiting';

describe('integration: deadlines and cancellation', () => {
  let server: Server;
  let client: EchoClient;
  const unaryCalls: ServerUnaryCall[] = [];
  const cancelledCalls: string[] = [];
  const bidiCalls: ServerDuplexStream[] = [];
  let bidiCancelled = 0;

  before(async () => {
    // Room for 1000 concurrent streams on one connection, so all of them are in flight at once.
    server = new Server({ transport: { settings: { maxConcurrentStreams: 2000 } } });
    server.addService(loadEchoService(), {
      ...echoImplementation,
      // Never answers: only the deadline or a cancellation ends these calls.
      UnaryEcho(call: ServerUnaryCall) {
        unaryCalls.push(call);
        call.on('cancelled', () => cancelledCalls.push((call.request as { message: string }).message));
      },
      BidirectionalStreamingEcho(call: ServerDuplexStream) {
        bidiCalls.push(call);
        call.on('cancelled', () => bidiCancelled++);
        call.on('data', (request) => call.write(request));
      },
    });
    const port = await server.listen(0);
    client = grpcJsEchoClient(port);
  });
  after(() => {
    client.close();
    server.forceShutdown();
  });

  it('a handler that never answers ends with DEADLINE_EXCEEDED after 100 ms and sees the cancellation', async () => {
    const started = Date.now();
    const error = await expectError(unary(client, 'slow', new grpc.Metadata(), { deadline: Date.now() + 100 }));
    expect(error.code).to.equal(grpc.status.DEADLINE_EXCEEDED);
    expect(Date.now() - started).to.be.at.least(90);
    await eventually(() => cancelledCalls.includes('slow'));
    const call = unaryCalls.find((candidate) => (candidate.request as { message: string }).message === 'slow')!;
    expect(call.cancelled).to.equal(true);
    expect((call as unknown as { signal: AbortSignal }).signal.aborted).to.equal(true);
    expect(call.getDeadline()).to.be.instanceOf(Date);
    // Nothing left behind: no stream in the transport, no timer keeping the call alive.
    await eventually(() => server.stats.streams === 0);
    expect(server.stats.queuedBytes).to.equal(0);
    const timers = (process as unknown as { getActiveResourcesInfo(): string[] }).getActiveResourcesInfo().filter((name) => name === 'Timeout');
    expect(timers.length).to.be.at.most(2, `timers still active: ${timers.length}`);
  });

  it('a client cancel reaches the handler as a cancellation', async () => {
    const call = client.UnaryEcho({ message: 'to-cancel' }, () => {});
    await eventually(() => unaryCalls.some((candidate) => (candidate.request as { message: string }).message === 'to-cancel'));
    call.cancel();
    await eventually(() => cancelledCalls.includes('to-cancel'));
    await eventually(() => server.stats.streams === 0);
  });

  it('cancelling 1000 in-flight streaming calls leaves zero streams and zero queued bytes', async () => {
    bidiCalls.length = 0;
    bidiCancelled = 0;
    const calls = Array.from({ length: 1000 }, (_, index) => {
      const call = client.BidirectionalStreamingEcho();
      call.on('error', () => {});
      call.on('data', () => {});
      call.write({ message: `m${index}` });
      return call;
    });
    await eventually(() => bidiCalls.length === 1000);
    for (const call of calls) call.cancel();
    await eventually(() => bidiCancelled === 1000);
    await eventually(() => server.stats.streams === 0);
    expect(server.stats.queuedBytes).to.equal(0);
    expect(bidiCalls.every((call) => call.cancelled)).to.equal(true);
    // The connection is still good.
    expect(await unary(client, 'after', new grpc.Metadata(), { deadline: Date.now() + 50 }).catch((error) => error.code)).to.equal(
      grpc.status.DEADLINE_EXCEEDED,
    );
  });
});

describe('integration: writes after cancellation', () => {
  it('a server stream cancelled by the client stops writing and frees its queued bytes', async () => {
    const server = new Server();
    let cancelled: Promise<unknown> = Promise.resolve();
    server.addService(loadEchoService(), {
      ...echoImplementation,
      ServerStreamingEcho(call) {
        cancelled = once(call, 'cancelled');
        const write = () => {
          while (!call.cancelled && call.write({ message: 'z'.repeat(1024) }));
          if (!call.cancelled) call.once('drain', write);
        };
        write();
      },
    });
    const port = await server.listen(0);
    const client = grpcJsEchoClient(port);
    try {
      const stream = client.ServerStreamingEcho({ message: '' });
      stream.on('error', () => {});
      await once(stream, 'data');
      stream.cancel();
      await cancelled;
      await eventually(() => server.stats.streams === 0 && server.stats.queuedBytes === 0);
    } finally {
      client.close();
      server.forceShutdown();
    }
  });
});
