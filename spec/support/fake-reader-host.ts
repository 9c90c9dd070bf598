/**
 * A ReaderHost (and StreamHost) that records what the ReaderLoop asks of its connection, for
 * driving the reader loop directly with frames. Streams are real Http2Streams over a real
 * StreamRegistry, HeaderBlockDecoder and ReceiveWindows; it opens them the way Http2Connection does.
 */
import { SERVER_PEER, type Peer } from '../../lib/transport/connection/peer';
import { ConnectionError, ErrorCode, type Initiator, type StreamError } from '../../lib/transport/errors';
import { ReceiveWindow } from '../../lib/transport/flow-control';
import type { Frame, GoAwayFrame } from '../../lib/transport/frame/frame';
import { encodeStaticHeaderBlock, HeaderBlockDecoder, type HeaderList } from '../../lib/transport/hpack/header-block';
import type { RequestHead, ResponseHead } from '../../lib/transport/http/message-head';
import { ReaderLoop, type ReaderHost } from '../../lib/transport/inbound/reader-loop';
import type { ControlItem } from '../../lib/transport/outbound/control-item';
import { defaultSettings, type Settings } from '../../lib/transport/settings';
import { Http2Stream, type StreamHost, type StreamListener } from '../../lib/transport/stream/http2-stream';
import { openedState } from '../../lib/transport/stream/stream-state';
import { StreamRegistry } from '../../lib/transport/stream/stream-registry';
import { decodeOne, frames, type HeadersOptions } from './frames';

export const REQUEST: HeaderList = [':method', 'POST', ':scheme', 'http', ':path', '/svc/Method', ':authority', 'localhost'];

/** What a stream's listener heard, as strings in order. */
export type StreamEvents = string[];

export class FakeReaderHost implements ReaderHost, StreamHost {
  readonly registry: StreamRegistry;
  readonly decoder = new HeaderBlockDecoder();
  readonly localSettings: Settings = { ...defaultSettings(), enablePush: false };
  readonly peerSettings: Settings = defaultSettings();
  readonly connectionReceiveWindow = new ReceiveWindow(65535);
  readonly loop: ReaderLoop;

  readonly items: ControlItem[] = [];
  readonly streamErrors: StreamError[] = [];
  readonly connectionErrors: ConnectionError[] = [];
  readonly opened: { id: number; headers: HeaderList; endStream: boolean; head: RequestHead | null }[] = [];
  readonly responses: { id: number; headers: HeaderList; endStream: boolean; head: ResponseHead }[] = [];
  readonly goAways: GoAwayFrame[] = [];
  readonly pingAcks: Buffer[] = [];
  readonly consumedBytes: [number, number][] = [];
  readonly events = new Map<number, StreamEvents>();
  pings = 0;
  settingsReceived = 0;
  settingsAcks = 0;
  resetsSpent = 0;
  invalidFramesSpent = 0;
  /** How many invalid frames/resets are allowed before the budget throws ENHANCE_YOUR_CALM. */
  invalidFrameBudget = Infinity;
  resetBudget = Infinity;
  readonly maxSendHeaderListSize = Infinity;
  spendWrite(): boolean {
    return true;
  }
  queueDrain(stream: Http2Stream): void {
    stream.deliverDrain();
  }

  constructor(readonly peer: Peer = SERVER_PEER) {
    this.registry = new StreamRegistry(peer);
    this.loop = new ReaderLoop(this);
  }

  /** Feeds one frame (wire bytes from spec/support/frames, or a frame object) to the reader loop. */
  receive(frame: Buffer | Frame): void {
    this.loop.onFrame(Buffer.isBuffer(frame) ? decodeOne(frame) : frame);
  }

  /** A request HEADERS frame from the peer. */
  request(id: number, options: HeadersOptions & { headers?: HeaderList } = {}): void {
    this.receive(frames.headers(id, encodeStaticHeaderBlock(options.headers ?? REQUEST), options));
  }

  /** A stream we opened (client side), registered as Http2Connection.request() does. */
  openLocal(): Http2Stream {
    const id = this.registry.allocateLocalId();
    const stream = new Http2Stream(id, this, new ReceiveWindow(this.localSettings.initialWindowSize), 1 << 20, {
      state: openedState(false, 'local'),
      headers: [':method', 'GET', ':scheme', 'http', ':path', '/'],
      by: 'local',
    });
    this.registry.add(stream);
    this.listen(stream);
    return stream;
  }

  stream(id: number): Http2Stream {
    const stream = this.registry.get(id);
    if (stream === undefined) throw new Error(`no stream ${id}`);
    return stream;
  }

  /** The kinds and error codes of what was reported, for one-line assertions. */
  get errors(): string[] {
    return [
      ...this.streamErrors.map((error) => `stream ${error.streamId} ${error.errorCode}`),
      ...this.connectionErrors.map((error) => `connection ${error.errorCode}`),
    ];
  }

  private listen(stream: Http2Stream): void {
    const events: StreamEvents = [];
    this.events.set(stream.id, events);
    const listener: StreamListener = {
      onData: (chunk) => events.push(`data:${chunk.toString('latin1')}`),
      onTrailers: (trailers) => events.push(`trailers:${trailers.join(',')}`),
      onEnd: () => events.push('end'),
      onReset: (code: number, initiator: Initiator) => events.push(`reset:${code}:${initiator}`),
      onDrain: () => {},
    };
    stream.setListener(listener);
  }

  // ---- ReaderHost ----

  put(item: ControlItem): boolean {
    this.items.push(item);
    return true;
  }

  openPeerStream(id: number, headers: HeaderList, endStream: boolean, head: RequestHead | null): void {
    this.opened.push({ id, headers, endStream, head });
    const stream = new Http2Stream(id, this, new ReceiveWindow(this.localSettings.initialWindowSize), 1 << 20, {
      state: openedState(endStream, 'remote'),
      headers,
      by: 'remote',
    });
    stream.requestHead = head;
    if (head !== null) stream.expectedLength = head.contentLength;
    this.registry.add(stream);
    this.listen(stream);
    if (endStream) stream.receiveEnd(null);
  }

  receiveResponseHeaders(stream: Http2Stream, headers: HeaderList, endStream: boolean, head: ResponseHead): void {
    this.responses.push({ id: stream.id, headers, endStream, head });
    stream.responseHeadersReceived = true;
    if (endStream) stream.receiveEnd(null);
  }

  streamError(error: StreamError): void {
    this.streamErrors.push(error);
  }

  spendReset(): void {
    if (++this.resetsSpent > this.resetBudget) throw new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, 'too many stream resets');
  }

  spendInvalidFrame(): void {
    if (++this.invalidFramesSpent > this.invalidFrameBudget) throw new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, 'too many frames that do nothing');
  }

  connectionError(error: ConnectionError): void {
    this.connectionErrors.push(error);
  }

  receiveGoAway(frame: GoAwayFrame): void {
    this.goAways.push(frame);
  }

  receivePing(): void {
    this.pings++;
  }

  receivePingAck(data: Buffer): void {
    this.pingAcks.push(data);
  }

  receiveSettings(): void {
    this.settingsReceived++;
  }

  receiveSettingsAck(): void {
    this.settingsAcks++;
  }

  // ---- StreamHost ----

  consumed(stream: Http2Stream, bytes: number): void {
    this.consumedBytes.push([stream.id, bytes]);
  }

  streamClosed(stream: Http2Stream): void {
    this.registry.remove(stream);
  }

  queuedBytesChanged(): void {}
  streamReleased(): void {}
  exemptFromDataRate(): void {}
}
