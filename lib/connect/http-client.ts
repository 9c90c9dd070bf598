import { Code, ConnectError } from '@connectrpc/connect';
import { getAbortSignalReason, type UniversalClientFn, type UniversalClientRequest, type UniversalClientResponse } from '@connectrpc/connect/protocol';
import type { Channel } from '../grpc';
import type { PickRequest } from '../grpc/client/channel-stream';
import type { Status } from '../grpc/status';
import { ErrorCode, type HeaderList, HeaderListTooLargeError, type Http2Connection, type Http2Stream, type Initiator, type StreamListener } from '../transport';
import { headersFromList } from './fields';
import { RequestBody } from './request-body';
import { connectErrorFromReset } from './reset-error';

/** How createHttpClient() uses its channel. */
export interface HttpClientOptions {
  /**
   * Requests wait for a connection while the channel is in TRANSIENT_FAILURE (reconnecting with
   * backoff) instead of failing Unavailable at once; the call's timeout or signal still ends them.
   * Default false, as gRPC's.
   */
  waitForReady?: boolean;
}

/** Requests opened again after a connection refused them unprocessed (GOAWAY), at most. */
const MAX_REPICKS = 8;

/**
 * Connect's HTTP client (`UniversalClientFn`) on an h2grpc client Channel: each request is one
 * stream on a READY connection of the channel, picked as a gRPC call is (waitForReady, backoff,
 * concurrency slots, GOAWAY). The promise resolves on the response headers (a trailers-only
 * response: with its fields as headers and empty trailers); the request body is sent meanwhile,
 * each chunk after the stream's write quota has room; the response body is read only as fast as
 * Connect pulls it (the server is held back by our window); the trailers are filled in before the
 * body ends. The request's signal (Connect's abort and timeout) resets the stream with CANCEL and
 * fails the call with the signal's reason. The URL's host is the :authority, its path and query
 * the :path; the channel's credentials decide the scheme.
 */
export function createHttpClient(channel: Channel, options: HttpClientOptions = {}): UniversalClientFn {
  const waitForReady = options.waitForReady ?? false;
  return (request: UniversalClientRequest): Promise<UniversalClientResponse> =>
    new Promise((resolve, reject) => {
      new ClientExchange(channel, request, waitForReady, resolve, reject).start();
    });
}

/** One request and its response on a stream of the channel. */
class ClientExchange implements PickRequest, StreamListener {
  // ---- StreamRequest ----
  readonly headers: HeaderList;
  readonly prepared = null;
  readonly endStream: boolean;

  private stream: Http2Stream | null = null;
  private connection: Http2Connection | null = null;
  private done = false;
  private responded = false;
  private repicks = 0;
  private readonly trailer = new Headers();
  private body: RequestBody | null = null;
  private drainWaiter: (() => void) | null = null;
  /** The request body while it is being sent. */
  private requestIterator: AsyncIterator<Uint8Array> | null = null;
  private readonly onAbort = (): void => this.abort();

  constructor(
    private readonly channel: Channel,
    private readonly request: UniversalClientRequest,
    readonly waitForReady: boolean,
    private readonly resolve: (response: UniversalClientResponse) => void,
    private readonly reject: (error: unknown) => void,
  ) {
    const url = new URL(request.url);
    const headers: HeaderList = [':method', request.method, ':scheme', channel.scheme, ':path', url.pathname + url.search, ':authority', url.host];
    for (const [name, value] of request.header) headers.push(name, value);
    this.headers = headers;
    this.endStream = request.body === undefined;
  }

  start(): void {
    const signal = this.request.signal;
    if (signal !== undefined) {
      if (signal.aborted) {
        this.reject(abortReason(signal));
        return;
      }
      signal.addEventListener('abort', this.onAbort);
    }
    this.channel.openStream(this);
  }

  get isDone(): boolean {
    return this.done;
  }

  // ---- PickRequest (from the channel) ----

  assignConnection(connection: Http2Connection): void {
    this.connection = connection;
  }

  failPick(code: Status, details: string): void {
    this.fail(new ConnectError(details, code as number as Code));
  }

  onStreamOpened(stream: Http2Stream): void {
    if (this.done) {
      stream.reset(ErrorCode.CANCEL);
      return;
    }
    this.stream = stream;
    stream.setListener(this);
    if (this.request.body !== undefined) void this.sendBody(stream, this.request.body);
  }

  onStreamFailed(error: Error, unprocessed: boolean): void {
    if (this.done) return;
    if (unprocessed && this.repicks < MAX_REPICKS) {
      // Nothing was sent: the request goes to another connection.
      this.repicks++;
      this.connection = null;
      this.channel.pick(this);
      return;
    }
    const code = error instanceof HeaderListTooLargeError ? Code.ResourceExhausted : unprocessed ? Code.Unavailable : Code.Internal;
    this.fail(new ConnectError(`the request could not be sent: ${error.message}`, code, undefined, undefined, error));
  }

