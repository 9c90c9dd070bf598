import { expect } from 'chai';
import { CLIENT_PEER } from '../../../lib/transport/connection/peer';
import { ErrorCode } from '../../../lib/transport/errors';
import { encodeStaticHeaderBlock, type HeaderList } from '../../../lib/transport/hpack/header-block';
import { FakeReaderHost, REQUEST } from '../../support/fake-reader-host';
import { frames } from '../../support/frames';

const { PROTOCOL_ERROR, STREAM_CLOSED, COMPRESSION_ERROR } = ErrorCode;

const block = (headers: HeaderList): Buffer => encodeStaticHeaderBlock(headers);

/** An HPACK literal with incremental indexing and a new name (RFC 7541 §6.2.1): inserts into the table. */
function indexedLiteral(name: string, value: string): Buffer {
  return Buffer.concat([Buffer.from([0x40, name.length]), Buffer.from(name, 'latin1'), Buffer.from([value.length]), Buffer.from(value, 'latin1')]);
}

describe('ReaderLoop: HEADERS opening peer streams (server)', () => {
  it('a valid request opens the stream with its head and raises the last peer stream id', () => {
    const host = new FakeReaderHost();
    host.request(1);
    host.request(3, { endStream: true });
    expect(host.errors).to.deep.equal([]);
    expect(host.opened.map(({ id, endStream }) => [id, endStream])).to.deep.equal([
      [1, false],
      [3, true],
    ]);
    expect(host.opened[0].headers).to.deep.equal(REQUEST);
    expect(host.opened[0].head).to.deep.equal({ method: 'POST', scheme: 'http', path: '/svc/Method', authority: 'localhost', contentLength: -1 });
    expect(host.registry.lastPeerStreamId).to.equal(3);
  });

  for (const [why, headers] of [
    ['missing :path', [':method', 'POST', ':scheme', 'http']],
    ['uppercase field name', [...REQUEST, 'X-Upper', 'v']],
    ['connection-specific field', [...REQUEST, 'connection', 'close']],
    ['te other than trailers', [...REQUEST, 'te', 'gzip']],
    ['pseudo-header after a regular field', [':method', 'POST', 'x-a', 'b', ':scheme', 'http', ':path', '/']],
    ['unknown pseudo-header', [...REQUEST.slice(0, 6), ':protocol', 'x']],
  ] as [string, HeaderList][]) {
    it(`a malformed request (${why}) is a stream PROTOCOL_ERROR; the id is used up (RFC 9113 §8.1.1)`, () => {
      const host = new FakeReaderHost();
      host.request(1, { headers });
      expect(host.errors).to.deep.equal([`stream 1 ${PROTOCOL_ERROR}`]);
      expect(host.opened).to.deep.equal([]);
      expect(host.registry.lastPeerStreamId).to.equal(1);
    });
  }

  it('a header list past our SETTINGS_MAX_HEADER_LIST_SIZE opens the stream with head null (truncated)', () => {
    const host = new FakeReaderHost();
    host.localSettings.maxHeaderListSize = 100;
    host.request(1, { headers: [...REQUEST, 'x-big', 'v'.repeat(200)] });
    expect(host.errors).to.deep.equal([]);
    expect(host.opened).to.have.length(1);
    expect(host.opened[0].head).to.equal(null);
  });

  it('an even (server-side) stream id from a client is a connection PROTOCOL_ERROR (RFC 9113 §5.1.1)', () => {
    const host = new FakeReaderHost();
    host.request(2);
    expect(host.errors).to.deep.equal([`connection ${PROTOCOL_ERROR}`]);
    expect(host.opened).to.deep.equal([]);
  });

  it('an id below the last one that was skipped over is a connection PROTOCOL_ERROR', () => {
    const host = new FakeReaderHost();
    host.request(5);
    host.request(3);
    expect(host.errors).to.deep.equal([`connection ${PROTOCOL_ERROR}`]);
  });

  it('HEADERS on a stream that was opened and has closed is a connection STREAM_CLOSED (RFC 9113 §5.1)', () => {
    const host = new FakeReaderHost();
    host.request(1);
    host.registry.remove(host.stream(1));
    host.request(1);
    expect(host.errors).to.deep.equal([`connection ${STREAM_CLOSED}`]);
  });

  it('HEADERS on a stream we recently reset is ignored, but still decoded (the HPACK table stays in sync, §4.3)', () => {
    const host = new FakeReaderHost();
    host.request(1);
    host.registry.remove(host.stream(1));
    host.registry.rememberReset(1);
    // Trailers for the reset stream insert x-late: one into the dynamic table (index 62)...
    host.receive(frames.headers(1, indexedLiteral('x-late', 'one'), { endStream: true }));
    expect(host.errors).to.deep.equal([]);
    // ...which the next request refers to.
    host.receive(frames.headers(3, Buffer.concat([block(REQUEST), Buffer.from([0x80 | 62])])));
    expect(host.errors).to.deep.equal([]);
    expect(host.opened.at(-1)!.headers.slice(-2)).to.deep.equal(['x-late', 'one']);
  });

  it('a header block that does not decode is a connection COMPRESSION_ERROR, whatever the stream', () => {
    const host = new FakeReaderHost();
    host.registry.openedByPeer(1);
    host.registry.rememberReset(1);
    // Indexed field with index 0 (RFC 7541 §6.1).
    host.receive(frames.headers(1, [0x80], { endStream: true }));
    expect(host.errors).to.deep.equal([`connection ${COMPRESSION_ERROR}`]);
  });

  it('a stream depending on itself is a stream PROTOCOL_ERROR, and its id counts as opened (RFC 9113 §5.3.1)', () => {
    const host = new FakeReaderHost();
    host.request(1, { priority: { exclusive: false, dependsOn: 1, weight: 16 } });
    expect(host.errors).to.deep.equal([`stream 1 ${PROTOCOL_ERROR}`]);
    expect(host.opened).to.deep.equal([]);
    expect(host.registry.lastPeerStreamId).to.equal(1);
  });
});

