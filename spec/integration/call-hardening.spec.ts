/**
 * One hostile or careless peer must not freeze, exhaust or crash the server through the gRPC layer:
 * cancelled calls stop their handlers' writing, requests wait in the transport (window withheld)
 * rather than in the call, a handler ignoring backpressure is cut off at a byte limit, and a
 * handler that still works keeps its stream's concurrency slot after the client resets it.
 */
import { expect } from 'chai';
import type { Http2Stream } from '../../lib/transport';
import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Server, type ServerDuplexStream, type ServerReadableStream, type ServerWritableStream } from '../../lib';
import { ErrorCode } from '../../lib/transport/errors';
import { FrameType } from '../../lib/transport/frame/frame-type';
import { loadEchoService } from '../../examples/echo-service';
import { collect, eventually } from '../support/waiting';
import { grpc, grpcJsEchoClient } from '../support/echo-client';
import { startEchoServer } from '../support/echo-server';
import { frames } from '../support/frames';
import { headerValue, RawPeer } from '../support/raw-peer';
import { grpcRequestHeaders } from '../support/echo-request';

const ECHO = '/grpc.examples.echo.Echo/';
const UNARY = `${ECHO}UnaryEcho`;
const SERVER_STREAMING = `${ECHO}ServerStreamingEcho`;
const CLIENT_STREAMING = `${ECHO}ClientStreamingEcho`;
const BIDI = `${ECHO}BidirectionalStreamingEcho`;

/** A framed EchoRequest { message: text } of any length (protobuf field 1, length-delimited). */
function echoRequest(text: string): Buffer {
  const value = Buffer.from(text, 'utf8');
  const length: number[] = [];
  for (let rest = value.length; ; rest >>>= 7) {
    if (rest < 0x80) {
      length.push(rest);
      break;
    }
    length.push((rest & 0x7f) | 0x80);
  }
  const proto = Buffer.concat([Buffer.from([0x0a, ...length]), value]);
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(proto.length, 1);
  return Buffer.concat([prefix, proto]);
}

/** Resolves once the server has processed everything the peer sent before (a PING answered in order). */
async function roundTrip(peer: RawPeer): Promise<void> {
  const data = randomBytes(8);
  peer.send(frames.ping(data));
  await peer.expectFrame(FrameType.PING, (frame) => frame.ack && frame.data.equals(data));
}

/** Lets a few event-loop turns pass (not time): room for any 'drain' or write that should not come. */
async function turns(count = 5): Promise<void> {
  for (let index = 0; index < count; index++) await new Promise((resolve) => setImmediate(resolve));
}

