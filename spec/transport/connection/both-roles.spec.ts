import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import { ErrorCode, Http2Connection, type HeaderList, type Http2Stream, type Initiator, type StreamListener } from '../../../lib/transport';
import { duplexPair } from '../../../lib/transport/duplex-pair';
import { eventually } from '../../support/waiting';

/** Our client-role connection against our server-role connection: the bare transport, no gRPC. */

type Event = 'headers' | 'data' | 'trailers' | 'end' | 'reset';

interface Hooks {
  onHeaders?(headers: HeaderList): void;
  onData?(chunk: Buffer): void;
  onTrailers?(trailers: HeaderList): void;
  onEnd?(): void;
  onDrain?(): void;
  /** Keep received chunks in `data` (default true; a 16 MiB transfer hashes them instead). */
  keepData?: boolean;
}

/** Records what a stream delivers, in order; `done` resolves at its end or reset. Hooks run after recording. */
class Collector implements StreamListener {
  events: Event[] = [];
  headers: HeaderList | null = null;
  trailers: HeaderList | null = null;
  data: Buffer[] = [];
  reset: { errorCode: number; initiator: Initiator } | null = null;
  readonly done: Promise<void>;
  private finish!: () => void;

  constructor(private readonly hooks: Hooks = {}) {
    this.done = new Promise((resolve) => (this.finish = resolve));
  }

  get body(): Buffer {
    return Buffer.concat(this.data);
  }

  onHeaders(headers: HeaderList): void {
    this.events.push('headers');
    this.headers = headers;
    this.hooks.onHeaders?.(headers);
  }
  onData(chunk: Buffer): void {
    if (this.events[this.events.length - 1] !== 'data') this.events.push('data');
    if (this.hooks.keepData !== false) this.data.push(chunk);
    this.hooks.onData?.(chunk);
  }
  onTrailers(trailers: HeaderList): void {
    this.events.push('trailers');
    this.trailers = trailers;
    this.hooks.onTrailers?.(trailers);
  }
  onEnd(): void {
    this.events.push('end');
    this.hooks.onEnd?.();
    this.finish();
  }
  onReset(errorCode: number, initiator: Initiator): void {
    this.events.push('reset');
    this.reset = { errorCode, initiator };
    this.finish();
  }
  onDrain(): void {
    this.hooks.onDrain?.();
  }
}

function request(path: string): HeaderList {
  return [':method', 'POST', ':scheme', 'http', ':path', path, ':authority', 'both-roles.test', 'content-type', 'application/octet-stream'];
}

const RESPONSE: HeaderList = [':status', '200', 'content-type', 'application/octet-stream'];

function value(headers: HeaderList | null, name: string): string | undefined {
  for (let index = 0; headers !== null && index < headers.length; index += 2) if (headers[index] === name) return headers[index + 1];
  return undefined;
}

function sha256(data: Buffer | Buffer[]): string {
  const hash = createHash('sha256');
  for (const part of Array.isArray(data) ? data : [data]) hash.update(part);
  return hash.digest('hex');
}

/** A client connection and the server connection it talks to, over one transport. */
interface Pair {
  client: Http2Connection;
  server: Http2Connection;
  /** What the server does with each stream a peer opens. */
  onStream: (stream: Http2Stream) => void;
  close(): Promise<void>;
}

type Transport = 'in-memory duplex pair' | 'TCP loopback';

async function socketPair(transport: Transport): Promise<{ clientSocket: Duplex; serverSocket: Duplex; release(): Promise<void> }> {
  if (transport === 'in-memory duplex pair') {
    const [clientSocket, serverSocket] = duplexPair();
    return { clientSocket, serverSocket, release: async () => {} };
  }
  const listener = net.createServer();
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const { port } = listener.address() as net.AddressInfo;
  const accepted = once(listener, 'connection') as Promise<[net.Socket]>;
  const clientSocket = net.connect(port, '127.0.0.1');
  const [[serverSocket]] = await Promise.all([accepted, once(clientSocket, 'connect')]);
  return { clientSocket, serverSocket, release: () => new Promise<void>((resolve) => listener.close(() => resolve())) };
}

