/**
 * Call behaviours as grpc-js has them, driven by a grpc-js client (a raw peer where the wire
 * matters): pause/resume holds 'end', 'cancelled' on every call kind (and after a status),
 * handler style never guessed from its declared parameters alone, status codes passed through,
 * destroy() on response streams, the metrics recorder, and stream slots held while a cancelled
 * streaming handler still runs.
 */
import { expect } from 'chai';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import type {
  handleBidiStreamingCall,
  handleClientStreamingCall,
  handleServerStreamingCall,
  handleUnaryCall,
  sendUnaryData,
  Server,
  ServerDuplexStream,
  ServerErrorResponse,
  ServerReadableStream,
  ServerUnaryCall,
  ServerWritableStream,
  UntypedHandleCall,
  UntypedServiceImplementation,
} from '../../lib';
import { ErrorCode } from '../../lib/transport/errors';
import { FrameType } from '../../lib/transport/frame/frame-type';
import { eventually } from '../support/waiting';
import { expectError, grpc, grpcJsEchoClient, unary, type EchoClient } from '../support/echo-client';
import { startEchoServer } from '../support/echo-server';
import { frames } from '../support/frames';
import { RawPeer } from '../support/raw-peer';
import { echoMessage, grpcRequestHeaders } from '../support/echo-request';

interface Echo {
  message: string;
}

type AnyCall = ServerUnaryCall | ServerReadableStream | ServerWritableStream | ServerDuplexStream;

/** Resolves with a streaming client call's status and messages. */
function finished<T>(call: grpc.ClientReadableStream<T> | grpc.ClientDuplexStream<unknown, T>): Promise<{ status: grpc.StatusObject; messages: T[] }> {
  const messages: T[] = [];
  call.on('data', (message: T) => messages.push(message));
  call.on('error', () => {});
  return new Promise((resolve) => call.on('status', (status: grpc.StatusObject) => resolve({ status, messages })));
}

