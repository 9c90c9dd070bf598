import {
  ErrorCode,
  type HeaderList,
  HeaderListTooLargeError,
  type Http2Connection,
  type Http2Stream,
  type Initiator,
  isUnprocessedReset,
  type PreparedHeaders,
  type StreamListener,
  type StreamRequest,
} from '../../transport';
import { compress, type Encoding, isSupportedEncoding } from '../compression';
import { Metadata } from '../metadata';
import { GRPC_ACCEPT_ENCODING, GRPC_ENCODING, GRPC_MESSAGE, GRPC_STATUS, GRPC_TIMEOUT, isGrpcContentType } from '../protocol/headers';
import { type MessageDecodeError, decodeReceivedMessage } from '../protocol/message-decoding';
import { encodeMessage, LARGE_MESSAGE, MessageDecoder, messagePrefix } from '../protocol/message-framing';
import { statusFromHttpStatus, statusFromResetCode } from '../protocol/status-mapping';
import { decodeStatusMessage } from '../protocol/status-message';
import { formatTimeout } from '../protocol/timeout';
import { isStatusCode, Status, type StatusObject } from '../status';
import type { CallCredentials } from './credentials';

/** One method as a client calls it. */
export interface ClientMethod {
  path: string;
  requestSerialize(value: unknown): Buffer;
  responseDeserialize(data: Buffer): unknown;
}

/** What the layer above (grpc-js style call objects) hears from a call. */
export interface ClientCallListener {
  /**
   * The response headers (not for trailers-only responses), as a header list: the listener builds
   * Metadata from it (Metadata.fromHeaders) only if someone wants it.
   */
  onReceiveMetadata(headers: HeaderList): void;
  /** One response message; call pauseReading() to hold the rest back (flow control). */
  onReceiveMessage(message: unknown): void;
  /** The call is over; nothing follows. */
  onReceiveStatus(status: StatusObject): void;
  /** sendMessage() returned false and there is room again. */
  onDrain(): void;
}

/** What a call needs from its channel (implemented by Channel). */
export interface CallHost {
  readonly maxReceiveMessageSize: number;
  readonly maxSendMessageSize: number;
  /** The encoding for request messages, as far as the server is known to accept it. */
  readonly requestEncoding: Encoding;
  /** Finds a connection for the call (now, or once one is ready) and calls connection.openStream(call). */
  pick(call: ClientCall): void;
  /** The call stopped waiting for a pick (cancelled or past its deadline). */
  cancelPick(call: ClientCall): void;
  /** Constant request headers for a method (:method, :scheme, :path, :authority, content-type, te, ...). */
  requestHeaders(path: string): PreparedHeaders;
  /** The server listed the encodings it accepts (grpc-accept-encoding). */
  learnAcceptEncoding(value: string): void;
  /** The call ended (for the idle timer). */
  callEnded(): void;
  /** A fallback peer name before a connection is chosen. */
  readonly target: string;
  /** The :authority of the requests (call credentials' service_url). */
  readonly authority: string;
}

/** What a call starts from. */
export interface ClientCallOptions {
  /** Absolute deadline (Date.now() based), or Infinity. */
  deadline: number;
  metadata: Metadata | null;
  /** Wait for the channel to be ready instead of failing at once while it is in TRANSIENT_FAILURE. */
  waitForReady: boolean;
  /** Per-call request compression (grpc-js: metadata key grpc-internal-encoding-request). */
  encoding: Encoding | null;
  /** Call credentials whose metadata is generated (and added) before the request is sent. */
  credentials?: CallCredentials | null;
}

/** Requests bytes a call keeps for a transparent retry until the server answers (grpc-js: 256 KiB per call). */
const RETRY_BUFFER_LIMIT = 256 * 1024;
/** Bytes sendMessage() accepts before a stream exists before it asks the writer to wait. */
const PENDING_WRITE_LIMIT = 64 * 1024;
/** Transparent retries of a call the server never processed, at most. */
const MAX_TRANSPARENT_RETRIES = 8;
const MAX_TIMER_DELAY = 2 ** 31 - 1;
const EMPTY = Buffer.alloc(0);
/** Status codes a call credentials plugin may not produce (gRFC A54; grpc-js's restrictControlPlaneStatusCode). */
const CONTROL_PLANE_FORBIDDEN = new Set<Status>([
  Status.OK,
  Status.INVALID_ARGUMENT,
  Status.NOT_FOUND,
  Status.ALREADY_EXISTS,
  Status.FAILED_PRECONDITION,
  Status.ABORTED,
  Status.OUT_OF_RANGE,
  Status.DATA_LOSS,
]);

