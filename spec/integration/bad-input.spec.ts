/**
 * Bad input from a raw HTTP/2 peer: each malformed or abusive sequence gets the answer RFC 9113
 * (or the gRPC HTTP/2 protocol) specifies, and afterwards a normal call on a new connection still
 * succeeds, so one bad client cannot take the server down.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { expect } from 'chai';
import { Server } from '../../lib';
import { ErrorCode, errorCodeName } from '../../lib/transport/errors';
import { FrameType } from '../../lib/transport/frame/frame-type';
import { SettingId } from '../../lib/transport/settings';
import { ECHO_PROTO } from '../../examples/echo-service';
import { frames, PREFACE } from '../support/frames';
import { describeFrame, headerValue, RawPeer } from '../support/raw-peer';
import { ECHO_UNARY_PATH, echoMessage, grpcRequestHeaders } from '../support/echo-request';
import { startEchoServer } from '../support/echo-server';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const EchoClient = (grpc.loadPackageDefinition(protoLoader.loadSync(ECHO_PROTO)) as any).grpc.examples.echo.Echo as typeof grpc.Client;

/** One UnaryEcho call with @grpc/grpc-js on a new connection; resolves with the echoed message. */
function unaryEcho(port: number, message: string): Promise<string> {
  const client = new EchoClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return new Promise<string>((resolve, reject) => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    (client as any).UnaryEcho({ message }, { deadline: Date.now() + 5000 }, (error: Error | null, response: { message: string }) => {
      if (error) reject(error);
      else resolve(response.message);
    });
  }).finally(() => client.close());
}

/** The text of the single EchoResponse in a unary response body (5-byte prefix, then field 1). */
function echoReplyText(body: Buffer): string {
  expect(body.length, 'response body').to.be.greaterThan(5);
  const proto = body.subarray(5, 5 + body.readUInt32BE(1));
  return proto.length === 0 ? '' : proto.subarray(2, 2 + proto[1]).toString('utf8');
}

