/**
 * A scripted raw HTTP/2 client for protocol edge-case specs: writes exactly the bytes a spec asks
 * for (valid or not) over a plain TCP socket and queues every frame the server sends, parsed with
 * our FrameReader. Header blocks the server sends are HPACK-decoded on arrival, in order.
 *
 * The expect* helpers take frames off the queue in arrival order, skipping those that do not
 * match; their timeout is a failure guard, not a synchronisation mechanism.
 */
import * as net from 'node:net';
import { ConnectionError, errorCodeName, StreamError } from '../../lib/transport/errors';
import type { Frame, GoAwayFrame, HeadersFrame, RstStreamFrame } from '../../lib/transport/frame/frame';
import { FrameType } from '../../lib/transport/frame/frame-type';
import { HeaderBlockDecoder, HeaderBlockEncoder, type HeaderList } from '../../lib/transport/hpack/header-block';
import { FrameReader } from '../../lib/transport/inbound/frame-reader';
import { echoMessage, grpcRequestHeaders } from './echo-request';
import { frames, PREFACE } from './frames';

const DEFAULT_TIMEOUT_MS = 2000;

type FrameOf<T extends Frame['type']> = Extract<Frame, { type: T }>;

/** The value of header `name` in a decoded header list. */
export function headerValue(headers: HeaderList, name: string): string | undefined {
  for (let index = 0; index < headers.length; index += 2) if (headers[index] === name) return headers[index + 1];
  return undefined;
}

/** DATA, HEADERS, ... for a frame type code. */
export function frameTypeName(type: Frame['type']): string {
  return Object.entries(FrameType).find(([, code]) => code === type)?.[0] ?? String(type);
}

/** A frame in a line, for failure messages. */
export function describeFrame(frame: Frame): string {
  switch (frame.type) {
    case FrameType.GOAWAY:
      return `GOAWAY(${errorCodeName(frame.errorCode)}, last=${frame.lastStreamId}, "${frame.debugData.toString('latin1')}")`;
    case FrameType.RST_STREAM:
      return `RST_STREAM(stream ${frame.streamId}, ${errorCodeName(frame.errorCode)})`;
    case 'unknown':
      return `unknown frame 0x${frame.frameType.toString(16)}`;
    default:
      return `${frameTypeName(frame.type)}(stream ${frame.streamId})`;
  }
}

/** One response as seen on the wire: leading HEADERS, the DATA bytes, and trailers (null for trailers-only). */
export interface RawResponse {
  headers: HeaderList;
  data: Buffer;
  trailers: HeaderList | null;
  /** grpc-status from the trailers, or from the headers of a trailers-only response. */
  grpcStatus: string | undefined;
}

export class RawPeer {
  private readonly inbox: Frame[] = [];
  private readonly decodedHeaders = new WeakMap<HeadersFrame, HeaderList>();
  private readonly decoder = new HeaderBlockDecoder();
  private readonly encoder = new HeaderBlockEncoder();
  private readonly reader: FrameReader;
  /** The server sent bytes our reader rejects: a bug in the server's output. */
  private failure: Error | null = null;
  private socketClosed = false;
  private readonly closedPromise: Promise<void>;
  private wake: (() => void) | null = null;