function onDeadline(call: ClientCall): void {
  call.cancelWithStatus(Status.DEADLINE_EXCEEDED, 'Deadline exceeded');
}

/**
 * One RPC on the client (the call core, written once for all four call kinds): request headers,
 * 5-byte framed and optionally compressed messages with backpressure, response headers, messages
 * and status from trailers or a trailers-only response, deadline, cancellation and transparent
 * retry of a request the server never processed. Implements the transport's StreamRequest (it
 * waits for a stream slot itself) and StreamListener.
 */
export class ClientCall implements StreamRequest, StreamListener {
  // ---- StreamRequest ----
  readonly headers: HeaderList;
  readonly prepared: PreparedHeaders;
  readonly endStream = false;

  readonly waitForReady: boolean;
  private stream: Http2Stream | null = null;
  private connection: Http2Connection | null = null;
  private listener: ClientCallListener | null = null;
  private done = false;
  private started = false;
  /** Inside start(): a status decided now is delivered on the next tick. */
  private starting = false;
  private readonly decoder: MessageDecoder;
  private readonly emitMessage = (data: Buffer, compressed: boolean): void => this.receiveMessage(data, compressed);
  private deadlineTimer: NodeJS.Timeout | null = null;
  private readonly deadline: number;
  private readonly requestEncoding: Encoding;
  private responseEncoding: Encoding = 'identity';
  private responseHeadersReceived = false;
  private trailers: HeaderList | null = null;
  /** Writes not yet on a stream, and (until the server answers) those kept for a transparent retry. */
  private outbox: Buffer[] | null = null;
  private outboxBytes = 0;
  /** How many outbox entries are on the current stream. */
  private written = 0;
  private keepForRetry = true;
  private halfClosed = false;
  private halfCloseSent = false;
  private wantDrain = false;
  private readingPaused = false;
  private retries = 0;
  private messagesReceived = 0;
  private readonly credentials: CallCredentials | null;

  constructor(
    private readonly host: CallHost,
    readonly method: ClientMethod,
    options: ClientCallOptions,
  ) {
    this.deadline = options.deadline;
    this.waitForReady = options.waitForReady;
    this.credentials = options.credentials ?? null;
    this.requestEncoding = options.encoding ?? host.requestEncoding;
    this.prepared = host.requestHeaders(method.path);
    const headers: HeaderList = [];
    if (this.deadline !== Infinity) headers.push(GRPC_TIMEOUT, formatTimeout(this.deadline - Date.now()));
    if (this.requestEncoding !== 'identity') headers.push(GRPC_ENCODING, this.requestEncoding);
    if (options.metadata !== null) options.metadata.appendToHeaders(headers);
    this.headers = headers;
    this.decoder = new MessageDecoder(host.maxReceiveMessageSize);
  }

  /** Starts the call: picks a connection (or waits for one) and arms the deadline. */
  start(listener: ClientCallListener): void {
    this.listener = listener;
    this.started = true;
    this.starting = true;
    try {
      if (this.deadline !== Infinity) {
        const remaining = this.deadline - Date.now();
        if (remaining <= 0) {
          this.finish({ code: Status.DEADLINE_EXCEEDED, details: 'Deadline exceeded', metadata: new Metadata() });
          return;
        }
        if (remaining <= MAX_TIMER_DELAY) this.deadlineTimer = setTimeout(onDeadline, remaining, this);
      }
      if (this.credentials === null) this.host.pick(this);
      else this.generateCredentials(this.credentials);
    } finally {
      this.starting = false;
    }
  }

  /** Runs the call credentials' generators, adds their metadata to the request headers, then picks. */
  private generateCredentials(credentials: CallCredentials): void {
    const path = this.method.path;
    const service = path.slice(1, Math.max(1, path.lastIndexOf('/')));
    const host = this.host.authority.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
    credentials.generateMetadata({ method_name: path, service_url: `https://${host || 'localhost'}/${service}` }).then(
      (metadata) => {
        if (this.done) return;
        if (metadata.get('authorization').length + countHeader(this.headers, 'authorization') > 1) {
          this.cancelWithStatus(Status.INTERNAL, '"authorization" metadata cannot have multiple values');
          return;
        }
        metadata.appendToHeaders(this.headers);
        // The time spent generating counts against the deadline the server is told.
        if (this.deadline !== Infinity && this.headers[0] === GRPC_TIMEOUT)
          (this.headers as string[])[1] = formatTimeout(Math.max(1, this.deadline - Date.now()));
        this.host.pick(this);
      },
      (error: Error & { code?: unknown }) => {
        if (this.done) return;
        let code = typeof error?.code === 'number' && isStatusCode(error.code) ? (error.code as Status) : Status.UNKNOWN;
        let details = `Getting metadata from plugin failed with error: ${error?.message ?? String(error)}`;
        // gRFC A54: codes a control plane must not produce become INTERNAL.
        if (CONTROL_PLANE_FORBIDDEN.has(code)) {
          details = `Invalid status from control plane: ${code} ${Status[code]} ${details}`;
          code = Status.INTERNAL;
        }
        this.cancelWithStatus(code, details);
      },
    );
  }

