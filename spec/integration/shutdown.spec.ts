import { expect } from 'chai';
import { Server, type ServerUnaryCall } from '../../lib';
import { echoImplementation, loadEchoService } from '../../examples/echo-service';
import { grpc, grpcJsEchoClient, unary } from '../support/echo-client';
import { eventually } from '../support/waiting';

describe('integration: graceful and forced shutdown', () => {
  it('tryShutdown lets calls in flight finish, then calls back; the port is closed to new connections', async () => {
    const server = new Server();
    const waiting: (() => void)[] = [];
    server.addService(loadEchoService(), {
      ...echoImplementation,
      // Answers only when the test says so, so the calls are in flight during the shutdown.
      UnaryEcho(call: ServerUnaryCall<{ message: string }>, callback: (error: unknown, value?: unknown) => void) {
        waiting.push(() => callback(null, { message: call.request.message }));
      },
    });
    const port = await server.listen(0);
    const client = grpcJsEchoClient(port);
    try {
      const calls = Array.from({ length: 20 }, (_, index) => unary(client, `m${index}`));
      await eventually(() => waiting.length === 20);
      let shutDown = false;
      const done = new Promise<void>((resolve) =>
        server.tryShutdown(() => {
          shutDown = true;
          resolve();
        }),
      );
      // Still serving what it accepted.
      expect(shutDown).to.equal(false);
      for (const answer of waiting) answer();
      const results = await Promise.all(calls);
      expect(results.map((result) => result.message)).to.deep.equal(Array.from({ length: 20 }, (_, index) => `m${index}`));
      await done;
      expect(server.stats.connections).to.equal(0);
      // Nothing listens any more: a new client cannot get through.
      const late = grpcJsEchoClient(port, { 'grpc.use_local_subchannel_pool': 1 });
      const error = await unary(late, 'late', new grpc.Metadata(), { deadline: Date.now() + 500 }).then(
        () => null,
        (failure: grpc.ServiceError) => failure,
      );
      late.close();
      expect(error).to.not.equal(null);
      expect([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]).to.include(error!.code);
    } finally {
      client.close();
      server.forceShutdown();
    }
  });

  it('forceShutdown cancels calls in flight and closes every connection', async () => {
    const server = new Server();
    let cancelled = 0;
    server.addService(loadEchoService(), {
      ...echoImplementation,
      UnaryEcho(call: ServerUnaryCall) {
        call.on('cancelled', () => cancelled++);
      },
    });
    const port = await server.listen(0);
    const client = grpcJsEchoClient(port);
    try {
      const calls = Array.from({ length: 5 }, () =>
        unary(client, 'x').then(
          () => null,
          (error: grpc.ServiceError) => error.code,
        ),
      );
      await eventually(() => server.stats.streams === 5);
      server.forceShutdown();
      const codes = await Promise.all(calls);
      expect(codes.every((code) => code !== null)).to.equal(true);
      await eventually(() => cancelled === 5 && server.stats.connections === 0);
    } finally {
      client.close();
    }
  });
});