  // ---- sending ----

  /** Writes the request body chunk by chunk, each once the stream's write quota has room. */
  private async sendBody(stream: Http2Stream, body: AsyncIterable<Uint8Array>): Promise<void> {
    const iterator = body[Symbol.asyncIterator]();
    this.requestIterator = iterator;
    try {
      for (let result = await iterator.next(); result.done !== true; result = await iterator.next()) {
        if (this.done || stream.isAborted) return;
        const chunk = result.value;
        if (chunk.length === 0) continue;
        if (!stream.write(asBuffer(chunk))) await this.drained();
      }
      if (!this.done && !stream.isAborted && !stream.localEnded) stream.end();
    } catch (error) {
      // The body failed (Connect's serialization, a limit, the caller's iterable): no valid request.
      this.fail(ConnectError.from(error));
    } finally {
      this.requestIterator = null;
    }
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      this.drainWaiter = resolve;
    });
  }

  onDrain(): void {
    const waiter = this.drainWaiter;
    this.drainWaiter = null;
    waiter?.();
  }

  // ---- StreamListener (the response) ----

  onHeaders(headers: HeaderList, endStream: boolean): void {
    if (this.done || this.responded) return;
    this.responded = true;
    const stream = this.stream!;
    const body = new ResponseBody(stream, this);
    this.body = body;
    // A trailers-only response ends here: its fields are the headers, and the trailers are empty.
    if (endStream) body.onEnd();
    this.resolve({ status: stream.responseHead?.status ?? 0, header: headersFromList(headers), body, trailer: this.trailer });
  }

  onData(chunk: Buffer): void {
    this.body?.onData(chunk);
  }

  onTrailers(trailers: HeaderList): void {
    for (let index = 0; index < trailers.length; index += 2) this.trailer.append(trailers[index], trailers[index + 1]);
  }

  onEnd(): void {
    if (this.done) return;
    if (!this.responded) {
      this.fail(new ConnectError('the stream ended without a response', Code.Internal));
      return;
    }
    this.body!.onEnd();
    this.finish();
  }

  onReset(errorCode: number, initiator: Initiator): void {
    if (this.done) return;
    const lost = this.connection !== null && this.connection.isClosed && initiator !== 'remote';
    this.fail(lost ? new ConnectError('the connection was lost', Code.Unavailable) : connectErrorFromReset(errorCode, initiator, 'client'));
  }

  // ---- ending ----

  /** Connect gave up reading the response (an error of its own): the stream is reset. */
  failFromReader(error: unknown): void {
    this.fail(ConnectError.from(error));
  }

  /** The request's signal fired (Connect's abort or timeout): RST_STREAM CANCEL, and the call fails with its reason. */
  private abort(): void {
    this.fail(abortReason(this.request.signal!));
  }

  /** Ends the exchange with an error: before the response, the promise rejects; after, the body fails. */
  private fail(error: ConnectError): void {
    if (this.done) return;
    const stream = this.stream;
    if (stream !== null) {
      if (!stream.isClosed) stream.reset(ErrorCode.CANCEL);
    } else {
      this.channel.cancelPick(this);
      this.connection?.cancelStreamRequest(this);
    }
    if (this.responded) this.body!.onReset(error);
    else this.reject(error);
    this.finish();
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.request.signal?.removeEventListener('abort', this.onAbort);
    this.onDrain();
    // A request body still being sent is not wanted any more: its producer hears of it.
    this.requestIterator?.return?.().catch(() => {});
    this.requestIterator = null;
    const stream = this.stream;
    // The response is complete before the request: the rest of the request is not wanted.
    if (stream !== null && !stream.isClosed && !stream.localEnded) stream.reset(ErrorCode.CANCEL);
    this.channel.streamEnded();
  }
}

/**
 * The response body: read as the request body on the server (pull-driven, the stream paused while
 * a chunk waits), plus throw(), with which Connect reports an error of its own while reading.
 */
class ResponseBody extends RequestBody {
  constructor(
    stream: Http2Stream,
    private readonly exchange: ClientExchange,
  ) {
    super(stream);
  }

  throw(error: unknown): Promise<IteratorResult<Uint8Array>> {
    this.exchange.failFromReader(error);
    return Promise.reject(error);
  }
}

/** The signal's reason as a ConnectError (Connect's deadline signal carries DeadlineExceeded; abort() Canceled). */
function abortReason(signal: AbortSignal): ConnectError {
  return ConnectError.from(getAbortSignalReason(signal), Code.Canceled);
}

/** The chunk as a Buffer over the same memory (no copy). */
function asBuffer(chunk: Uint8Array): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}