  /** Whether the status has been delivered (or is about to be). */
  get isDone(): boolean {
    return this.done;
  }

  /** "host:port" of the server this call went to, or the channel's target before that. */
  get peer(): string {
    const socket = this.connection?.socket;
    if (socket?.remoteAddress === undefined) return this.host.target;
    return socket.remotePort === undefined ? socket.remoteAddress : `${socket.remoteAddress}:${socket.remotePort}`;
  }

  // ---- sending ----

  /**
   * Serializes, compresses and frames one request message. Returns false when the writer should
   * wait for the listener's onDrain. A message over the send limit ends the call (RESOURCE_EXHAUSTED).
   */
  sendMessage(message: unknown, last = false): boolean {
    if (this.done || this.halfClosed) return false;
    let data: Buffer;
    try {
      data = this.method.requestSerialize(message);
    } catch (error) {
      this.cancelWithStatus(Status.INTERNAL, `Request serialization failure: ${(error as Error).message}`);
      return false;
    }
    if (data.length > this.host.maxSendMessageSize) {
      this.cancelWithStatus(Status.RESOURCE_EXHAUSTED, `Sent message larger than max (${data.length} vs. ${this.host.maxSendMessageSize})`);
      return false;
    }
    const compressed = this.requestEncoding !== 'identity';
    if (compressed) data = compress(this.requestEncoding, data);
    if (last) this.halfClosed = true;
    if (data.length < LARGE_MESSAGE) return this.send(encodeMessage(data, compressed), last);
    // Large messages: the prefix goes separately instead of copying the payload behind it.
    this.send(messagePrefix(data.length, compressed), false);
    return this.send(data, last);
  }

  /** The client is done sending (END_STREAM). */
  halfClose(): void {
    if (this.done || this.halfClosed) return;
    this.halfClosed = true;
    this.send(EMPTY, true);
  }

  private send(bytes: Buffer, end: boolean): boolean {
    const stream = this.stream;
    if (stream !== null && !this.keepForRetry) {
      if (end) this.halfCloseSent = true;
      return this.writeToStream(stream, bytes, end);
    }
    (this.outbox ??= []).push(bytes);
    this.outboxBytes += bytes.length;
    if (stream === null) {
      if (this.outboxBytes <= PENDING_WRITE_LIMIT) return true;
      this.wantDrain = true;
      return false;
    }
    this.written++;
    if (end) this.halfCloseSent = true;
    const more = this.writeToStream(stream, bytes, end);
    if (this.outboxBytes > RETRY_BUFFER_LIMIT) this.dropRetryBuffer();
    return more;
  }

  private writeToStream(stream: Http2Stream, bytes: Buffer, end: boolean): boolean {
    if (bytes.length === 0 && end) {
      stream.end();
      return true;
    }
    if (stream.write(bytes, end)) return true;
    this.wantDrain = true;
    return false;
  }

  /** Everything is on the stream: what was kept only for a retry can go. */
  private dropRetryBuffer(): void {
    this.keepForRetry = false;
    if (this.stream !== null) {
      this.outbox = null;
      this.outboxBytes = 0;
      this.written = 0;
    }
  }

  // ---- receiving ----

  /** Holds response messages back (the server is held back by flow control) until resumeReading(). */
  pauseReading(): void {
    this.readingPaused = true;
    this.decoder.stop();
    this.stream?.pause();
  }

  resumeReading(): void {
    if (!this.readingPaused) return;
    this.readingPaused = false;
    if (this.done) return;
    if (!this.decoder.resume(this.emitMessage)) {
      this.decodeFailed();
      return;
    }
    if (!this.decoder.isStopped) this.stream?.resume();
  }

  // ---- StreamRequest (from the connection) ----

