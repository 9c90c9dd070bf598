/**
 * Server interceptors with grpc-js's API (the `interceptors` Server option), driven by a grpc-js
 * client: authentication, logging of every event on the four call kinds, rewriting, chaining
 * order, short-circuiting, asynchronous interceptors and cancellation.
 */
import { expect } from 'chai';
import { once } from 'node:events';
import {
  Metadata,
  ResponderBuilder,
  Server,
  ServerInterceptingCall,
  ServerListenerBuilder,
  Status,
  type ServerDuplexStream,
  type ServerInterceptor,
  type ServerOptions,
  type ServerUnaryCall,
  type UntypedServiceImplementation,
} from '../../../lib';
import { collect, eventually } from '../../support/waiting';
import { expectError, grpc, grpcJsEchoClient, unary, type EchoClient } from '../../support/echo-client';
import { startEchoServer } from '../../support/echo-server';

interface Echo {
  message: string;
}

const AUTH_KEY = 'authorization';
const AUTH_TOKEN = 'Bearer let-me-in';

/** grpc-node's interceptor example: a call without the token is answered UNAUTHENTICATED, before the handler. */
const authInterceptor: ServerInterceptor = (_method, call) => {
  const listener = new ServerListenerBuilder()
    .withOnReceiveMetadata((metadata, next) => {
      if (metadata.get(AUTH_KEY)[0] === AUTH_TOKEN) next(metadata);
      else call.sendStatus({ code: Status.UNAUTHENTICATED, details: 'missing or wrong token' });
    })
    .build();
  return new ServerInterceptingCall(call, new ResponderBuilder().withStart((next) => next(listener)).build());
};

/** Records every event it sees, with `name` in front. */
function loggingInterceptor(name: string, log: string[]): ServerInterceptor {
  return (method, call) =>
    new ServerInterceptingCall(call, {
      start: (next) => {
        log.push(`${name}:start ${method.path.split('/')[2]}`);
        next({
          onReceiveMetadata: (metadata, mdNext) => {
            log.push(`${name}:receiveMetadata`);
            mdNext(metadata);
          },
          onReceiveMessage: (message: Echo, messageNext) => {
            log.push(`${name}:receiveMessage ${message.message}`);
            messageNext(message);
          },
          onReceiveHalfClose: (next) => {
            log.push(`${name}:receiveHalfClose`);
            next();
          },
          onCancel: () => log.push(`${name}:cancel`),
        });
      },
      sendMetadata: (metadata, next) => {
        log.push(`${name}:sendMetadata`);
        next(metadata);
      },
      sendMessage: (message: Echo, next) => {
        log.push(`${name}:sendMessage ${message.message}`);
        next(message);
      },
      sendStatus: (status, next) => {
        log.push(`${name}:sendStatus ${status.code} ${status.details}`);
        next(status);
      },
    });
}

function authorized(): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set(AUTH_KEY, AUTH_TOKEN);
  return metadata;
}

/** Resolves with the status a streaming client call ends with (and its messages). */
function finished<T>(call: grpc.ClientReadableStream<T> | grpc.ClientDuplexStream<unknown, T>): Promise<{ status: grpc.StatusObject; messages: T[] }> {
  const messages: T[] = [];
  call.on('data', (message: T) => messages.push(message));
  call.on('error', () => {});
  return new Promise((resolve) => call.on('status', (status: grpc.StatusObject) => resolve({ status, messages })));
}