async function connect(transport: Transport): Promise<Pair> {
  const { clientSocket, serverSocket, release } = await socketPair(transport);
  const server = new Http2Connection(serverSocket, 'server');
  const client = new Http2Connection(clientSocket, 'client');
  const closed = Promise.all([once(client, 'close'), once(server, 'close')]);
  const pair: Pair = {
    client,
    server,
    onStream: () => expect.fail('no stream expected'),
    async close() {
      client.close();
      await closed;
      await release();
    },
  };
  server.on('stream', (stream: Http2Stream) => pair.onStream(stream));
  return pair;
}

/** Server handler: reads the whole request, answers with the body reversed and its length as trailers. */
function reverseHandler(stream: Http2Stream): void {
  const collector: Collector = new Collector({
    onEnd() {
      const body = Buffer.from(collector.body).reverse();
      stream.sendHeaders(RESPONSE);
      stream.write(body);
      stream.end(['x-request-bytes', String(body.length)]);
    },
  });
  stream.setListener(collector);
}

/** One request with one body, its whole response. */
async function unary(pair: Pair, body: Buffer): Promise<Collector> {
  const stream = pair.client.request(request('/reverse'));
  const collector = new Collector();
  stream.setListener(collector);
  stream.write(body, true);
  await collector.done;
  return collector;
}

/** A writer waiting for onDrain: the stream's listener calls `wait` on onDrain; `refusals` counts write() → false. */
interface Drains {
  wait: (() => void) | null;
  refusals: number;
}

/**
 * Writes `data` in `chunkSize` slices honouring write()'s backpressure (when it returns false, goes
 * on only at the listener's onDrain); resolves once everything is handed to the stream.
 */
function pump(stream: Http2Stream, data: Buffer, chunkSize: number, drains: Drains, afterWrite: () => void): Promise<void> {
  return new Promise((resolve) => {
    let offset = 0;
    const writeSome = (): void => {
      while (offset < data.length) {
        const chunk = data.subarray(offset, offset + chunkSize);
        offset += chunk.length;
        const more = stream.write(chunk);
        afterWrite();
        if (!more) {
          drains.refusals++;
          drains.wait = writeSome;
          return;
        }
      }
      resolve();
    };
    writeSome();
  });
}