  onStreamOpened(stream: Http2Stream): void {
    if (this.done) {
      stream.reset(ErrorCode.CANCEL);
      return;
    }
    this.stream = stream;
    if (this.readingPaused) stream.pause();
    stream.setListener(this);
    const outbox = this.outbox;
    if (outbox !== null) {
      this.written = outbox.length;
      for (let index = 0; index < outbox.length; index++) {
        const end = this.halfClosed && index === outbox.length - 1;
        if (end) this.halfCloseSent = true;
        this.writeToStream(stream, outbox[index], end);
      }
      if (!this.keepForRetry) this.dropRetryBuffer();
    }
    if (this.halfClosed && !this.halfCloseSent) {
      this.halfCloseSent = true;
      stream.end();
    }
    if (this.wantDrain && stream.queuedBytes < PENDING_WRITE_LIMIT) this.onDrain();
  }

  /** @internal The channel hands the call the connection it picked. */
  assignConnection(connection: Http2Connection): void {
    this.connection = connection;
  }

  onStreamFailed(error: Error, unprocessed: boolean): void {
    if (this.done) return;
    if (unprocessed) {
      this.retry();
      return;
    }
    const details = error instanceof HeaderListTooLargeError ? `Request metadata too large: ${error.message}` : error.message;
    this.finish({ code: error instanceof HeaderListTooLargeError ? Status.INTERNAL : Status.UNAVAILABLE, details, metadata: new Metadata() });
  }

  /** The server never processed the request: send it again on a new pick (transparent retry). */
  private retry(): void {
    if (!this.keepForRetry || this.retries >= MAX_TRANSPARENT_RETRIES) {
      this.finish({ code: Status.UNAVAILABLE, details: 'The server did not process the request (GOAWAY or REFUSED_STREAM)', metadata: new Metadata() });
      return;
    }
    this.retries++;
    this.stream = null;
    this.connection = null;
    this.written = 0;
    this.halfCloseSent = false;
    this.host.pick(this);
  }

  /** @internal The channel could not find a connection (TRANSIENT_FAILURE, closed). */
  failPick(code: Status, details: string): void {
    this.finish({ code, details, metadata: new Metadata() });
  }

  // ---- StreamListener (from the transport) ----

  onHeaders(headers: HeaderList, endStream: boolean): void {
    if (this.done) return;
    this.responseHeadersReceived = true;
    if (this.keepForRetry) this.dropRetryBuffer();
    const httpStatus = this.stream?.responseHead?.status ?? 200;
    let contentType: string | undefined;
    let grpcStatus: string | undefined;
    for (let index = 0; index < headers.length; index += 2) {
      switch (headers[index]) {
        case 'content-type':
          contentType = headers[index + 1];
          break;
        case GRPC_STATUS:
          grpcStatus = headers[index + 1];
          break;
        case GRPC_ENCODING:
          this.responseEncoding = (isSupportedEncoding(headers[index + 1]) ? headers[index + 1] : 'unsupported') as Encoding;
          break;
        case GRPC_ACCEPT_ENCODING:
          this.host.learnAcceptEncoding(headers[index + 1]);
          break;
      }
    }
    if (grpcStatus === undefined && (httpStatus !== 200 || !isGrpcContentType(contentType))) {
      // Not a gRPC response: the HTTP status decides (doc/http-grpc-status-mapping.md).
      const code = httpStatus !== 200 ? statusFromHttpStatus(httpStatus) : Status.UNKNOWN;
      const details = httpStatus !== 200 ? `Received HTTP status code ${httpStatus}` : `Received unexpected content-type "${contentType ?? ''}"`;
      this.cancelWithStatus(code, details);
      return;
    }
    if (endStream) {
      // Trailers-only: the status is in these headers; onEnd follows.
      this.trailers = headers;
      return;
    }
    if ((this.responseEncoding as string) === 'unsupported') {
      this.cancelWithStatus(Status.UNIMPLEMENTED, 'The server used a message encoding we do not support');
      return;
    }
    this.listener?.onReceiveMetadata(headers);
  }

  onData(chunk: Buffer): void {
    if (this.done) return;
    if (!this.decoder.push(chunk, this.emitMessage)) this.decodeFailed();
  }

  onTrailers(trailers: HeaderList): void {
    this.trailers = trailers;
  }

  onEnd(): void {
    if (this.done) return;
    if (!this.decoder.isIdle) {
      this.finish({ code: Status.INTERNAL, details: 'The server ended the stream in the middle of a message', metadata: new Metadata() });
      return;
    }
    const trailers = this.trailers;
    if (trailers === null) {
      this.finish({ code: Status.INTERNAL, details: 'The server closed the stream without sending trailers', metadata: new Metadata() });
      return;
    }
    this.finish(statusFromTrailers(trailers));
  }