describe('ReaderLoop: trailers', () => {
  function openStream(): FakeReaderHost {
    const host = new FakeReaderHost();
    host.request(1);
    host.receive(frames.data(1, 'body'));
    return host;
  }

  it('a second HEADERS with END_STREAM is the trailer section: delivered, then the end', () => {
    const host = openStream();
    host.receive(frames.headers(1, block(['grpc-status', '0']), { endStream: true }));
    expect(host.errors).to.deep.equal([]);
    expect(host.events.get(1)).to.deep.equal(['data:body', 'trailers:grpc-status,0', 'end']);
    expect(host.stream(1).state).to.equal('halfClosedRemote');
  });

  it('trailers without END_STREAM are a stream PROTOCOL_ERROR (RFC 9113 §8.1)', () => {
    const host = openStream();
    host.receive(frames.headers(1, block(['grpc-status', '0'])));
    expect(host.errors).to.deep.equal([`stream 1 ${PROTOCOL_ERROR}`]);
    expect(host.events.get(1)).to.deep.equal(['data:body']);
  });

  it('trailers with a pseudo-header field are a stream PROTOCOL_ERROR', () => {
    const host = openStream();
    host.receive(frames.headers(1, block([':status', '200']), { endStream: true }));
    expect(host.errors).to.deep.equal([`stream 1 ${PROTOCOL_ERROR}`]);
  });

  it("HEADERS after the peer's END_STREAM are a stream STREAM_CLOSED", () => {
    const host = openStream();
    host.stream(1).pause();
    host.receive(frames.data(1, '', { endStream: true }));
    host.receive(frames.headers(1, block(['x', 'y']), { endStream: true }));
    expect(host.errors).to.deep.equal([`stream 1 ${STREAM_CLOSED}`]);
  });
});