for (const transport of ['in-memory duplex pair', 'TCP loopback'] as const) {
  describe(`Http2Connection client role against Http2Connection server role (${transport})`, () => {
    let pair: Pair;

    beforeEach(async () => {
      pair = await connect(transport);
    });
    afterEach(async () => {
      await pair.close();
    });

    it('RFC 9113 §8.1: a complete response followed by RST_STREAM(NO_ERROR) is delivered whole to a paused client, not discarded', async () => {
      pair.onStream = (stream) => {
        // Answer at once, before the request ends, then ask the client to stop sending.
        stream.sendHeaders(RESPONSE);
        stream.write(Buffer.from('early answer'));
        stream.end(['x-done', 'yes']);
        stream.resetAfterEnd(ErrorCode.NO_ERROR);
      };
      const stream = pair.client.request(request('/early'));
      const collector = new Collector();
      stream.setListener(collector);
      stream.pause();
      stream.write(Buffer.from('a request that is never finished'));
      // The response and the reset are in: the data waits in the paused stream.
      await eventually(() => stream.isClosed && stream.bufferedBytes > 0);
      expect(collector.events).to.deep.equal(['headers']);
      stream.resume();
      await collector.done;
      expect(collector.events).to.deep.equal(['headers', 'data', 'trailers', 'end']);
      expect(collector.body.toString()).to.equal('early answer');
      expect(value(collector.trailers, 'x-done')).to.equal('yes');
      expect(() => stream.write(Buffer.from('more')), 'sending after the reset').to.throw(/not writable/);
      await eventually(() => pair.client.stats.streams === 0 && pair.client.stats.queuedBytes === 0);
    });

    describe('the four call shapes at HTTP/2 level', () => {
      it('request/response: one body each way, odd stream ids, both sides back to zero streams', async () => {
        const seen: Http2Stream[] = [];
        pair.onStream = (stream) => {
          seen.push(stream);
          reverseHandler(stream);
        };
        const first = await unary(pair, Buffer.from('hello, server'));
        const second = await unary(pair, Buffer.from('second'));
        expect(seen.map((stream) => stream.id)).to.deep.equal([1, 3]);
        expect(seen[0].headers).to.deep.equal(request('/reverse'));
        expect(first.events).to.deep.equal(['headers', 'data', 'trailers', 'end']);
        expect(value(first.headers, ':status')).to.equal('200');
        expect(first.body.toString()).to.equal('revres ,olleh');
        expect(value(first.trailers, 'x-request-bytes')).to.equal('13');
        expect(second.body.toString()).to.equal('dnoces');
        await eventually(() => pair.client.stats.streams === 0 && pair.server.stats.streams === 0);
      });

      it('one request, many response chunks', async () => {
        const chunks = Array.from({ length: 200 }, (_, index) => Buffer.from(`response chunk ${index};`));
        pair.onStream = (stream) => {
          const collector: Collector = new Collector({
            onEnd() {
              expect(collector.body.toString()).to.equal('send me 200');
              stream.sendHeaders(RESPONSE);
              for (const chunk of chunks) stream.write(chunk);
              stream.end();
            },
          });
          stream.setListener(collector);
        };
        const stream = pair.client.request(request('/many-out'));
        const collector = new Collector();
        stream.setListener(collector);
        stream.write(Buffer.from('send me 200'), true);
        await collector.done;
        expect(collector.reset).to.equal(null);
        expect(collector.body.toString()).to.equal(Buffer.concat(chunks).toString());
        expect(collector.events).to.deep.equal(['headers', 'data', 'end']);
        expect(collector.trailers).to.equal(null);
      });

      it('many request chunks, one response', async () => {
        const chunks = Array.from({ length: 200 }, (_, index) => Buffer.from(`request chunk ${index};`));
        pair.onStream = (stream) => {
          const collector: Collector = new Collector({
            onEnd() {
              stream.sendHeaders(RESPONSE);
              stream.write(Buffer.from(`${collector.data.length > 0 ? sha256(collector.data) : 'nothing'}`), true);
            },
          });
          stream.setListener(collector);
        };
        const stream = pair.client.request(request('/many-in'));
        const collector = new Collector();
        stream.setListener(collector);
        for (const chunk of chunks) stream.write(chunk);
        stream.end();
        await collector.done;
        expect(collector.reset).to.equal(null);
        expect(collector.body.toString()).to.equal(sha256(chunks));
      });

      it('interleaved bidi echo: 1000 chunks, each sent after the echo of the one before', async () => {
        pair.onStream = (stream) => {
          stream.sendHeaders(RESPONSE);
          stream.setListener(
            new Collector({
              onData: (chunk) => stream.write(chunk),
              onEnd: () => stream.end(['x-echoed', 'yes']),
            }),
          );
        };
        const sent = Array.from({ length: 1000 }, (_, index) => Buffer.from(`ping ${index} ${'x'.repeat(index % 37)}`));
        const stream = pair.client.request(request('/echo'));
        let next = 0;
        const sendNext = (): void => {
          if (next < sent.length) stream.write(sent[next++]);
          else stream.end();
        };
        const collector = new Collector({ onData: sendNext });
        stream.setListener(collector);
        sendNext();
        await collector.done;
        expect(collector.reset).to.equal(null);
        // One chunk in flight at a time: each echo comes back as exactly the chunk sent.
        expect(collector.data.length).to.equal(1000);
        collector.data.forEach((echo, index) => expect(echo.equals(sent[index]), `echo ${index}`).to.equal(true));
        expect(value(collector.trailers, 'x-echoed')).to.equal('yes');
      });
    });

    it('trailers both ways, after the data, before the end', async () => {
      let serverSide: Collector | null = null;
      pair.onStream = (stream) => {
        const collector: Collector = new Collector({
          onEnd() {
            stream.sendHeaders(RESPONSE);
            stream.write(Buffer.from('body'));
            stream.end(['x-server-trailer', 's1', 'x-seen-client-trailer', value(collector.trailers, 'x-client-trailer') ?? 'none']);
          },
        });
        serverSide = collector;
        stream.setListener(collector);
      };
      const stream = pair.client.request(request('/trailers'));
      const collector = new Collector();
      stream.setListener(collector);
      stream.write(Buffer.from('request body'));
      stream.end(['x-client-trailer', 'c1', 'x-other', 'o']);
      await collector.done;
      expect(serverSide!.events).to.deep.equal(['data', 'trailers', 'end']);
      expect(serverSide!.trailers).to.deep.equal(['x-client-trailer', 'c1', 'x-other', 'o']);
      expect(serverSide!.body.toString()).to.equal('request body');
      expect(collector.events).to.deep.equal(['headers', 'data', 'trailers', 'end']);
      expect(collector.trailers).to.deep.equal(['x-server-trailer', 's1', 'x-seen-client-trailer', 'c1']);
    });

    describe('reset', () => {
      it('by the client: the server stream hears RST_STREAM with the code, and the connection goes on', async () => {
        let serverSide: Collector | null = null;
        let firstChunk!: () => void;
        const arrived = new Promise<void>((resolve) => (firstChunk = resolve));
        pair.onStream = (stream) => {
          if (value(stream.headers, ':path') === '/reverse') return reverseHandler(stream);
          stream.sendHeaders(RESPONSE);
          serverSide = new Collector({ onData: firstChunk });
          stream.setListener(serverSide);
        };
        const stream = pair.client.request(request('/to-be-reset'));
        const collector = new Collector();
        stream.setListener(collector);
        stream.write(Buffer.from('first'));
        await arrived;
        stream.reset(ErrorCode.CANCEL);
        expect(stream.isAborted).to.equal(true);
        await serverSide!.done;
        expect(serverSide!.reset).to.deep.equal({ errorCode: ErrorCode.CANCEL, initiator: 'remote' });
        expect(serverSide!.events).to.deep.equal(['data', 'reset']);
        expect(collector.events).not.to.include('reset'); // the side that resets is not told
        await eventually(() => pair.client.stats.streams === 0 && pair.server.stats.streams === 0);
        expect((await unary(pair, Buffer.from('after'))).body.toString()).to.equal('retfa');
      });

      it('by the server: the client stream hears RST_STREAM with the code, and the connection goes on', async () => {
        pair.onStream = (stream) => {
          if (value(stream.headers, ':path') === '/reverse') return reverseHandler(stream);
          stream.sendHeaders(RESPONSE);
          stream.setListener(new Collector({ onData: () => stream.reset(ErrorCode.INTERNAL_ERROR) }));
        };
        const stream = pair.client.request(request('/server-resets'));
        // Data only once the response headers are here: the reset must come after them (headers
        // still queued when the stream is reset are dropped with it).
        const collector = new Collector({ onHeaders: () => stream.write(Buffer.from('provoke')) });
        stream.setListener(collector);
        await collector.done;
        expect(collector.reset).to.deep.equal({ errorCode: ErrorCode.INTERNAL_ERROR, initiator: 'remote' });
        expect(collector.events).to.deep.equal(['headers', 'reset']);
        expect(stream.isAborted).to.equal(true);
        expect(() => stream.write(Buffer.from('more'))).to.throw(/not writable/);
        await eventually(() => pair.client.stats.streams === 0 && pair.server.stats.streams === 0);
        expect((await unary(pair, Buffer.from('after'))).body.toString()).to.equal('retfa');
      });
    });

    describe('flow control', () => {
      const SIZE = 16 * 1024 * 1024;
      const CHUNK = 16 * 1024;
      const WRITE_QUOTA = 64 * 1024; // ConnectionOptions.writeQuota default
      const STREAM_WINDOW = 256 * 1024; // DEFAULT_LOCAL_SETTINGS.initialWindowSize
      /** The slow reader pauses after every CHUNKS_PER_PAUSE chunks and resumes PAUSE_TURNS setImmediate turns later. */
      const CHUNKS_PER_PAUSE = 3;
      const PAUSE_TURNS = 12;
      const afterTurns = (turns: number, then: () => void): void => {
        setImmediate(() => (turns > 1 ? afterTurns(turns - 1, then) : then()));
      };

      it('16 MiB each way with a slow reader on each side: queued and buffered bytes stay bounded, the bytes arrive intact', async function () {
        this.timeout(60_000);
        const upload = randomBytes(SIZE);
        const download = randomBytes(SIZE);
        const max = { clientQueued: 0, serverQueued: 0, clientBuffered: 0, serverBuffered: 0 };
        // Assigned below, read by closures created before that.
        // eslint-disable-next-line prefer-const
        let clientStream!: Http2Stream;
        let serverStream: Http2Stream | null = null;
        const sample = (): void => {
          max.clientQueued = Math.max(max.clientQueued, pair.client.stats.queuedBytes);
          max.serverQueued = Math.max(max.serverQueued, pair.server.stats.queuedBytes);
          max.clientBuffered = Math.max(max.clientBuffered, clientStream.bufferedBytes);
          if (serverStream !== null) max.serverBuffered = Math.max(max.serverBuffered, serverStream.bufferedBytes);
        };
        /** A listener that reads slowly: pause every CHUNKS_PER_PAUSE chunks, resume PAUSE_TURNS turns later. */
        const slowReader = (stream: () => Http2Stream, drains: Drains) => {
          let chunks = 0;
          let pauses = 0;
          const hash = createHash('sha256');
          let bytes = 0;
          const collector = new Collector({
            keepData: false,
            onData(chunk) {
              hash.update(chunk);
              bytes += chunk.length;
              sample();
              if (++chunks % CHUNKS_PER_PAUSE === 0) {
                pauses++;
                stream().pause();
                afterTurns(PAUSE_TURNS, () => {
                  sample(); // the peak: everything that arrived while paused is buffered now
                  stream().resume();
                });
              }
            },
            onDrain() {
              const wait = drains.wait;
              drains.wait = null;
              wait?.();
            },
          });
          return { collector, digest: () => hash.digest('hex'), bytes: () => bytes, pauses: () => pauses };
        };

        const serverDrains: Drains = { wait: null, refusals: 0 };
        let serverDone!: Promise<{ bytes: number; pauses: number }>;
        pair.onStream = (stream) => {
          serverStream = stream;
          const reader = slowReader(() => stream, serverDrains);
          stream.setListener(reader.collector);
          stream.sendHeaders(RESPONSE);
          serverDone = (async () => {
            // End only after the request ended too: a server ending first resets the rest (RFC 9113 §8.1).
            await Promise.all([pump(stream, download, CHUNK, serverDrains, sample), reader.collector.done]);
            expect(reader.collector.reset).to.equal(null);
            stream.end(['x-upload-sha256', reader.digest()]);
            return { bytes: reader.bytes(), pauses: reader.pauses() };
          })();
        };

        const started = process.hrtime.bigint();
        clientStream = pair.client.request(request('/both-ways'));
        const clientDrains: Drains = { wait: null, refusals: 0 };
        const clientReader = slowReader(() => clientStream, clientDrains);
        clientStream.setListener(clientReader.collector);
        await pump(clientStream, upload, CHUNK, clientDrains, sample);
        clientStream.end();
        await clientReader.collector.done;
        const server = await serverDone;
        const milliseconds = Number(process.hrtime.bigint() - started) / 1e6;

        if (process.env.SPEC_FIGURES) {
          console.log(
            `      ${transport}: 2 × 16 MiB in ${milliseconds.toFixed(0)} ms; max queued client ${max.clientQueued} server ${max.serverQueued}; max buffered client ${max.clientBuffered} server ${max.serverBuffered}; write() false client ${clientDrains.refusals} server ${serverDrains.refusals}`,
          );
        }
        expect(clientReader.collector.reset).to.equal(null);
        expect(clientReader.bytes()).to.equal(SIZE);
        expect(clientReader.digest()).to.equal(sha256(download));
        expect(server.bytes).to.equal(SIZE);
        expect(value(clientReader.collector.trailers, 'x-upload-sha256')).to.equal(sha256(upload));
        // Bounded: a writer stops at its write quota (plus the chunk that crossed it); a paused
        // reader holds at most its stream window, which it only returns as it reads.
        expect(max.clientQueued, 'client queued bytes').to.be.at.most(WRITE_QUOTA + CHUNK);
        expect(max.serverQueued, 'server queued bytes').to.be.at.most(WRITE_QUOTA + CHUNK);
        expect(max.clientBuffered, 'client buffered bytes').to.be.at.most(STREAM_WINDOW);
        expect(max.serverBuffered, 'server buffered bytes').to.be.at.most(STREAM_WINDOW);
        // Not vacuous: both writers met backpressure, both readers paused with data waiting.
        expect(clientDrains.refusals, 'client write() returned false').to.be.greaterThan(0);
        expect(serverDrains.refusals, 'server write() returned false').to.be.greaterThan(0);
        expect(clientReader.pauses()).to.be.greaterThan(0);
        expect(server.pauses).to.be.greaterThan(0);
        // ...and the paused readers were slow enough for each sender to fill the stream window
        // (within a frame of it): it was flow control that stopped the senders.
        expect(max.clientBuffered, 'client buffered bytes').to.be.at.least(STREAM_WINDOW - CHUNK);
        expect(max.serverBuffered, 'server buffered bytes').to.be.at.least(STREAM_WINDOW - CHUNK);
      });
    });
  });
}