describe('server interceptors', () => {
  let server: Server | undefined;
  let client: EchoClient | undefined;
  afterEach(() => {
    client?.close();
    server?.forceShutdown();
    client = undefined;
    server = undefined;
  });

  async function serve(options: ServerOptions, overrides: UntypedServiceImplementation = {}): Promise<EchoClient> {
    const started = await startEchoServer(overrides, options);
    server = started.server;
    client = grpcJsEchoClient(started.port);
    return client;
  }

  describe('authentication (grpc-node interceptors example)', () => {
    let handled: string[];
    beforeEach(() => (handled = []));
    const overrides: UntypedServiceImplementation = {
      UnaryEcho(call: ServerUnaryCall<Echo>, callback) {
        handled.push(String(call.metadata.get(AUTH_KEY)[0]));
        callback(null, { message: call.request.message });
      },
    };

    it('rejects a call without the token with UNAUTHENTICATED; the handler never runs', async () => {
      const echo = await serve({ interceptors: [authInterceptor] }, overrides);
      const error = await expectError(unary(echo, 'hello'));
      expect(error.code).to.equal(grpc.status.UNAUTHENTICATED);
      expect(error.details).to.equal('missing or wrong token');
      const wrong = new grpc.Metadata();
      wrong.set(AUTH_KEY, 'Bearer guess');
      expect((await expectError(unary(echo, 'hello', wrong))).code).to.equal(grpc.status.UNAUTHENTICATED);
      expect(handled).to.deep.equal([]);
    });

    it('passes a call with the token to the handler', async () => {
      const echo = await serve({ interceptors: [authInterceptor] }, overrides);
      expect(await unary(echo, 'hello', authorized())).to.deep.equal({ message: 'hello' });
      expect(handled).to.deep.equal([AUTH_TOKEN]);
    });

    it('rejects streaming calls before their handlers too', async () => {
      const echo = await serve({ interceptors: [authInterceptor] }, { BidirectionalStreamingEcho: () => handled.push('bidi') });
      const call = echo.BidirectionalStreamingEcho();
      const done = finished(call);
      call.write({ message: 'a' });
      const { status } = await done;
      expect(status.code).to.equal(grpc.status.UNAUTHENTICATED);
      expect(handled).to.deep.equal([]);
    });

    it('a rejected call is not seen by the interceptors after it (grpc-js: the first interceptor is outermost)', async () => {
      const log: string[] = [];
      const echo = await serve({ interceptors: [authInterceptor, loggingInterceptor('log', log)] }, overrides);
      expect((await expectError(unary(echo, 'no'))).code).to.equal(grpc.status.UNAUTHENTICATED);
      // Started (start runs from the handler side inwards, before any event), and told of the end
      // (onCancel follows every status, as in grpc-js), but no event of the call reached it.
      await eventually(() => log.length === 2);
      expect(log).to.deep.equal(['log:start UnaryEcho', 'log:cancel']);
      expect(await unary(echo, 'yes', authorized())).to.deep.equal({ message: 'yes' });
      expect(log).to.include('log:receiveMetadata');
    });
  });

  describe('a logging interceptor sees every event, in order', () => {
    let log: string[];
    beforeEach(() => (log = []));

    /** Waits for the interceptor's onCancel (grpc-js reports the end of every call there, a tick after the status). */
    const ended = () => eventually(() => log.includes('log:cancel'));

    it('unary', async () => {
      const echo = await serve({ interceptors: [loggingInterceptor('log', log)] });
      expect(await unary(echo, 'u')).to.deep.equal({ message: 'u' });
      await ended();
      expect(log).to.deep.equal([
        'log:start UnaryEcho',
        'log:receiveMetadata',
        'log:receiveMessage u',
        'log:receiveHalfClose',
        'log:sendMetadata',
        'log:sendMessage u',
        'log:sendStatus 0 OK',
        'log:cancel',
      ]);
    });

    it('client streaming', async () => {
      const echo = await serve({ interceptors: [loggingInterceptor('log', log)] });
      const response = await new Promise<Echo>((resolve, reject) => {
        const call = echo.ClientStreamingEcho((error: Error | null, value: Echo) => (error ? reject(error) : resolve(value)));
        for (const message of ['a', 'b', 'c']) call.write({ message });
        call.end();
      });
      expect(response.message).to.equal('a,b,c');
      await ended();
      expect(log).to.deep.equal([
        'log:start ClientStreamingEcho',
        'log:receiveMetadata',
        'log:receiveMessage a',
        'log:receiveMessage b',
        'log:receiveMessage c',
        'log:receiveHalfClose',
        'log:sendMetadata',
        'log:sendMessage a,b,c',
        'log:sendStatus 0 OK',
        'log:cancel',
      ]);
    });

    it('server streaming', async () => {
      const echo = await serve({ interceptors: [loggingInterceptor('log', log)] });
      const { status, messages } = await finished<Echo>(echo.ServerStreamingEcho({ message: 'repeat:3:s' }));
      expect(status.code).to.equal(grpc.status.OK);
      expect(messages.map((message) => message.message)).to.deep.equal(['s', 's', 's']);
      await ended();
      expect(log).to.deep.equal([
        'log:start ServerStreamingEcho',
        'log:receiveMetadata',
        'log:receiveMessage repeat:3:s',
        'log:receiveHalfClose',
        'log:sendMetadata',
        'log:sendMessage s',
        'log:sendMessage s',
        'log:sendMessage s',
        'log:sendStatus 0 OK',
        'log:cancel',
      ]);
    });

    it('bidi streaming', async () => {
      const echo = await serve({ interceptors: [loggingInterceptor('log', log)] });
      const call = echo.BidirectionalStreamingEcho();
      const done = finished<Echo>(call);
      for (const message of ['x', 'y']) call.write({ message });
      call.end();
      const { status, messages } = await done;
      expect(status.code).to.equal(grpc.status.OK);
      expect(messages.map((message) => message.message)).to.deep.equal(['x', 'y']);
      await ended();
      // Each direction in order; the handler answers each message after it has passed the interceptor.
      expect(log.filter((line) => line.includes(':receive'))).to.deep.equal([
        'log:receiveMetadata',
        'log:receiveMessage x',
        'log:receiveMessage y',
        'log:receiveHalfClose',
      ]);
      expect(log.filter((line) => line.includes(':send'))).to.deep.equal(['log:sendMetadata', 'log:sendMessage x', 'log:sendMessage y', 'log:sendStatus 0 OK']);
      expect(log[0]).to.equal('log:start BidirectionalStreamingEcho');
      expect(log.indexOf('log:receiveMessage x')).to.be.lessThan(log.indexOf('log:sendMessage x'));
      expect(log.indexOf('log:receiveHalfClose')).to.be.lessThan(log.indexOf('log:sendStatus 0 OK'));
      expect(log.at(-1)).to.equal('log:cancel');
    });

    it('two interceptors: the first hears the client first and the handler last', async () => {
      const echo = await serve({ interceptors: [loggingInterceptor('outer', log), loggingInterceptor('inner', log)] });
      await unary(echo, 'o');
      await eventually(() => log.includes('inner:cancel') && log.includes('outer:cancel'));
      expect(log).to.deep.equal([
        // start runs from the handler side inwards, as grpc-js's chain does.
        'inner:start UnaryEcho',
        'outer:start UnaryEcho',
        'outer:receiveMetadata',
        'inner:receiveMetadata',
        'outer:receiveMessage o',
        'inner:receiveMessage o',
        'outer:receiveHalfClose',
        'inner:receiveHalfClose',
        'inner:sendMetadata',
        'outer:sendMetadata',
        'inner:sendMessage o',
        'outer:sendMessage o',
        'inner:sendStatus 0 OK',
        'outer:sendStatus 0 OK',
        'outer:cancel',
        'inner:cancel',
      ]);
    });
  });

  describe('rewriting', () => {
    /** Adds request metadata, renames the response metadata, uppercases messages both ways and rewrites errors. */
    const rewriter: ServerInterceptor = (_method, call) =>
      new ServerInterceptingCall(call, {
        start: (next) =>
          next({
            onReceiveMetadata: (metadata, mdNext) => {
              metadata.set('x-injected', 'by-interceptor');
              mdNext(metadata);
            },
            onReceiveMessage: (message: Echo, messageNext) => messageNext({ message: `in(${message.message})` }),
          }),
        sendMetadata: (metadata, next) => {
          const rewritten = new Metadata();
          rewritten.set('x-response', `rewritten-${String(metadata.get('x-handler')[0] ?? 'none')}`);
          next(rewritten);
        },
        sendMessage: (message: Echo, next) => next({ message: `out(${message.message})` }),
        sendStatus: (status, next) => {
          if (status.code === Status.NOT_FOUND) {
            const metadata = status.metadata ?? new Metadata();
            metadata.set('x-rewritten', 'yes');
            next({ code: Status.FAILED_PRECONDITION, details: `was: ${status.details}`, metadata });
          } else {
            next(status);
          }
        },
      });

    const handlers: UntypedServiceImplementation = {
      UnaryEcho(call: ServerUnaryCall<Echo>, callback) {
        if (call.request.message === 'in(missing)') {
          callback({ code: Status.NOT_FOUND, details: 'no such thing' });
          return;
        }
        const metadata = new Metadata();
        metadata.set('x-handler', 'meta');
        call.sendMetadata(metadata);
        callback(null, { message: `${call.request.message} ${String(call.metadata.get('x-injected')[0])}` });
      },
    };

    it('rewrites request metadata and messages, response metadata and messages', async () => {
      const echo = await serve({ interceptors: [rewriter] }, handlers);
      const headers = new Promise<grpc.Metadata>((resolve) => {
        const call = echo.UnaryEcho({ message: 'hi' }, () => {});
        call.on('metadata', resolve);
      });
      expect(await unary(echo, 'hi')).to.deep.equal({ message: 'out(in(hi) by-interceptor)' });
      expect((await headers).get('x-response')).to.deep.equal(['rewritten-meta']);
    });

    it('rewrites the status (code, details and trailers)', async () => {
      const echo = await serve({ interceptors: [rewriter] }, handlers);
      const error = await expectError(unary(echo, 'missing'));
      expect(error.code).to.equal(grpc.status.FAILED_PRECONDITION);
      expect(error.details).to.equal('was: no such thing');
      expect(error.metadata.get('x-rewritten')).to.deep.equal(['yes']);
    });

    it('rewrites messages of a bidi call, both ways, in order', async () => {
      const echo = await serve({ interceptors: [rewriter] });
      const call = echo.BidirectionalStreamingEcho();
      const done = finished<Echo>(call);
      for (const message of ['1', '2', '3']) call.write({ message });
      call.end();
      const { status, messages } = await done;
      expect(status.code).to.equal(grpc.status.OK);
      expect(messages.map((message) => message.message)).to.deep.equal(['out(in(1))', 'out(in(2))', 'out(in(3))']);
    });
  });

  describe('asynchronous interceptors', () => {
    /** Passes everything on after a timer: the call must keep its order and complete. */
    const slow: ServerInterceptor = (_method, call) => {
      const later = (next: () => void) => setTimeout(next, 5);
      return new ServerInterceptingCall(call, {
        start: (next) =>
          later(() =>
            next({
              onReceiveMetadata: (metadata, mdNext) => later(() => mdNext(metadata)),
              onReceiveMessage: (message, messageNext) => later(() => messageNext(message)),
              onReceiveHalfClose: (hcNext) => later(hcNext),
            }),
          ),
        sendMetadata: (metadata, next) => later(() => next(metadata)),
        sendMessage: (message, next) => later(() => next(message)),
        sendStatus: (status, next) => later(() => next(status)),
      });
    };

    it('a unary call completes through deferred hooks', async () => {
      const echo = await serve({ interceptors: [slow, authInterceptor, slow] });
      expect(await unary(echo, 'later', authorized())).to.deep.equal({ message: 'later' });
      expect((await expectError(unary(echo, 'later'))).code).to.equal(grpc.status.UNAUTHENTICATED);
    });

    it('client-streaming, server-streaming and bidi calls keep their messages in order', async () => {
      const echo = await serve({ interceptors: [slow] });
      const sum = await new Promise<Echo>((resolve, reject) => {
        const call = echo.ClientStreamingEcho((error: Error | null, value: Echo) => (error ? reject(error) : resolve(value)));
        for (let index = 0; index < 20; index++) call.write({ message: String(index) });
        call.end();
      });
      expect(sum.message).to.equal(Array.from({ length: 20 }, (_, index) => index).join(','));
      const listed = await collect<Echo>(echo.ServerStreamingEcho({ message: 'repeat:20:r' }));
      expect(listed).to.have.length(20);
      const call = echo.BidirectionalStreamingEcho();
      const done = collect<Echo>(call);
      for (let index = 0; index < 20; index++) call.write({ message: String(index) });
      call.end();
      expect((await done).map((message) => message.message)).to.deep.equal(Array.from({ length: 20 }, (_, index) => String(index)));
    });
  });

  describe('the end of a call', () => {
    it('a client cancel reaches the interceptor (onCancel) and the handler (cancelled)', async () => {
      const log: string[] = [];
      let handlerCancelled: Promise<unknown> = new Promise(() => {});
      let started!: () => void;
      const running = new Promise<void>((resolve) => (started = resolve));
      const echo = await serve(
        { interceptors: [loggingInterceptor('log', log)] },
        {
          BidirectionalStreamingEcho(call: ServerDuplexStream<Echo>) {
            handlerCancelled = once(call, 'cancelled');
            call.on('data', () => started());
          },
        },
      );
      const call = echo.BidirectionalStreamingEcho();
      call.on('error', () => {});
      call.write({ message: 'c' });
      await running;
      call.cancel();
      await handlerCancelled;
      await eventually(() => log.includes('log:cancel'));
      expect(log.filter((line) => line.startsWith('log:send'))).to.deep.equal([]);
    });

    it('an interceptor that throws fails its call with INTERNAL; the server goes on', async () => {
      let calls = 0;
      const throwing: ServerInterceptor = (_method, call) => {
        if (calls++ === 0) throw new Error('interceptor bug');
        return new ServerInterceptingCall(call);
      };
      const echo = await serve({ interceptors: [throwing] });
      const error = await expectError(unary(echo, 'x'));
      expect(error.code).to.equal(grpc.status.INTERNAL);
      expect(error.details).to.include('interceptor bug');
      expect(await unary(echo, 'y')).to.deep.equal({ message: 'y' });
    });
  });

  describe('call details', () => {
    it('the intercepting call exposes the peer, deadline, host, connection info and metrics recorder', async () => {
      const seen: Record<string, unknown> = {};
      const examiner: ServerInterceptor = (method, call) => {
        seen.path = method.path;
        seen.kind = [method.requestStream, method.responseStream];
        seen.peer = call.getPeer();
        seen.deadline = call.getDeadline();
        seen.host = call.getHost();
        seen.connection = call.getConnectionInfo();
        seen.auth = call.getAuthContext();
        call.getMetricsRecorder().recordCPUUtilizationMetric(0.5);
        return new ServerInterceptingCall(call);
      };
      const echo = await serve({ interceptors: [examiner] });
      await unary(echo, 'd', new grpc.Metadata(), { deadline: Date.now() + 10_000 });
      expect(seen.path).to.equal('/grpc.examples.echo.Echo/UnaryEcho');
      expect(seen.kind).to.deep.equal([false, false]);
      expect(seen.peer).to.match(/^127\.0\.0\.1:\d+$/);
      expect(seen.deadline).to.be.instanceOf(Date);
      expect(seen.host).to.match(/^127\.0\.0\.1:\d+$/);
      const connection = seen.connection as { localAddress: string; localPort: number; remoteAddress: string; remotePort: number };
      expect(connection.localAddress).to.equal('127.0.0.1');
      expect(connection.remoteAddress).to.equal('127.0.0.1');
      expect(connection.localPort).to.be.a('number');
      expect(String(seen.peer)).to.equal(`127.0.0.1:${connection.remotePort}`);
      expect(seen.auth).to.deep.equal({});
    });

    it('the interceptors option must be an array of functions', () => {
      expect(() => new Server({ interceptors: 'auth' as unknown as ServerInterceptor[] })).to.throw(TypeError, /interceptors/);
      expect(() => new Server({ interceptors: [{}] as unknown as ServerInterceptor[] })).to.throw(TypeError, /interceptors/);
    });
  });
});