  onReset(errorCode: number, initiator: Initiator): void {
    if (this.done) return;
    if (!this.responseHeadersReceived && isUnprocessedReset(errorCode, initiator)) {
      this.retry();
      return;
    }
    if (this.connection !== null && this.connection.isClosed) {
      this.finish({ code: Status.UNAVAILABLE, details: 'Connection dropped', metadata: new Metadata() });
      return;
    }
    this.finish({ code: statusFromResetCode(errorCode), details: `Received RST_STREAM with code ${errorCode}`, metadata: new Metadata() });
  }

  onDrain(): void {
    if (!this.wantDrain || this.done) return;
    this.wantDrain = false;
    this.listener?.onDrain();
  }

  private receiveMessage(data: Buffer, compressed: boolean): void {
    if (this.done) return;
    let message: unknown;
    try {
      message = decodeReceivedMessage(
        data,
        compressed,
        this.responseEncoding,
        this.host.maxReceiveMessageSize,
        this.method.responseDeserialize,
        'Response deserialization failure',
      );
    } catch (error) {
      const failure = error as MessageDecodeError;
      this.cancelWithStatus(failure.code, failure.details);
      return;
    }
    this.messagesReceived++;
    this.listener?.onReceiveMessage(message);
  }

  private decodeFailed(): void {
    const failure = this.decoder.failure!;
    if (failure.kind === 'tooLarge') {
      this.cancelWithStatus(Status.RESOURCE_EXHAUSTED, `Received message larger than max (${failure.size} vs. ${this.host.maxReceiveMessageSize})`);
    } else {
      this.cancelWithStatus(Status.INTERNAL, `Invalid compressed flag ${failure.flag}`);
    }
  }

  /** Response messages delivered so far. */
  get receivedMessages(): number {
    return this.messagesReceived;
  }

  // ---- ending ----

  /** Ends the call locally with this status: the stream is reset (RST_STREAM CANCEL) or the pick withdrawn. */
  cancelWithStatus(code: Status, details: string): void {
    if (this.done) return;
    const stream = this.stream;
    if (stream !== null) stream.reset(ErrorCode.CANCEL);
    else if (this.started) {
      this.host.cancelPick(this);
      this.connection?.cancelStreamRequest(this);
    }
    // As grpc-js: the status of a call ended from this side is reported on a later tick, never
    // inside cancel() (callers such as nice-grpc's abort handling rely on it).
    this.finish({ code, details, metadata: new Metadata() }, true);
  }

  private finish(status: StatusObject, later = false): void {
    if (this.done) return;
    this.done = true;
    if (this.deadlineTimer !== null) {
      clearTimeout(this.deadlineTimer);
      this.deadlineTimer = null;
    }
    this.outbox = null;
    const stream = this.stream;
    if (stream !== null) {
      // The server answered before we finished sending: the rest of the request is not wanted.
      if (!stream.isClosed && !stream.localEnded) stream.reset(ErrorCode.CANCEL);
      stream.detach();
    }
    if (this.started) this.host.callEnded();
    // A call that fails inside start() (deadline already past, channel shut down, fail-fast) reports
    // on a later tick: the caller has not attached its listeners yet (grpc-js never reports synchronously).
    if (this.starting || later) process.nextTick(deliverStatus, this.listener, status);
    else this.listener?.onReceiveStatus(status);
  }
}

/** How many times a header name occurs in a header list. */
function countHeader(headers: HeaderList, name: string): number {
  let count = 0;
  for (let index = 0; index < headers.length; index += 2) if (headers[index] === name) count++;
  return count;
}

function deliverStatus(listener: ClientCallListener | null, status: StatusObject): void {
  listener?.onReceiveStatus(status);
}

/** The status of a call from its trailers (or trailers-only headers). */
function statusFromTrailers(trailers: HeaderList): StatusObject {
  let status: string | undefined;
  let message: string | undefined;
  let plain = true;
  for (let index = 0; index < trailers.length; index += 2) {
    const name = trailers[index];
    if (name === GRPC_STATUS) status ??= trailers[index + 1];
    else if (name === GRPC_MESSAGE) message ??= trailers[index + 1];
    else if (name.charCodeAt(0) !== 58 /* : */ && name !== 'content-type') plain = false;
  }
  const metadata = plain ? new Metadata() : Metadata.fromHeaders(trailers, 0, true);
  if (status === undefined) return { code: Status.UNKNOWN, details: 'No status received', metadata };
  const value = Number(status);
  // A status outside the defined codes is UNKNOWN (doc/statuscodes.md).
  const code = /^\d{1,2}$/.test(status) && isStatusCode(value) ? value : Status.UNKNOWN;
  return { code, details: message === undefined ? '' : decodeStatusMessage(message), metadata };
}