describe('integration: call hardening', () => {
  let server: Server | undefined;
  let port = 0;
  let peer: RawPeer | undefined;

  afterEach(() => {
    peer?.destroy();
    peer = undefined;
    server?.forceShutdown();
    server = undefined;
  });

  async function connect(port: number, settings: { id: number; value: number }[] = []): Promise<RawPeer> {
    peer = await RawPeer.connect(port);
    peer.sendRaw(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'), frames.settings(settings)]));
    return peer;
  }

  describe('a cancelled call stops its handler', () => {
    const LIMIT = 100_000;

    it('server streaming: after RST_STREAM, write() returns false and no drain comes, so a write()/drain loop stops (it spun before)', async () => {
      let call: ServerWritableStream | undefined;
      let writes = 0;
      const events: string[] = [];
      ({ server, port } = await startEchoServer({
        ServerStreamingEcho(streamCall: ServerWritableStream) {
          call = streamCall;
          streamCall.on('cancelled', () => events.push('cancelled'));
          streamCall.on('close', () => events.push('close'));
          streamCall.on('error', () => events.push('error'));
          const writeSome = () => {
            while (writes < LIMIT) {
              writes++;
              if (!streamCall.write({ message: 'x'.repeat(1000) })) {
                streamCall.once('drain', writeSome);
                return;
              }
            }
          };
          writeSome();
        },
      }));
      const raw = await connect(port);
      raw.request(1, grpcRequestHeaders(SERVER_STREAMING), echoRequest('go'));
      // The peer never sends WINDOW_UPDATE: the handler ends up waiting for 'drain' (once the
      // stream's quota is full; before that write() may only ask it to wait for the next turn).
      await eventually(() => call !== undefined && call.writableNeedDrain);
      let settled = -1;
      await eventually(() => {
        const same = settled === writes;
        settled = writes;
        return same && call!.writableNeedDrain;
      });
      const before = writes;
      raw.send(frames.rstStream(1, ErrorCode.CANCEL));
      await roundTrip(raw);
      await turns();
      expect(writes - before, 'writes after the reset').to.equal(0);
      expect(call!.cancelled).to.equal(true);
      expect(call!.destroyed).to.equal(true);
      expect(call!.write({ message: 'late' })).to.equal(false);
      expect(events).to.deep.equal(['cancelled', 'close']);
    });

    it('100 server-streaming calls that are never read, then a lost connection: the event loop stays responsive (it froze 15+ s)', async () => {
      ({ server, port } = await startEchoServer());
      const raw = await connect(port);
      const request = echoRequest(`repeat:1000000:${'x'.repeat(1000)}`);
      raw.send(Array.from({ length: 100 }, (_, index) => raw.requestFrames(1 + 2 * index, grpcRequestHeaders(SERVER_STREAMING), request)).flat());
      // Each handler fills its transport quota (64 KiB, 128 of it per queued write) and then waits for 'drain'.
      await eventually(() => server!.stats.streams === 100 && server!.stats.queuedBytes >= 100 * 50 * 1024);
      const delay = monitorEventLoopDelay({ resolution: 10 });
      delay.enable();
      const started = Date.now();
      raw.destroy();
      await eventually(() => server!.stats.connections === 0);
      await turns();
      delay.disable();
      const elapsed = Date.now() - started;
      expect(delay.max / 1e6, 'longest event-loop stall (ms)').to.be.below(1000);
      expect(elapsed, 'ms until the connection and its 100 calls are gone').to.be.below(2000);
    });

    it('bidi: both sides end on cancellation; the request loop stops, no error event, writes return false', async () => {
      let call: ServerDuplexStream | undefined;
      let outcome = 'running';
      const events: string[] = [];
      ({ server, port } = await startEchoServer({
        BidirectionalStreamingEcho(duplex: ServerDuplexStream) {
          call = duplex;
          duplex.on('cancelled', () => events.push('cancelled'));
          duplex.on('close', () => events.push('close'));
          duplex.on('error', () => events.push('error'));
          void (async () => {
            try {
              for await (const request of duplex) duplex.write(request);
              outcome = 'ended';
            } catch (error) {
              const failure = error as { code?: unknown; details?: string };
              outcome = failure.code === grpc.status.CANCELLED ? `CANCELLED: ${failure.details}` : String(failure.code ?? 'error');
            }
          })();
        },
      }));
      const raw = await connect(port);
      raw.send(raw.requestFrames(1, grpcRequestHeaders(BIDI), echoRequest('one'), false));
      await eventually(() => call !== undefined);
      raw.send(frames.rstStream(1, ErrorCode.CANCEL));
      await roundTrip(raw);
      await eventually(() => outcome !== 'running');
      expect(call!.cancelled).to.equal(true);
      expect(call!.destroyed).to.equal(true);
      expect(call!.write({ message: 'late' })).to.equal(false);
      // The loop ends with the call's own status, a gRPC CANCELLED error (not a stream error).
      expect(outcome).to.equal('CANCELLED: Call cancelled');
      expect(events).to.deep.equal(['cancelled', 'close']);
    });

    it("client streaming: the request Readable is destroyed after 'cancelled', with no error event", async () => {
      let call: ServerReadableStream | undefined;
      const events: string[] = [];
      ({ server, port } = await startEchoServer({
        ClientStreamingEcho(readable: ServerReadableStream) {
          call = readable; // never reads, never answers
          readable.on('cancelled', () => events.push('cancelled'));
          readable.on('close', () => events.push('close'));
          readable.on('error', () => events.push('error'));
        },
      }));
      const raw = await connect(port);
      raw.send(raw.requestFrames(1, grpcRequestHeaders(CLIENT_STREAMING), echoRequest('held'), false));
      await eventually(() => call !== undefined);
      await roundTrip(raw);
      // Nothing is decoded before the handler reads: the request waits in the transport.
      expect(call!.readableLength).to.equal(0);
      raw.send(frames.rstStream(1, ErrorCode.CANCEL));
      await roundTrip(raw);
      expect(call!.cancelled).to.equal(true);
      expect(call!.destroyed).to.equal(true);
      await turns();
      expect(events).to.deep.equal(['cancelled', 'close']);
    });

    it('an async generator handler stops (its finally runs) when the call is cancelled, without producing another value', async () => {
      let yielded = 0;
      let atCancel = -1;
      let finished = false;
      ({ server, port } = await startEchoServer({
        async *ServerStreamingEcho(call: ServerWritableStream) {
          call.on('cancelled', () => (atCancel = yielded));
          try {
            for (;;) {
              yield { message: 'y'.repeat(1000) };
              yielded++;
            }
          } finally {
            finished = true;
          }
        },
      }));
      const raw = await connect(port);
      raw.request(1, grpcRequestHeaders(SERVER_STREAMING), echoRequest('go'));
      await eventually(() => yielded > 10);
      raw.send(frames.rstStream(1, ErrorCode.CANCEL));
      await roundTrip(raw);
      await eventually(() => finished);
      await turns();
      expect(yielded).to.equal(atCancel);
    });
  });

  describe('request memory follows flow control', () => {
    it('a client-streaming handler that does not read holds at most one message; the rest waits in the transport, in order', async () => {
      let call: ServerReadableStream | undefined;
      ({ server, port } = await startEchoServer({
        ClientStreamingEcho(readable: ServerReadableStream) {
          call = readable;
        },
      }));
      const raw = await connect(port);
      const texts = Array.from({ length: 60 }, (_, index) => `${index}:${'r'.repeat(1000)}`);
      // 30 messages in one DATA frame (the decoder must stop inside it), then 30 in frames of their own.
      raw.send(raw.requestFrames(1, grpcRequestHeaders(CLIENT_STREAMING), Buffer.concat(texts.slice(0, 15).map(echoRequest)), false));
      raw.send(frames.data(1, Buffer.concat(texts.slice(15, 30).map(echoRequest))));
      for (const text of texts.slice(30)) raw.send(frames.data(1, echoRequest(text)));
      await roundTrip(raw);
      await turns();
      expect(call!.readableLength, 'messages held by the request Readable').to.be.at.most(1);
      expect((call!.core.stream as Http2Stream).bufferedBytes, 'bytes left in the transport (window withheld)').to.be.greaterThan(25 * 1000);
      // Reading now delivers every message, in order, then the end.
      const received = collect<{ message: string }>(call!);
      raw.send(frames.data(1, Buffer.alloc(0), { endStream: true }));
      expect((await received).map((request) => request.message)).to.deep.equal(texts);
    });
  });

  describe('response backlog', () => {
    const CAP = 256 * 1024;

    it('a bidi handler writing past backpressure to a peer that never opens its window ends with RESOURCE_EXHAUSTED at the cap', async () => {
      let call: ServerDuplexStream | undefined;
      let requests = 0;
      let accepted = 0;
      ({ server, port } = await startEchoServer(
        {
          BidirectionalStreamingEcho(duplex: ServerDuplexStream) {
            call = duplex;
            duplex.on('data', () => {
              requests++;
              duplex.write({ message: 'z'.repeat(16 * 1024) });
              if (!duplex.destroyed) accepted++;
            });
          },
        },
        { 'h2grpc.max_response_backlog_bytes': CAP },
      ));
      const raw = await connect(port);
      const batch = Buffer.concat(Array.from({ length: 100 }, () => echoRequest('more')));
      raw.send(raw.requestFrames(1, grpcRequestHeaders(BIDI), batch, false));
      await eventually(() => requests === 100 || call?.cancelled === true);
      expect(call!.cancelled, 'the handler sees the call cancelled').to.equal(true);
      // 64 KiB went out in the window; the rest of what was accepted waits in the transport, under the cap.
      expect(accepted * (16 * 1024 + 8)).to.be.at.most(64 * 1024 + CAP + 16 * 1024 + 8);
      expect(server!.stats.queuedBytes).to.be.at.most(CAP);
      // Opening the windows lets the queued responses and then the status through.
      raw.send([frames.windowUpdate(0, 16 * 1024 * 1024), frames.windowUpdate(1, 16 * 1024 * 1024)]);
      const response = await raw.expectResponse(1);
      expect(response.grpcStatus).to.equal(String(grpc.status.RESOURCE_EXHAUSTED));
      expect(headerValue(response.trailers!, 'grpc-message')).to.match(/^Response backlog exceeded/);
    });

    it('...and a peer that still never opens its window gets RST_STREAM(ENHANCE_YOUR_CALM) 5 s later; the stream and its backlog are gone', async function () {
      this.timeout(15_000);
      ({ server, port } = await startEchoServer(
        {
          BidirectionalStreamingEcho(duplex: ServerDuplexStream) {
            duplex.on('data', () => duplex.write({ message: 'z'.repeat(16 * 1024) }));
          },
        },
        { 'h2grpc.max_response_backlog_bytes': CAP },
      ));
      const raw = await connect(port);
      raw.send(raw.requestFrames(1, grpcRequestHeaders(BIDI), Buffer.concat(Array.from({ length: 100 }, () => echoRequest('more'))), false));
      await eventually(() => server!.stats.queuedBytes > 0);
      const started = Date.now();
      await raw.expectRstStream(1, ErrorCode.ENHANCE_YOUR_CALM, 10_000);
      expect(Date.now() - started).to.be.within(4000, 9000);
      await eventually(() => server!.stats.streams === 0 && server!.stats.queuedBytes === 0);
    });

    it('a handler that waits for drain sends messages larger than the cap (one at a time), all of them', async () => {
      const size = 3 * CAP;
      ({ server, port } = await startEchoServer(
        {
          ServerStreamingEcho(call: ServerWritableStream) {
            let remaining = 6;
            const writeSome = () => {
              while (remaining > 0) {
                remaining--;
                if (!call.write({ message: String(remaining).repeat(size) })) {
                  call.once('drain', writeSome);
                  return;
                }
              }
              call.end();
            };
            writeSome();
          },
        },
        { 'h2grpc.max_response_backlog_bytes': CAP },
      ));
      const client = grpcJsEchoClient(port);
      try {
        const responses = await collect<{ message: string }>(client.ServerStreamingEcho({ message: 'big' }));
        expect(responses.map((response) => response.message.length)).to.deep.equal([size, size, size, size, size, size]);
        expect(responses.map((response) => response.message[0])).to.deep.equal(['5', '4', '3', '2', '1', '0']);
      } finally {
        client.close();
      }
    });

    it('a response that fails to serialize still ends the call with INTERNAL, and stops the handler', async () => {
      const service = loadEchoService();
      const method = service.ServerStreamingEcho!;
      let call: ServerWritableStream | undefined;
      let writeAfterFailure: boolean | undefined;
      server = new Server();
      server.addService(
        {
          ...service,
          ServerStreamingEcho: {
            ...method,
            responseSerialize(value: unknown) {
              if ((value as { message: string }).message === 'boom') throw new Error('cannot serialize boom');
              return method.responseSerialize(value);
            },
          },
        },
        {
          ServerStreamingEcho(streamCall: ServerWritableStream) {
            call = streamCall;
            streamCall.write({ message: 'fine' });
            streamCall.write({ message: 'boom' });
            writeAfterFailure = streamCall.write({ message: 'after' });
          },
        },
      );
      port = await server.listen(0);
      const client = grpcJsEchoClient(port);
      try {
        const error = await collect(client.ServerStreamingEcho({ message: 'x' })).then(
          () => expect.fail('expected INTERNAL'),
          (failure: grpc.ServiceError) => failure,
        );
        expect(error.code).to.equal(grpc.status.INTERNAL);
        expect(error.details).to.match(/Error serializing response: cannot serialize boom/);
        expect(writeAfterFailure).to.equal(false);
        expect(call!.destroyed).to.equal(true);
      } finally {
        client.close();
      }
    });
  });

  describe('handler retention (rapid reset)', () => {
    it('a unary handler that has not answered keeps its slot after the client resets; answering frees it', async () => {
      const callbacks: ((error: unknown, value?: unknown) => void)[] = [];
      ({ server, port } = await startEchoServer(
        {
          UnaryEcho(_call: unknown, callback: (error: unknown, value?: unknown) => void) {
            callbacks.push(callback);
          },
        },
        { transport: { settings: { maxConcurrentStreams: 2 } } },
      ));
      const raw = await connect(port);
      raw.request(1, grpcRequestHeaders(UNARY), echoRequest('a'));
      raw.request(3, grpcRequestHeaders(UNARY), echoRequest('b'));
      await eventually(() => callbacks.length === 2);
      raw.send([frames.rstStream(1, ErrorCode.CANCEL), frames.rstStream(3, ErrorCode.CANCEL)]);
      await roundTrip(raw);
      expect(server!.connectionStats()[0]).to.include({ streams: 0, retainedStreams: 2 });
      // Both slots are still taken: a third call is refused rather than starting a third handler.
      raw.request(5, grpcRequestHeaders(UNARY), echoRequest('c'));
      await raw.expectRstStream(5, ErrorCode.REFUSED_STREAM);
      expect(callbacks).to.have.length(2);
      callbacks[0]!(null, { message: 'late' });
      expect(server!.connectionStats()[0]!.retainedStreams).to.equal(1);
      callbacks[1]!(new Error('late too'));
      expect(server!.connectionStats()[0]!.retainedStreams).to.equal(0);
      raw.request(7, grpcRequestHeaders(UNARY), echoRequest('d'));
      await eventually(() => callbacks.length === 3);
      callbacks[2]!(null, { message: 'd' });
      expect((await raw.expectResponse(7)).grpcStatus).to.equal('0');
    });

    it('streaming handlers release their slot when the call is cancelled (or expired on arrival); calls answered before a handler never retain', async () => {
      let streaming: ServerWritableStream | undefined;
      ({ server, port } = await startEchoServer({
        ServerStreamingEcho(call: ServerWritableStream) {
          streaming = call; // writes nothing, never ends
        },
        ClientStreamingEcho() {
          // never answers: retained until the connection goes
        },
      }));
      const raw = await connect(port);
      raw.request(1, grpcRequestHeaders(SERVER_STREAMING), echoRequest('s'));
      raw.request(3, grpcRequestHeaders(`${ECHO}Nope`), echoRequest('unknown'));
      raw.send(raw.requestFrames(5, grpcRequestHeaders(CLIENT_STREAMING), echoRequest('c'), false));
      raw.send(raw.requestFrames(7, grpcRequestHeaders(BIDI, ['grpc-timeout', '0n']), echoRequest('expired'), false));
      expect((await raw.expectResponse(3)).grpcStatus).to.equal(String(grpc.status.UNIMPLEMENTED));
      expect((await raw.expectResponse(7)).grpcStatus).to.equal(String(grpc.status.DEADLINE_EXCEEDED));
      await eventually(() => streaming !== undefined);
      raw.send([frames.rstStream(1, ErrorCode.CANCEL), frames.rstStream(5, ErrorCode.CANCEL), frames.rstStream(7, ErrorCode.CANCEL)]);
      await roundTrip(raw);
      expect(streaming!.cancelled).to.equal(true);
      expect(server!.connectionStats()[0]).to.include({ streams: 0, retainedStreams: 1 });
    });
  });
});