  private constructor(
    readonly socket: net.Socket,
    expectPreface = false,
  ) {
    this.reader = new FrameReader(
      {
        onFrame: (frame) => this.receive(frame),
        onStreamError: (error: StreamError) => this.fail(new Error(`server sent a malformed frame: ${error.message}`)),
        onConnectionError: (error: ConnectionError) => this.fail(new Error(`server output is not valid HTTP/2: ${error.message}`)),
      },
      { expectPreface },
    );
    socket.on('data', (chunk: Buffer) => this.reader.push(chunk));
    socket.on('error', () => {}); // resets by the server show up as 'close'
    this.closedPromise = new Promise((resolve) => {
      const onGone = () => {
        this.socketClosed = true;
        this.wake?.();
        resolve();
      };
      socket.once('end', onGone); // the server's FIN: it closed its side
      socket.once('close', onGone);
    });
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, host);
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RawPeer(socket));
      });
    });
  }

  /**
   * A raw peer in the server role on a socket a listener accepted (for client-role specs): it
   * expects the client preface, and sends frames as a server would (sendSettings(), headers on odd ids).
   */
  static accept(socket: net.Socket): RawPeer {
    return new RawPeer(socket, true);
  }

  /** A raw server: each accepted connection is handed to `onPeer` as a RawPeer in the server role. */
  static async listen(onPeer: (peer: RawPeer) => void): Promise<{ server: net.Server; port: number }> {
    const server = net.createServer((socket) => onPeer(RawPeer.accept(socket)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { server, port: (server.address() as net.AddressInfo).port };
  }

  /** The client connection preface: the magic octets and an empty SETTINGS frame (RFC 9113 §3.4). */
  sendPreface(): void {
    this.sendRaw(Buffer.concat([PREFACE, frames.settings()]));
  }

  /** Writes one or more frames (built with spec/support/frames) in a single write. */
  send(data: Buffer | readonly Buffer[]): void {
    this.sendRaw(Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]));
  }

  sendRaw(bytes: Buffer | Uint8Array | string): void {
    this.socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  }

  /** HPACK-encodes a header list with this peer's encoder. */
  encodeHeaders(headers: HeaderList): Buffer {
    return this.encoder.encode(headers);
  }

  /** The frames of a request: HEADERS, then DATA with `body` unless it is null; END_STREAM on the last frame when `endStream`. */
  requestFrames(streamId: number, headers: HeaderList = grpcRequestHeaders(), body: Buffer | null = echoMessage('ping'), endStream = true): Buffer[] {
    const block = this.encodeHeaders(headers);
    if (body === null) return [frames.headers(streamId, block, { endStream })];
    return [frames.headers(streamId, block), frames.data(streamId, body, { endStream })];
  }

  /** Sends a whole request (by default a valid gRPC UnaryEcho call) on `streamId`. */
  request(streamId: number, headers: HeaderList = grpcRequestHeaders(), body: Buffer | null = echoMessage('ping')): void {
    this.send(this.requestFrames(streamId, headers, body, true));
  }

  /** Opens a stream with request HEADERS and leaves it open (no END_STREAM). */
  openStream(streamId: number, headers: HeaderList = grpcRequestHeaders()): void {
    this.send(this.requestFrames(streamId, headers, null, false));
  }

  /** The decoded header list of a HEADERS frame the server sent. */
  headersOf(frame: HeadersFrame): HeaderList {
    const headers = this.decodedHeaders.get(frame);
    if (headers === undefined) throw new Error('headersOf: not a HEADERS frame received by this peer');
    return headers;
  }

  /** Resolves with the next frame of `type` (matching `predicate`), discarding the frames before it. */
  expectFrame<T extends Frame['type']>(type: T, predicate: (frame: FrameOf<T>) => boolean = () => true, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<FrameOf<T>> {
    const matches = (frame: Frame) => frame.type === type && predicate(frame as FrameOf<T>);
    return this.expectMatching(matches, `a ${frameTypeName(type)} frame`, timeoutMs) as Promise<FrameOf<T>>;
  }

  /** The next GOAWAY, which must carry `errorCode`. */
  async expectGoAway(errorCode: number, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<GoAwayFrame> {
    const frame = await this.expectFrame(FrameType.GOAWAY, () => true, timeoutMs);
    if (frame.errorCode !== errorCode) throw new Error(`expected GOAWAY(${errorCodeName(errorCode)}), got ${describeFrame(frame)}`);
    return frame;
  }

  /** The next RST_STREAM on `streamId`, which must carry `errorCode`; a GOAWAY before it is a failure. */
  async expectRstStream(streamId: number, errorCode: number, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<RstStreamFrame> {
    const expected = `RST_STREAM(stream ${streamId}, ${errorCodeName(errorCode)})`;
    const frame = await this.expectResetOrGoAway(streamId, timeoutMs);
    if (frame.type !== FrameType.RST_STREAM || frame.errorCode !== errorCode) throw new Error(`expected ${expected}, got ${describeFrame(frame)}`);
    return frame;
  }

  /** The next RST_STREAM on `streamId` or GOAWAY, whichever comes first. */
  expectResetOrGoAway(streamId: number, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<RstStreamFrame | GoAwayFrame> {
    const matches = (frame: Frame) => frame.type === FrameType.GOAWAY || (frame.type === FrameType.RST_STREAM && frame.streamId === streamId);
    return this.expectMatching(matches, `RST_STREAM on stream ${streamId} or GOAWAY`, timeoutMs) as Promise<RstStreamFrame | GoAwayFrame>;
  }

  /** Resolves with the next frame that `matches` (described as `what` in failures), discarding the frames before it. */
  async expectMatching(matches: (frame: Frame) => boolean, what: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    const skipped: string[] = [];
    for (;;) {
      const frame = await this.nextFrame(deadline, () => `${what} (skipped: ${skipped.join(', ') || 'nothing'})`);
      if (matches(frame)) return frame;
      skipped.push(describeFrame(frame));
    }
  }

  /** Collects the response on `streamId` up to END_STREAM; an RST_STREAM on it or a GOAWAY with an error fails. */
  async expectResponse(streamId: number, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<RawResponse> {
    const deadline = Date.now() + timeoutMs;
    let headers: HeaderList | null = null;
    let trailers: HeaderList | null = null;
    const data: Buffer[] = [];
    for (;;) {
      const frame = await this.nextFrame(deadline, () => `the end of the response on stream ${streamId}`);
      const fatal = (frame.type === FrameType.GOAWAY && frame.errorCode !== 0) || (frame.type === FrameType.RST_STREAM && frame.streamId === streamId);
      if (fatal) throw new Error(`response on stream ${streamId} failed: ${describeFrame(frame)}`);
      if (frame.streamId !== streamId) continue;
      if (frame.type === FrameType.DATA) data.push(frame.data);
      else if (frame.type === FrameType.HEADERS && headers === null) headers = this.headersOf(frame);
      else if (frame.type === FrameType.HEADERS) trailers = this.headersOf(frame);
      if (!((frame.type === FrameType.DATA || frame.type === FrameType.HEADERS) && frame.endStream)) continue;
      if (headers === null) throw new Error(`stream ${streamId} ended without response headers`);
      return { headers, data: Buffer.concat(data), trailers, grpcStatus: headerValue(trailers ?? headers, 'grpc-status') };
    }
  }

  /** Resolves when the server has closed the connection (its FIN or a reset). */
  closed(timeoutMs = 3000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>(
      (_, reject) => (timer = setTimeout(() => reject(new Error(`the server did not close the socket within ${timeoutMs} ms`)), timeoutMs)),
    );
    return Promise.race([this.closedPromise, timeout]).finally(() => clearTimeout(timer));
  }

  /** Half-closes: the client sends its FIN. */
  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private receive(frame: Frame): void {
    // Every header block goes through the decoder in arrival order so its dynamic table stays in sync.
    if (frame.type === FrameType.HEADERS) this.decodedHeaders.set(frame, this.decoder.decode(frame.headerBlock, Infinity).headers);
    this.inbox.push(frame);
    this.wake?.();
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.wake?.();
  }

  private nextFrame(deadline: number, waitingFor: () => string): Promise<Frame> {
    const frame = this.inbox.shift();
    if (frame !== undefined) return Promise.resolve(frame);
    if (this.failure !== null) return Promise.reject(this.failure);
    if (this.socketClosed) return Promise.reject(new Error(`socket closed while waiting for ${waitingFor()}`));
    if (this.wake !== null) return Promise.reject(new Error('RawPeer: one expect* call at a time'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => {
          this.wake = null;
          reject(new Error(`timed out waiting for ${waitingFor()}`));
        },
        Math.max(0, deadline - Date.now()),
      );
      this.wake = () => {
        clearTimeout(timer);
        this.wake = null;
        this.nextFrame(deadline, waitingFor).then(resolve, reject);
      };
    });
  }
}