describe('bad input from a raw HTTP/2 peer', () => {
  let server: Server;
  let port: number;
  let peer: RawPeer | undefined;

  before(async () => {
    ({ server, port } = await startEchoServer());
  });

  after(() => server.forceShutdown());

  afterEach(() => {
    peer?.destroy();
    peer = undefined;
  });

  /** A raw connection, by default past the client preface (magic + empty SETTINGS). */
  async function connect({ preface = true } = {}): Promise<RawPeer> {
    peer = await RawPeer.connect(port);
    if (preface) peer.sendPreface();
    return peer;
  }

  /** A case: its own checks, then a fresh grpc-js call on a new connection must still succeed. */
  function scenario(title: string, body: () => Promise<void>): void {
    it(title, async () => {
      await body();
      expect(await unaryEcho(port, 'still serving')).to.equal('still serving');
    });
  }

  /** A connection error (RFC 9113 §5.4.1): GOAWAY with `code`, then the server closes the socket. */
  async function expectConnectionError(raw: RawPeer, code: number): Promise<void> {
    await raw.expectGoAway(code);
    await raw.closed();
  }

  /** A normal call on `streamId` of an existing connection gets grpc-status 0 and its echo. */
  async function expectWorkingCall(raw: RawPeer, streamId: number): Promise<void> {
    raw.request(streamId, grpcRequestHeaders(), echoMessage(`call ${streamId}`));
    const response = await raw.expectResponse(streamId);
    expect(headerValue(response.headers, ':status')).to.equal('200');
    expect(response.grpcStatus, 'grpc-status').to.equal('0');
    expect(echoReplyText(response.data)).to.equal(`call ${streamId}`);
  }

  describe('connection preface and framing', () => {
    scenario('a garbage preface (HTTP/1.1) gets GOAWAY PROTOCOL_ERROR, then the socket is closed', async () => {
      const raw = await connect({ preface: false });
      raw.sendRaw('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      await expectConnectionError(raw, ErrorCode.PROTOCOL_ERROR);
    });

    scenario('a truncated frame followed by the client FIN closes the connection without a crash', async () => {
      const raw = await connect();
      raw.send(frames.raw(FrameType.DATA, 0, 1, Buffer.alloc(10), 100));
      raw.end();
      await raw.closed();
    });

    scenario('a frame over SETTINGS_MAX_FRAME_SIZE (DATA of 16385 bytes) gets GOAWAY FRAME_SIZE_ERROR', async () => {
      const raw = await connect();
      raw.send(frames.data(1, Buffer.alloc(16385)));
      await expectConnectionError(raw, ErrorCode.FRAME_SIZE_ERROR);
    });

    scenario('DATA on stream 0 gets GOAWAY PROTOCOL_ERROR', async () => {
      const raw = await connect();
      raw.send(frames.raw(FrameType.DATA, 0, 0, 'hello'));
      await expectConnectionError(raw, ErrorCode.PROTOCOL_ERROR);
    });

    scenario('HEADERS on an even stream id gets GOAWAY PROTOCOL_ERROR', async () => {
      const raw = await connect();
      raw.send(frames.headers(2, raw.encodeHeaders(grpcRequestHeaders()), { endStream: true }));
      await expectConnectionError(raw, ErrorCode.PROTOCOL_ERROR);
    });

    scenario('a first frame other than SETTINGS gets GOAWAY PROTOCOL_ERROR', async () => {
      const raw = await connect({ preface: false });
      raw.send([PREFACE, frames.ping()]);
      await expectConnectionError(raw, ErrorCode.PROTOCOL_ERROR);
    });

    scenario('CONTINUATION without a HEADERS frame gets GOAWAY PROTOCOL_ERROR', async () => {
      const raw = await connect();
      raw.send(frames.continuation(1, raw.encodeHeaders(grpcRequestHeaders())));
      await expectConnectionError(raw, ErrorCode.PROTOCOL_ERROR);
    });

    scenario('an unknown frame type (0xfa) in the middle of a request is ignored', async () => {
      const raw = await connect();
      const [headers, data] = raw.requestFrames(1, grpcRequestHeaders(), echoMessage('call 1'));
      raw.send([headers, frames.raw(0xfa, 0xff, 1, 'ignore me'), frames.raw(0xfa, 0, 0, 'and me'), data]);
      const response = await raw.expectResponse(1);
      expect(response.grpcStatus, 'grpc-status').to.equal('0');
      expect(echoReplyText(response.data)).to.equal('call 1');
      await expectWorkingCall(raw, 3);
    });
  });

  describe('SETTINGS and PING', () => {
    scenario('SETTINGS_INITIAL_WINDOW_SIZE 2^31 gets GOAWAY FLOW_CONTROL_ERROR', async () => {
      const raw = await connect();
      raw.send(frames.settings([{ id: SettingId.INITIAL_WINDOW_SIZE, value: 2 ** 31 }]));
      await expectConnectionError(raw, ErrorCode.FLOW_CONTROL_ERROR);
    });

    scenario('SETTINGS_ENABLE_PUSH 2 gets GOAWAY PROTOCOL_ERROR', async () => {
      const raw = await connect();
      raw.send(frames.settings([{ id: SettingId.ENABLE_PUSH, value: 2 }]));
      await expectConnectionError(raw, ErrorCode.PROTOCOL_ERROR);
    });

    scenario('a SETTINGS frame of length 5 gets GOAWAY FRAME_SIZE_ERROR', async () => {
      const raw = await connect();
      raw.send(frames.raw(FrameType.SETTINGS, 0, 0, [0, 4, 0, 0, 1]));
      await expectConnectionError(raw, ErrorCode.FRAME_SIZE_ERROR);
    });

    scenario('a PING of length 7 gets GOAWAY FRAME_SIZE_ERROR', async () => {
      const raw = await connect();
      raw.send(frames.raw(FrameType.PING, 0, 0, [1, 2, 3, 4, 5, 6, 7]));
      await expectConnectionError(raw, ErrorCode.FRAME_SIZE_ERROR);
    });

    scenario('a valid PING gets a PING ACK with the same 8 bytes', async () => {
      const raw = await connect();
      const payload = Buffer.from('h2grpc!?', 'latin1');
      raw.send(frames.ping(payload));
      const ack = await raw.expectFrame(FrameType.PING, (frame) => frame.ack);
      expect(ack.data.toString('hex')).to.equal(payload.toString('hex'));
      await expectWorkingCall(raw, 1);
    });
  });

  describe('flow control', () => {
    scenario('WINDOW_UPDATE with increment 0 on an open stream resets only that stream (RST_STREAM PROTOCOL_ERROR)', async () => {
      const raw = await connect();
      raw.openStream(1);
      raw.send(frames.raw(FrameType.WINDOW_UPDATE, 0, 1, [0, 0, 0, 0]));
      await raw.expectRstStream(1, ErrorCode.PROTOCOL_ERROR);
      await expectWorkingCall(raw, 3);
    });

    scenario('WINDOW_UPDATE overflowing the connection window gets GOAWAY FLOW_CONTROL_ERROR', async () => {
      const raw = await connect();
      raw.send(frames.windowUpdate(0, 2 ** 31 - 1));
      await expectConnectionError(raw, ErrorCode.FLOW_CONTROL_ERROR);
    });
  });

  describe('header blocks and requests', () => {
    const garbageBlocks: [string, number[]][] = [
      ['an indexed field with index 0', [0x80]],
      ['an index past the end of the dynamic table', [0xbf]],
      ['an integer that never ends', [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]],
      ['a string longer than the block', [0x00, 0x7f, 0x01, 0x61]],
    ];
    for (const [what, block] of garbageBlocks) {
      scenario(`HPACK garbage in HEADERS (${what}) gets GOAWAY COMPRESSION_ERROR`, async () => {
        const raw = await connect();
        raw.send(frames.headers(1, block, { endStream: true }));
        await expectConnectionError(raw, ErrorCode.COMPRESSION_ERROR);
      });
    }

    const malformedFields: [string, string[]][] = [
      ['an uppercase header name', ['X-Upper', 'value']],
      ['a connection-specific header (connection: keep-alive)', ['connection', 'keep-alive']],
    ];
    for (const [what, extra] of malformedFields) {
      scenario(`a request with ${what} resets only that stream (RST_STREAM PROTOCOL_ERROR)`, async () => {
        const raw = await connect();
        raw.request(1, grpcRequestHeaders(ECHO_UNARY_PATH, extra));
        await raw.expectRstStream(1, ErrorCode.PROTOCOL_ERROR);
        await expectWorkingCall(raw, 3);
      });
    }

    scenario('DATA after END_STREAM gets RST_STREAM STREAM_CLOSED for that stream', async () => {
      // The extra DATA arrives in the same write, while stream 1 is "half-closed (remote)": RFC 9113
      // §5.1 requires a stream error of type STREAM_CLOSED there (GOAWAY STREAM_CLOSED is only a
      // MAY for the "closed" state), and §6.1 says the same for DATA.
      const raw = await connect();
      raw.send([...raw.requestFrames(1), frames.data(1, echoMessage('too late'))]);
      const answer = await raw.expectResetOrGoAway(1);
      expect(describeFrame(answer)).to.equal(`RST_STREAM(stream 1, ${errorCodeName(ErrorCode.STREAM_CLOSED)})`);
      await expectWorkingCall(raw, 3);
    });

    scenario('a new stream id lower than a used one (HEADERS on 5, then 3) gets GOAWAY PROTOCOL_ERROR', async () => {
      // RFC 9113 §5.1.1: a new stream id MUST be greater than every id the peer opened; an
      // unexpected stream identifier MUST get a connection error of type PROTOCOL_ERROR
      // (h2spec http2/5.1.1/2 checks exactly this).
      const raw = await connect();
      await expectWorkingCall(raw, 5);
      raw.request(3);
      const goAway = await raw.expectGoAway(ErrorCode.PROTOCOL_ERROR);
      expect(goAway.lastStreamId, 'last stream id').to.equal(5);
      await raw.closed();
    });

    scenario('a call to an unknown method gets a trailers-only response with grpc-status 12', async () => {
      const raw = await connect();
      raw.request(1, grpcRequestHeaders('/grpc.examples.echo.Echo/NoSuchMethod'));
      const response = await raw.expectResponse(1);
      expect(response.trailers, 'trailers-only: one HEADERS frame with END_STREAM').to.equal(null);
      expect(response.data.length).to.equal(0);
      expect(headerValue(response.headers, ':status')).to.equal('200');
      expect(response.grpcStatus).to.equal('12');
    });

    scenario('a GET request gets :status 405', async () => {
      const raw = await connect();
      const headers = grpcRequestHeaders();
      headers[1] = 'GET';
      raw.request(1, headers, null);
      const response = await raw.expectResponse(1);
      expect(headerValue(response.headers, ':status')).to.equal('405');
    });

    scenario('content-type text/plain gets :status 415', async () => {
      const raw = await connect();
      const headers = grpcRequestHeaders();
      headers[headers.indexOf('content-type') + 1] = 'text/plain';
      raw.request(1, headers);
      const response = await raw.expectResponse(1);
      expect(headerValue(response.headers, ':status')).to.equal('415');
    });
  });

  describe('concurrency', () => {
    scenario('the stream past SETTINGS_MAX_CONCURRENT_STREAMS (100) gets RST_STREAM REFUSED_STREAM', async () => {
      const raw = await connect();
      const opening: Buffer[] = [];
      for (let index = 0; index < 101; index++) opening.push(...raw.requestFrames(2 * index + 1, grpcRequestHeaders(), null, false));
      raw.send(opening);
      // The first reset or GOAWAY must be the refusal of stream 201, the 101st.
      const answer = await raw.expectMatching((frame) => frame.type === FrameType.RST_STREAM || frame.type === FrameType.GOAWAY, 'RST_STREAM or GOAWAY');
      expect(describeFrame(answer)).to.equal(`RST_STREAM(stream 201, ${errorCodeName(ErrorCode.REFUSED_STREAM)})`);
      // The 100 accepted streams still work: finish the first one.
      raw.send(frames.data(1, echoMessage('call 1'), { endStream: true }));
      const response = await raw.expectResponse(1);
      expect(response.grpcStatus, 'grpc-status').to.equal('0');
      expect(echoReplyText(response.data)).to.equal('call 1');
    });
  });
});