describe('ReaderLoop: HEADERS on a client connection', () => {
  it('the first final HEADERS on our stream is the response', () => {
    const host = new FakeReaderHost(CLIENT_PEER);
    const stream = host.openLocal();
    host.receive(frames.headers(stream.id, block([':status', '200', 'content-type', 'application/grpc'])));
    expect(host.errors).to.deep.equal([]);
    expect(host.responses.map(({ id, endStream, head }) => [id, endStream, head.status])).to.deep.equal([[1, false, 200]]);
  });

  it('interim 1xx responses are skipped; 101, or an interim response with END_STREAM, is a stream PROTOCOL_ERROR', () => {
    const host = new FakeReaderHost(CLIENT_PEER);
    const first = host.openLocal();
    host.receive(frames.headers(first.id, block([':status', '103'])));
    expect(host.responses).to.deep.equal([]);
    host.receive(frames.headers(first.id, block([':status', '200'])));
    expect(host.responses).to.have.length(1);
    const second = host.openLocal();
    host.receive(frames.headers(second.id, block([':status', '101'])));
    const third = host.openLocal();
    host.receive(frames.headers(third.id, block([':status', '100']), { endStream: true }));
    expect(host.errors).to.deep.equal([`stream ${second.id} ${PROTOCOL_ERROR}`, `stream ${third.id} ${PROTOCOL_ERROR}`]);
  });

  it('a response without :status, or with a request pseudo-header, is a stream PROTOCOL_ERROR', () => {
    const host = new FakeReaderHost(CLIENT_PEER);
    const first = host.openLocal();
    host.receive(frames.headers(first.id, block(['content-type', 'text/plain'])));
    const second = host.openLocal();
    host.receive(frames.headers(second.id, block([':status', '200', ':path', '/'])));
    expect(host.errors).to.deep.equal([`stream ${first.id} ${PROTOCOL_ERROR}`, `stream ${second.id} ${PROTOCOL_ERROR}`]);
    expect(host.responses).to.deep.equal([]);
  });

  it('the response content-length is enforced on the DATA that follows; 204 carries none', () => {
    const host = new FakeReaderHost(CLIENT_PEER);
    const sized = host.openLocal();
    host.receive(frames.headers(sized.id, block([':status', '200', 'content-length', '2'])));
    host.receive(frames.data(sized.id, 'abc'));
    const empty = host.openLocal();
    host.receive(frames.headers(empty.id, block([':status', '204', 'content-length', '2']), { endStream: true }));
    expect(host.errors).to.deep.equal([`stream ${sized.id} ${PROTOCOL_ERROR}`]);
  });

  it('HEADERS on a stream the server would open (even id) is a connection PROTOCOL_ERROR: no push (RFC 9113 §8.4)', () => {
    const host = new FakeReaderHost(CLIENT_PEER);
    host.receive(frames.headers(2, block([':status', '200'])));
    expect(host.errors).to.deep.equal([`connection ${PROTOCOL_ERROR}`]);
  });

  it('HEADERS on one of our ids we never used is a connection PROTOCOL_ERROR', () => {
    const host = new FakeReaderHost(CLIENT_PEER);
    host.receive(frames.headers(1, block([':status', '200'])));
    expect(host.errors).to.deep.equal([`connection ${PROTOCOL_ERROR}`]);
  });

  it('DATA before the response HEADERS is a stream PROTOCOL_ERROR (RFC 9113 §8.1), with or without END_STREAM', () => {
    const host = new FakeReaderHost(CLIENT_PEER);
    const early = host.openLocal();
    host.receive(frames.data(early.id, 'early'));
    const ended = host.openLocal();
    host.receive(frames.data(ended.id, '', { endStream: true }));
    expect(host.errors).to.deep.equal([`stream ${early.id} ${PROTOCOL_ERROR}`, `stream ${ended.id} ${PROTOCOL_ERROR}`]);
    expect(host.responses).to.deep.equal([]);
  });

  it('a server-opened (even) stream id that depends on itself is still a connection PROTOCOL_ERROR, and opens nothing', () => {
    const host = new FakeReaderHost(CLIENT_PEER);
    host.receive(frames.headers(2, block([':status', '200']), { priority: { exclusive: false, dependsOn: 2, weight: 16 } }));
    expect(host.errors).to.deep.equal([`connection ${PROTOCOL_ERROR}`]);
    expect(host.registry.lastPeerStreamId).to.equal(0);
  });
});
