/**
 * Server interceptors under hostile clients and misbehaving interceptors: a client that cancels
 * while an interceptor holds an event, interceptors that call `next` twice or never, hooks that
 * throw. Every call ends with a status, the process survives and the server goes on serving.
 */
import { expect } from 'chai';
import { ResponderBuilder, ServerInterceptingCall, ServerListenerBuilder, type Server, type ServerInterceptor } from '../../../lib';
import { eventually } from '../../support/waiting';
import { expectError, grpc, grpcJsEchoClient, unary, type EchoClient } from '../../support/echo-client';
import { startEchoServer } from '../../support/echo-server';

describe('server interceptors: hostile clients, misbehaving interceptors', () => {
  let server: Server | undefined;
  let client: EchoClient | undefined;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  beforeEach(() => {
    unhandled.length = 0;
    process.on('unhandledRejection', onUnhandled);
  });
  afterEach(() => {
    process.off('unhandledRejection', onUnhandled);
    client?.close();
    server?.forceShutdown();
    client = undefined;
    server = undefined;
  });

  async function serve(interceptor: ServerInterceptor): Promise<EchoClient> {
    const started = await startEchoServer({}, { interceptors: [interceptor] });
    server = started.server;
    client = grpcJsEchoClient(started.port);
    return client;
  }

  /** The next call passes (the interceptor lets it through), and nothing went unhandled. */
  async function serverGoesOn(echo: EchoClient): Promise<void> {
    expect(await unary(echo, 'after')).to.deep.equal({ message: 'after' });
    expect(unhandled).to.deep.equal([]);
  }

  it('a client that cancels while an interceptor holds the metadata; the interceptor passes it on later', async () => {
    const held: (() => void)[] = [];
    let calls = 0;
    const holding: ServerInterceptor = (_method, call) =>
      new ServerInterceptingCall(call, {
        start: (next) =>
          next(
            new ServerListenerBuilder().withOnReceiveMetadata((metadata, pass) => (calls++ === 0 ? held.push(() => pass(metadata)) : pass(metadata))).build(),
          ),
      });
    const echo = await serve(holding);
    const call = echo.UnaryEcho({ message: 'x' }, () => {});
    await eventually(() => held.length === 1);
    call.cancel();
    // The cancel reaches the server before the next call's request (one connection, in order).
    const next = unary(echo, 'after');
    expect(await next).to.deep.equal({ message: 'after' });
    held[0]();
    await serverGoesOn(echo);
  });

  for (const hook of ['metadata', 'message', 'halfClose', 'start', 'sendMetadata', 'sendMessage', 'sendStatus'] as const) {
    it(`an interceptor that calls next twice (${hook}): the call ends with a status, the server goes on`, async () => {
      const twice: ServerInterceptor = (_method, call) => {
        const listener = new ServerListenerBuilder();
        if (hook === 'metadata') listener.withOnReceiveMetadata((metadata, next) => (next(metadata), next(metadata)));
        if (hook === 'message') listener.withOnReceiveMessage((message, next) => (next(message), next(message)));
        if (hook === 'halfClose') listener.withOnReceiveHalfClose((next) => (next(), next()));
        const responder = new ResponderBuilder().withStart((next) => {
          next(listener.build());
          if (hook === 'start') next(listener.build());
        });
        if (hook === 'sendMetadata') responder.withSendMetadata((metadata, next) => (next(metadata), next(metadata)));
        if (hook === 'sendMessage') responder.withSendMessage((message, next) => (next(message), next(message)));
        if (hook === 'sendStatus') responder.withSendStatus((status, next) => (next(status), next(status)));
        return new ServerInterceptingCall(call, responder.build());
      };
      const echo = await serve(twice);
      const outcome = await unary(echo, 'x').then(
        () => grpc.status.OK,
        (error: grpc.ServiceError) => error.code,
      );
      expect(outcome).to.be.within(grpc.status.OK, grpc.status.UNAUTHENTICATED);
      expect(
        await unary(echo, 'after').then(
          () => 'ok',
          (error: grpc.ServiceError) => error.code,
        ),
      ).to.be.oneOf(['ok', grpc.status.INTERNAL]);
      expect(unhandled).to.deep.equal([]);
    });
  }

  it('an interceptor that never calls next: the call ends at its deadline', async () => {
    let calls = 0;
    const never: ServerInterceptor = (_method, call) =>
      calls++ === 0 ? new ServerInterceptingCall(call, { start: () => {} }) : new ServerInterceptingCall(call);
    const echo = await serve(never);
    const error = await expectError(
      new Promise((resolve, reject) =>
        echo.UnaryEcho({ message: 'x' }, { deadline: Date.now() + 200 }, (failure: grpc.ServiceError | null, value: unknown) =>
          failure ? reject(failure) : resolve(value),
        ),
      ),
    );
    expect(error.code).to.equal(grpc.status.DEADLINE_EXCEEDED);
    await serverGoesOn(echo);
  });

  it('hooks that throw (request message, half-close, response message): the call fails INTERNAL, the server goes on', async () => {
    for (const hook of ['message', 'halfClose', 'sendMessage'] as const) {
      let calls = 0;
      const throwing: ServerInterceptor = (_method, call) => {
        const bad = calls++ === 0;
        const listener = new ServerListenerBuilder();
        if (bad && hook === 'message')
          listener.withOnReceiveMessage(() => {
            throw new Error('hook bug');
          });
        if (bad && hook === 'halfClose')
          listener.withOnReceiveHalfClose(() => {
            throw new Error('hook bug');
          });
        const responder = new ResponderBuilder().withStart((next) => next(listener.build()));
        if (bad && hook === 'sendMessage')
          responder.withSendMessage(() => {
            throw new Error('hook bug');
          });
        return new ServerInterceptingCall(call, responder.build());
      };
      const echo = await serve(throwing);
      const error = await expectError(unary(echo, 'x'));
      expect(error.code, hook).to.equal(grpc.status.INTERNAL);
      await serverGoesOn(echo);
      client?.close();
      server?.forceShutdown();
    }
  });
});