describe('integration: call behaviours (as grpc-js)', () => {
  let server: Server | undefined;
  let client: EchoClient | undefined;
  let peer: RawPeer | undefined;
  afterEach(() => {
    peer?.destroy();
    client?.close();
    server?.forceShutdown();
    peer = undefined;
    client = undefined;
    server = undefined;
  });

  async function serve(overrides: UntypedServiceImplementation, options = {}): Promise<EchoClient> {
    const started = await startEchoServer(overrides, options);
    server = started.server;
    client = grpcJsEchoClient(started.port);
    return client;
  }

  describe('pause() in a bidi handler holds the end until resume() (grpc-node deadline example)', () => {
    it('one request, pause, async work past the deadline, resume: DEADLINE_EXCEEDED, and end only after resume', async () => {
      const events: string[] = [];
      let clientDone!: () => void;
      const clientEnded = new Promise<void>((resolve) => (clientDone = resolve));
      const echo = await serve({
        BidirectionalStreamingEcho(call: ServerDuplexStream<Echo>) {
          call.on('data', (request: Echo) => {
            events.push('data');
            call.pause();
            // The async work: it outlasts the client's deadline.
            void clientEnded.then(() => {
              events.push('resume');
              call.write(request);
              call.resume();
            });
          });
          call.on('end', () => {
            events.push('end');
            call.end();
          });
        },
      });
      const call = echo.BidirectionalStreamingEcho({ deadline: Date.now() + 200 });
      const done = finished<Echo>(call);
      call.write({ message: 'delay' });
      call.end();
      const { status } = await done;
      clientDone();
      // Before the fix 'end' came right after 'data': the handler ended the call, OK before the deadline.
      expect(status.code).to.equal(grpc.status.DEADLINE_EXCEEDED);
      await eventually(() => events.length === 3);
      expect(events).to.deep.equal(['data', 'resume', 'end']);
    });

    it('one request, pause, async work, write, resume: the answer, then OK', async () => {
      const echo = await serve({
        BidirectionalStreamingEcho(call: ServerDuplexStream<Echo>) {
          call.on('data', (request: Echo) => {
            call.pause();
            setImmediate(() =>
              setImmediate(() => {
                call.write({ message: `worked:${request.message}` });
                call.resume();
              }),
            );
          });
          call.on('end', () => call.end());
        },
      });
      const call = echo.BidirectionalStreamingEcho();
      const done = finished<Echo>(call);
      call.write({ message: 'one' });
      call.end();
      const { status, messages } = await done;
      expect(status.code).to.equal(grpc.status.OK);
      expect(messages).to.deep.equal([{ message: 'worked:one' }]);
    });

    it('client streaming: paused in data, the end waits for resume() too', async () => {
      const events: string[] = [];
      const echo = await serve({
        ClientStreamingEcho(call: ServerReadableStream<Echo>, callback: (error: unknown, value?: Echo) => void) {
          const seen: string[] = [];
          call.on('data', (request: Echo) => {
            seen.push(request.message);
            events.push(`data:${request.message}`);
            call.pause();
            setImmediate(() =>
              setImmediate(() => {
                events.push('resume');
                call.resume();
              }),
            );
          });
          call.on('end', () => {
            events.push('end');
            callback(null, { message: seen.join('+') });
          });
        },
      });
      const response = await new Promise<Echo>((resolve, reject) => {
        const call = echo.ClientStreamingEcho((error: Error | null, value: Echo) => (error ? reject(error) : resolve(value)));
        call.write({ message: 'a' });
        call.write({ message: 'b' });
        call.end();
      });
      expect(response.message).to.equal('a+b');
      expect(events).to.deep.equal(['data:a', 'resume', 'data:b', 'resume', 'end']);
    });
  });

  describe("a client cancel fires 'cancelled' on every call kind", () => {
    let calls: AnyCall[];
    let cancelled: Promise<unknown>[];
    beforeEach(() => {
      calls = [];
      cancelled = [];
    });
    /** A handler that records its call and never answers. */
    const hold = (call: AnyCall) => {
      calls.push(call);
      cancelled.push(once(call, 'cancelled'));
    };

    async function expectCancelled(): Promise<void> {
      await eventually(() => calls.length === 1);
      await cancelled[0];
      const call = calls[0]!;
      expect(call.cancelled).to.equal(true);
      expect(call.signal.aborted).to.equal(true);
      await eventually(() => server!.stats.streams === 0);
    }

    it('unary', async () => {
      const echo = await serve({ UnaryEcho: hold });
      const call = echo.UnaryEcho({ message: 'u' }, () => {});
      await eventually(() => calls.length === 1);
      call.cancel();
      await expectCancelled();
    });

    it('client streaming', async () => {
      const echo = await serve({ ClientStreamingEcho: hold });
      const call = echo.ClientStreamingEcho(() => {});
      call.write({ message: 'c' });
      await eventually(() => calls.length === 1);
      call.cancel();
      await expectCancelled();
    });

    it('server streaming', async () => {
      const echo = await serve({ ServerStreamingEcho: hold });
      const call = echo.ServerStreamingEcho({ message: 's' });
      call.on('error', () => {});
      await eventually(() => calls.length === 1);
      call.cancel();
      await expectCancelled();
    });

    it('bidi streaming (grpc-node cancellation example)', async () => {
      const events: string[] = [];
      const echo = await serve({
        BidirectionalStreamingEcho(call: ServerDuplexStream<Echo>) {
          hold(call);
          call.on('data', (request: Echo) => call.write(request));
          call.on('end', () => events.push('end'));
          call.on('cancelled', () => events.push('cancelled'));
        },
      });
      const call = echo.BidirectionalStreamingEcho();
      call.on('error', () => {});
      let received = 0;
      call.on('data', () => {
        if (++received === 2) call.cancel();
      });
      call.write({ message: 'hello' });
      call.write({ message: 'world' });
      await expectCancelled();
      expect(events).to.deep.equal(['cancelled']);
    });
  });

  describe("'cancelled' after a status (grpc-js emits it on every close)", () => {
    it('fires on a later tick after the answer on every kind; call.cancelled turns true; the signal stays unaborted', async () => {
      const seen: { kind: string; call: AnyCall }[] = [];
      const watch = (kind: string, call: AnyCall) => {
        (call as NodeJS.EventEmitter).on('cancelled', () => seen.push({ kind, call }));
      };
      const echo = await serve({
        UnaryEcho(call: ServerUnaryCall<Echo>, callback: (error: unknown, value?: Echo) => void) {
          watch('unary', call);
          callback(null, call.request);
          // Reported later, not from inside the callback.
          expect(seen).to.have.length(0);
        },
        ClientStreamingEcho(call: ServerReadableStream<Echo>, callback: (error: unknown, value?: Echo) => void) {
          watch('clientStream', call);
          call.on('data', () => {});
          call.on('end', () => callback(null, { message: 'done' }));
        },
        ServerStreamingEcho(call: ServerWritableStream<Echo>) {
          watch('serverStream', call);
          call.end(call.request);
        },
        BidirectionalStreamingEcho(call: ServerDuplexStream<Echo>) {
          watch('bidi', call);
          call.on('data', (request: Echo) => call.write(request));
          call.on('end', () => call.end());
        },
      });
      await unary(echo, 'u');
      await new Promise<void>((resolve, reject) => {
        const call = echo.ClientStreamingEcho((error: Error | null) => (error ? reject(error) : resolve()));
        call.write({ message: 'c' });
        call.end();
      });
      expect((await finished(echo.ServerStreamingEcho({ message: 's' }))).status.code).to.equal(grpc.status.OK);
      const bidi = echo.BidirectionalStreamingEcho();
      const done = finished(bidi);
      bidi.write({ message: 'b' });
      bidi.end();
      expect((await done).status.code).to.equal(grpc.status.OK);
      await eventually(() => seen.length === 4);
      expect(seen.map((entry) => entry.kind).sort()).to.deep.equal(['bidi', 'clientStream', 'serverStream', 'unary']);
      for (const { call } of seen) {
        expect(call.cancelled).to.equal(true);
        expect(call.signal.aborted).to.equal(false);
      }
    });
  });

  describe('handler style is never guessed from the declared parameters alone', () => {
    /** A grpc-js style handler that answers through its callback, later. */
    const later = (call: ServerUnaryCall<Echo>, callback: (error: unknown, value?: Echo) => void) => {
      setImmediate(() => callback(null, { message: `later:${call.request.message}` }));
    };

    it('an async (...args) wrapper around a callback handler answers through the callback, not early', async () => {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const wrapper = async (...args: any[]) => {
        await Promise.resolve();
        later(args[0], args[1]);
      };
      expect(wrapper.length).to.equal(0);
      const echo = await serve({ UnaryEcho: wrapper });
      expect(await unary(echo, 'w')).to.deep.equal({ message: 'later:w' });
    });

    it('a one-parameter async wrapper with a rest parameter, and a default-valued callback, answer through the callback', async () => {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const rest = async (call: ServerUnaryCall<Echo>, ...more: any[]) => later(call, more[0]);
      const defaulted = async (call: ServerUnaryCall<Echo>, callback = (_error: unknown, _value?: Echo) => {}) => later(call, callback);
      expect([rest.length, defaulted.length]).to.deep.equal([1, 1]);
      const echo = await serve({
        UnaryEcho: rest,
        ClientStreamingEcho: (call: ServerReadableStream<Echo>, callback: (error: unknown, value?: Echo) => void) => {
          call.on('data', () => {});
          call.on('end', () => void defaulted({ request: { message: 'd' } } as ServerUnaryCall<Echo>, callback));
        },
      });
      expect(await unary(echo, 'r')).to.deep.equal({ message: 'later:r' });
      const response = await new Promise<Echo>((resolve, reject) => {
        const call = echo.ClientStreamingEcho((error: Error | null, value: Echo) => (error ? reject(error) : resolve(value)));
        call.end();
      });
      expect(response).to.deep.equal({ message: 'later:d' });
    });

    it('async style still works: a returned response answers, a rejection fails the call', async () => {
      const echo = await serve({
        async UnaryEcho(call: ServerUnaryCall<Echo>) {
          await Promise.resolve();
          if (call.request.message === 'fail') throw Object.assign(new Error('nope'), { code: grpc.status.ABORTED });
          return { message: `async:${call.request.message}` };
        },
      });
      expect(await unary(echo, 'a')).to.deep.equal({ message: 'async:a' });
      const error = await expectError(unary(echo, 'fail'));
      expect(error.code).to.equal(grpc.status.ABORTED);
    });

    it('an async handler that declares the callback answers only through it (its resolved value is ignored)', async () => {
      const echo = await serve({
        async UnaryEcho(call: ServerUnaryCall<Echo>, callback: (error: unknown, value?: Echo) => void) {
          setImmediate(() => callback(null, { message: 'from-callback' }));
          return { message: 'from-return' };
        },
      });
      expect(await unary(echo, 'x')).to.deep.equal({ message: 'from-callback' });
    });

    it('an async streaming handler in grpc-js style is not ended when its promise resolves', async () => {
      const echo = await serve({
        async BidirectionalStreamingEcho(call: ServerDuplexStream<Echo>) {
          await Promise.resolve();
          call.on('data', (request: Echo) => call.write(request));
          call.on('end', () => call.end());
        },
      });
      const call = echo.BidirectionalStreamingEcho();
      const done = finished<Echo>(call);
      call.write({ message: '1' });
      setImmediate(() => {
        call.write({ message: '2' });
        call.end();
      });
      const { status, messages } = await done;
      expect(status.code).to.equal(grpc.status.OK);
      expect(messages.map((message) => message.message)).to.deep.equal(['1', '2']);
    });
  });

  describe('statuses', () => {
    it('a status code outside 0-16 reaches the client as it is (grpc-js passes it through)', async () => {
      const echo = await serve({
        UnaryEcho: (_call: unknown, callback: (error: unknown) => void) => callback({ code: 42, details: 'custom code' }),
        ServerStreamingEcho: (call: ServerWritableStream) => call.emit('error', { code: 99, details: 'stream code' }),
      });
      const error = await expectError(unary(echo, 'x'));
      expect(error.code).to.equal(42);
      expect(error.details).to.equal('custom code');
      const { status } = await finished(echo.ServerStreamingEcho({ message: 'x' }));
      expect(status.code).to.equal(99);
    });

    it("destroy(error) on a response stream ends the call with the error's status; destroy() with CANCELLED (grpc-js leaves both calls hanging)", async () => {
      const echo = await serve({
        ServerStreamingEcho(call: ServerWritableStream<Echo>) {
          call.write({ message: 'first' });
          if (call.request.message === 'error') call.destroy(Object.assign(new Error('broken'), { code: grpc.status.DATA_LOSS }));
          else call.destroy();
        },
      });
      const withError = await finished<Echo>(echo.ServerStreamingEcho({ message: 'error' }));
      expect(withError.messages).to.deep.equal([{ message: 'first' }]);
      expect(withError.status).to.include({ code: grpc.status.DATA_LOSS, details: 'broken' });
      const plain = await finished<Echo>(echo.ServerStreamingEcho({ message: 'plain' }));
      expect(plain.status.code).to.equal(grpc.status.CANCELLED);
    });
  });

  it("handlers typed with grpc-js's types (two type parameters, sendUnaryData, handle*Call) serve", async () => {
    const unaryEcho: handleUnaryCall<Echo, Echo> = (call: ServerUnaryCall<Echo, Echo>, callback: sendUnaryData<Echo>) => {
      if (call.request.message === 'bad') {
        const error: ServerErrorResponse = Object.assign(new Error('bad request'), { code: grpc.status.INVALID_ARGUMENT });
        callback(error);
        return;
      }
      callback(null, { message: call.request.message.toUpperCase() });
    };
    const clientStreamingEcho: handleClientStreamingCall<Echo, Echo> = (call, callback) => {
      const parts: string[] = [];
      call.on('data', (request: Echo) => parts.push(request.message));
      call.on('end', () => callback(null, { message: parts.join('') }));
    };
    const serverStreamingEcho: handleServerStreamingCall<Echo, Echo> = (call) => call.end();
    const bidiEcho: handleBidiStreamingCall<Echo, Echo> = (call) => call.end();
    const handlers: Record<string, UntypedHandleCall> = {
      UnaryEcho: unaryEcho,
      ClientStreamingEcho: clientStreamingEcho,
      ServerStreamingEcho: serverStreamingEcho,
      BidirectionalStreamingEcho: bidiEcho,
    };
    const echo = await serve(handlers);
    expect(await unary(echo, 'typed')).to.deep.equal({ message: 'TYPED' });
    expect((await expectError(unary(echo, 'bad'))).code).to.equal(grpc.status.INVALID_ARGUMENT);
  });

  it('getMetricsRecorder() gives a per-call recorder with grpc-js methods', async () => {
    const recorded: unknown[] = [];
    const echo = await serve({
      UnaryEcho(call: ServerUnaryCall<Echo>, callback: (error: unknown, value?: Echo) => void) {
        const recorder = call.getMetricsRecorder();
        expect(call.getMetricsRecorder()).to.equal(recorder);
        recorder.recordRequestCostMetric('db', 2);
        recorder.recordUtilizationMetric('queue', 0.25);
        recorder.recordNamedMetric('custom', 7);
        recorder.recordCPUUtilizationMetric(0.5);
        recorder.recordMemoryUtilizationMetric(0.1);
        recorder.recordApplicationUtilizationMetric(0.2);
        recorder.recordQpsMetric(100);
        recorder.recordEpsMetric(1);
        recorded.push(recorder);
        callback(null, call.request);
      },
    });
    expect(await unary(echo, 'm')).to.deep.equal({ message: 'm' });
    expect(recorded).to.have.length(1);
  });

  describe('stream slots of cancelled streaming handlers (issue 14, F7)', () => {
    /** Resolves once the server has processed everything the peer sent before (a PING answered in order). */
    async function roundTrip(raw: RawPeer): Promise<void> {
      const data = randomBytes(8);
      raw.send(frames.ping(data));
      await raw.expectFrame(FrameType.PING, (frame) => frame.ack && frame.data.equals(data));
    }

    for (const kind of ['ServerStreamingEcho', 'BidirectionalStreamingEcho'] as const) {
      it(`${kind}: an async handler still running after a client reset keeps its slot; it is freed when the handler ends`, async () => {
        const gates: (() => void)[] = [];
        const running: AnyCall[] = [];
        const handler = async (call: ServerWritableStream | ServerDuplexStream) => {
          running.push(call);
          await new Promise<void>((resolve) => gates.push(resolve));
        };
        const started = await startEchoServer({ [kind]: handler }, { 'grpc.max_concurrent_streams': 1 });
        server = started.server;
        peer = await RawPeer.connect(started.port);
        peer.sendPreface();
        const path = `/grpc.examples.echo.Echo/${kind}`;
        peer.send(peer.requestFrames(1, grpcRequestHeaders(path), echoMessage('a'), kind === 'ServerStreamingEcho'));
        await eventually(() => running.length === 1);
        peer.send(frames.rstStream(1, ErrorCode.CANCEL));
        await roundTrip(peer);
        expect(running[0]!.cancelled).to.equal(true);
        expect(server!.connectionStats()[0]).to.include({ streams: 0, retainedStreams: 1 });
        // The handler still runs: a new call is refused rather than starting a second handler.
        peer.request(3, grpcRequestHeaders(path), echoMessage('b'));
        await peer.expectRstStream(3, ErrorCode.REFUSED_STREAM);
        expect(running).to.have.length(1);
        gates[0]!();
        await eventually(() => server!.connectionStats()[0]!.retainedStreams === 0);
        peer.send(peer.requestFrames(5, grpcRequestHeaders(path), echoMessage('c'), kind === 'ServerStreamingEcho'));
        await eventually(() => running.length === 2);
        gates[1]!();
      });
    }
  });
});
