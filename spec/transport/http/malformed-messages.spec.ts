/**
 * RFC 9113 §8.1-§8.3, enforced by the transport itself: a bare server-role Http2Connection (no
 * gRPC above it) resets each malformed request with RST_STREAM(PROTOCOL_ERROR) before the
 * application sees it, and the next request on the same connection is served.
 */
import { expect } from 'chai';
import * as net from 'node:net';
import { once } from 'node:events';
import { ErrorCode, Http2Connection, type HeaderList, type Http2Stream } from '../../../lib/transport';
import { frames } from '../../support/frames';
import { headerValue, RawPeer } from '../../support/raw-peer';

const REQUEST: HeaderList = [':method', 'POST', ':scheme', 'http', ':path', '/upload', ':authority', 'localhost'];

/** Answers every request with 200 and the number of body bytes it received. */
function answerWithLength(stream: Http2Stream): void {
  let length = 0;
  stream.setListener({
    onData: (chunk) => (length += chunk.length),
    onTrailers() {},
    onEnd: () => stream.sendHeaders([':status', '200', 'x-length', String(length)], true),
    onReset() {},
    onDrain() {},
  });
}

describe('malformed messages (RFC 9113 §8.1-§8.3) are reset by the transport', () => {
  let listener: net.Server;
  let port: number;
  const seen: string[] = [];
  let peer: RawPeer | undefined;

  before(async () => {
    listener = net.createServer((socket) => {
      const connection = new Http2Connection(socket, 'server');
      connection.on('stream', (stream: Http2Stream) => {
        seen.push(stream.requestHead!.path);
        answerWithLength(stream);
      });
    });
    listener.listen(0, '127.0.0.1');
    await once(listener, 'listening');
    port = (listener.address() as net.AddressInfo).port;
  });

  after(async () => {
    listener.close();
    await once(listener, 'close');
  });

  afterEach(() => {
    peer?.destroy();
    peer = undefined;
    seen.length = 0;
  });

  async function connect(): Promise<RawPeer> {
    peer = await RawPeer.connect(port);
    peer.sendPreface();
    return peer;
  }

  /** A good request on `streamId` of the same connection is answered, carrying `body`. */
  async function expectServed(raw: RawPeer, streamId: number, body = Buffer.from('hello')): Promise<void> {
    raw.send(raw.requestFrames(streamId, [...REQUEST, 'content-length', String(body.length)], body));
    const response = await raw.expectResponse(streamId);
    expect(headerValue(response.headers, ':status')).to.equal('200');
    expect(headerValue(response.headers, 'x-length')).to.equal(String(body.length));
  }

  const malformedHeads: [string, HeaderList][] = [
    ['an uppercase field name (§8.2.1)', [...REQUEST, 'X-Upper', 'v']],
    ['a field value with a line feed (§8.2.1)', [...REQUEST, 'x-bad', 'a\nb']],
    ['a field value with NUL (§8.2.1)', [...REQUEST, 'x-bad', 'a\0b']],
    ['a field value with leading whitespace (§8.2.1)', [...REQUEST, 'x-bad', ' v']],
    ['a connection-specific field: connection (§8.2.2)', [...REQUEST, 'connection', 'close']],
    ['a connection-specific field: transfer-encoding (§8.2.2)', [...REQUEST, 'transfer-encoding', 'chunked']],
    ['a connection-specific field: upgrade (§8.2.2)', [...REQUEST, 'upgrade', 'h2c']],
    ['a connection-specific field: keep-alive (§8.2.2)', [...REQUEST, 'keep-alive', '5']],
    ['a connection-specific field: proxy-connection (§8.2.2)', [...REQUEST, 'proxy-connection', 'x']],
    ['te other than "trailers" (§8.2.2)', [...REQUEST, 'te', 'gzip']],
    ['a pseudo-header after a regular field (§8.3)', [':method', 'POST', ':scheme', 'http', 'x-a', 'b', ':path', '/upload']],
    ['a duplicate :path (§8.3.1)', [...REQUEST, ':path', '/again']],
    ['a duplicate :method (§8.3.1)', [':method', 'POST', ':method', 'GET', ':scheme', 'http', ':path', '/upload']],
    ['no :method (§8.3.1)', [':scheme', 'http', ':path', '/upload']],
    ['no :scheme (§8.3.1)', [':method', 'POST', ':path', '/upload']],
    ['no :path (§8.3.1)', [':method', 'POST', ':scheme', 'http']],
    ['an empty :path (§8.3.1)', [':method', 'POST', ':scheme', 'http', ':path', '']],
    ['an unknown pseudo-header (§8.3)', [...REQUEST, ':protocol', 'websocket']],
    ['a response pseudo-header in a request (§8.3)', [...REQUEST, ':status', '200']],
    ['a CONNECT with :path (§8.5)', [':method', 'CONNECT', ':authority', 'a:1', ':path', '/']],
    ['a malformed content-length (§8.1.1)', [...REQUEST, 'content-length', 'ten']],
    ['two different content-length values (§8.1.1)', [...REQUEST, 'content-length', '1', 'content-length', '2']],
  ];
  for (const [what, headers] of malformedHeads) {
    it(`${what}: RST_STREAM PROTOCOL_ERROR, the application never sees it, the next request is served`, async () => {
      const raw = await connect();
      raw.send(raw.requestFrames(1, headers, Buffer.from('x')));
      await raw.expectRstStream(1, ErrorCode.PROTOCOL_ERROR);
      await expectServed(raw, 3);
      expect(seen).to.deep.equal(['/upload']);
    });
  }

  const malformedBodies: [string, (raw: RawPeer) => Buffer[]][] = [
    ['DATA longer than content-length (§8.1.1)', (raw) => raw.requestFrames(1, [...REQUEST, 'content-length', '3'], Buffer.from('four'))],
    ['DATA shorter than content-length at END_STREAM (§8.1.1)', (raw) => raw.requestFrames(1, [...REQUEST, 'content-length', '5'], Buffer.from('four'))],
    ['content-length without any DATA (§8.1.1)', (raw) => raw.requestFrames(1, [...REQUEST, 'content-length', '5'], null)],
    [
      'content-length not reached when the trailers end the stream (§8.1.1)',
      (raw) => [
        frames.headers(1, raw.encodeHeaders([...REQUEST, 'content-length', '5'])),
        frames.data(1, 'ab'),
        frames.headers(1, raw.encodeHeaders(['x-t', '1']), { endStream: true }),
      ],
    ],
    [
      'a pseudo-header in the trailers (§8.1)',
      (raw) => [
        frames.headers(1, raw.encodeHeaders(REQUEST)),
        frames.data(1, 'ab'),
        frames.headers(1, raw.encodeHeaders([':path', '/x']), { endStream: true }),
      ],
    ],
    [
      'a connection-specific field in the trailers (§8.2.2)',
      (raw) => [frames.headers(1, raw.encodeHeaders(REQUEST)), frames.headers(1, raw.encodeHeaders(['connection', 'close']), { endStream: true })],
    ],
    ['trailers without END_STREAM (§8.1)', (raw) => [frames.headers(1, raw.encodeHeaders(REQUEST)), frames.headers(1, raw.encodeHeaders(['x-t', '1']))]],
  ];
  for (const [what, build] of malformedBodies) {
    it(`${what}: RST_STREAM PROTOCOL_ERROR, the next request is served`, async () => {
      const raw = await connect();
      raw.send(build(raw));
      await raw.expectRstStream(1, ErrorCode.PROTOCOL_ERROR);
      await expectServed(raw, 3);
    });
  }

  it('content-length matching the DATA, split over several frames, is served', async () => {
    const raw = await connect();
    raw.send([frames.headers(1, raw.encodeHeaders([...REQUEST, 'content-length', '6'])), frames.data(1, 'abc'), frames.data(1, 'def', { endStream: true })]);
    const response = await raw.expectResponse(1);
    expect(headerValue(response.headers, 'x-length')).to.equal('6');
  });
});
