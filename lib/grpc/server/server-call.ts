import { ErrorCode, type HeaderList, type Initiator, type StreamListener } from '../../transport';
import { compress, type Encoding, negotiateEncoding } from '../compression';
import { Metadata, toMetadata } from '../metadata';
import { CONTENT_TYPE, GRPC_ENCODING, GRPC_MESSAGE, GRPC_STATUS, OK_TRAILERS, OK_TRAILERS_ONLY, RESPONSE_HEADERS } from '../protocol/headers';
import { type MessageDecodeError, decodeReceivedMessage } from '../protocol/message-decoding';
import { encodeMessage, LARGE_MESSAGE, MessageDecoder, messagePrefix } from '../protocol/message-framing';
import { encodeStatusMessage } from '../protocol/status-message';
import type { PeerAddress, RpcStream } from '../rpc-stream';
import { type AuthContext, authContextOf } from './auth-context';
import type { ConnectionInfo } from './call-types';
import { PerRequestMetricRecorder } from './metrics-recorder';
import type { MethodStats } from './method-stats';
import { Status, type StatusObject } from '../status';

/** How long the status of a call that exceeded its response backlog may wait for the client's window. */
const BACKLOG_STATUS_GRACE_MS = 5000;

/** The longest delay setTimeout honours. */
const MAX_TIMER_DELAY = 2 ** 31 - 1;

/** Everything a call starts from: its stream, its method, and what the request head said. */
export interface CallStart {
  stream: RpcStream;
  method: MethodCodec;
  limits: CallLimits;
  requestEncoding: Encoding;
  responseEncoding: Encoding;
  /** Absolute deadline (Date.now() based), or Infinity. */
  deadline: number;
  peer: PeerAddress;
  authority: string;
  acceptEncoding: string | undefined;
}

/** What a handler adapter hears from its call. */
export interface CallSink {
  onMessage(message: unknown): void;
  /** The client finished sending. */
  onHalfClose(): void;
  /** The call was cancelled (client reset, deadline, connection lost, or a protocol error). */
  onCancel(): void;
  /** Room to write again after sendMessage returned false. */
  onDrain(): void;
  /**
   * The call ended with a status the server sent (handler answer or library error); a
   * cancellation follows it with onCancel() when the status was a library error.
   */
  onFinish(): void;
}

/** A status as handlers and interceptors send it (grpc-js's PartialStatusObject). */
export interface PartialStatus {
  code: Status;
  details: string;
  metadata?: Metadata | null;
}

/**
 * What a server with interceptors puts between the handler side and the call (intercepted-call.ts):
 * the handler side's metadata, messages and status go through it, and it receives the call's
 * events (as the call's sink) before the handler side does.
 */
export interface Interception extends CallSink {
  /** The handler side's sink: it gets the call's events once they have passed the interceptors. */
  attach(sink: CallSink): void;
  sendMetadata(metadata: Metadata): void;
  /** `callback` runs once the message is handed to the transport (or dropped by an ended call). */
  sendMessage(message: unknown, callback: () => void): void;
  sendStatus(status: PartialStatus): void;
}

/** Why request delivery is paused: the handler's reader is full, or an interceptor holds a message. */
export const READER = 1;
export const INTERCEPTORS = 2;

export interface MethodCodec {
  path: string;
  requestDeserialize(data: Buffer): unknown;
  responseSerialize(value: unknown): Buffer;
  /** The method's call counters (Server.callStats()); specs' codecs may leave them out. */
  stats?: MethodStats;
}

export interface CallLimits {
  maxReceiveMessageSize: number;
  maxSendMessageSize: number;
  /**
   * Response bytes a streaming call may have waiting (in its Writable plus queued in the transport)
   * while its handler ignores backpressure; past it the call ends with RESOURCE_EXHAUSTED.
   */
  maxResponseBacklog: number;
}

/**
 * Where a call is: 'open' (both directions), 'halfClosed' (client done sending), 'finished'
 * (status sent), 'cancelled' (reset, deadline or lost connection: nothing more is written).
 */
export type CallState = 'open' | 'halfClosed' | 'finished' | 'cancelled';

/**
 * One RPC on the server: turns stream bytes into request messages and handler output into
 * response headers, messages and trailers (PROTOCOL-HTTP2.md). The handler-facing objects
 * (grpc-js style calls) sit on top of it.
 */
export class ServerCall implements StreamListener {
  state: CallState = 'open';
  /** Whether the most recent request message arrived with the compressed flag set. */
  lastRequestCompressed = false;
  private sink: CallSink | null = null;
  private readonly decoder: MessageDecoder;
  private headersSent = false;
  private deadlineTimer: NodeJS.Timeout | null = null;
  private abortController: AbortController | null = null;
  private readonly emitMessage = (data: Buffer, compressed: boolean) => this.receiveMessage(data, compressed);
  private requestMetadata: Metadata | null = null;
  /** A streaming handler runs until the call ends: its stream is retained until then. */
  private releaseOnEnd = false;
  /** Bits of READER and INTERCEPTORS: delivery resumes when none is left. */
  private pausedBy = 0;
  /** Set when the server has interceptors: the handler side's output goes through them. */
  private interception: Interception | null = null;
  private metrics: PerRequestMetricRecorder | null = null;

  readonly stream: RpcStream;
  readonly method: MethodCodec;
  /** Absolute deadline (Date.now() based), or Infinity. */
  readonly deadline: number;
  readonly authority: string;
  private readonly limits: CallLimits;
  private readonly requestEncoding: Encoding;
  private responseEncoding: Encoding;
  private readonly peerSocket: PeerAddress;
  /** The client's grpc-accept-encoding header, if any. */
  private readonly acceptEncoding: string | undefined;

  constructor(start: CallStart) {
    this.stream = start.stream;
    this.method = start.method;
    this.deadline = start.deadline;
    this.authority = start.authority;
    this.limits = start.limits;
    this.requestEncoding = start.requestEncoding;
    this.responseEncoding = start.responseEncoding;
    this.peerSocket = start.peer;
    this.acceptEncoding = start.acceptEncoding;
    this.decoder = new MessageDecoder(start.limits.maxReceiveMessageSize);
  }

  /** Attaches the handler adapter and starts receiving. */
  start(sink: CallSink): void {
    if (this.interception !== null) {
      // Started already (startIntercepted): the handler side hears what passes the interceptors.
      this.interception.attach(sink);
      return;
    }
    this.sink = sink;
    this.startReceiving();
  }

  /**
   * Starts a call whose server has interceptors: `interception` hears the call's events first and
   * carries the handler side's output. Nothing is delivered until resume(INTERCEPTORS).
   */
  startIntercepted(interception: Interception): void {
    this.interception = interception;
    this.sink = interception;
    this.pause(INTERCEPTORS);
    this.startReceiving();
  }

  /** Whether the server's interceptors stand between this call and its handler. */
  get intercepted(): boolean {
    return this.interception !== null;
  }

  private startReceiving(): void {
    this.method.stats?.started();
    if (this.deadline !== Infinity) {
      const remaining = this.deadline - Date.now();
      if (remaining <= 0) {
        this.expire();
        return;
      }
      // setTimeout turns delays past 2^31-1 ms (~24.8 days) into 1 ms: such deadlines are
      // effectively infinite, so no timer at all.
      if (remaining <= MAX_TIMER_DELAY) this.deadlineTimer = setTimeout(() => this.expire(), remaining);
    }
    this.stream.setListener(this);
  }

  /** The client's address as "host:port", read from the socket only when asked for. */
  get peer(): string {
    const { remoteAddress, remotePort } = this.peerSocket;
    return remoteAddress === undefined ? 'unknown' : `${remoteAddress}:${remotePort}`;
  }

  /** The connection's local and remote addresses (grpc-js's getConnectionInfo()). */
  get connectionInfo(): ConnectionInfo {
    const socket = this.peerSocket;
    return { localAddress: socket.localAddress, localPort: socket.localPort, remoteAddress: socket.remoteAddress, remotePort: socket.remotePort };
  }

  /** This call's ORCA metrics recorder, created on first use. */
  get metricsRecorder(): PerRequestMetricRecorder {
    if (this.metrics === null) this.metrics = new PerRequestMetricRecorder();
    return this.metrics;
  }

  /** The connection's auth context (grpc-js's shape), computed when a handler asks. */
  get authContext(): AuthContext {
    return authContextOf(this.peerSocket);
  }

  /** The request metadata, built from the request headers on first use (most handlers never look). */
  get metadata(): Metadata {
    if (this.requestMetadata === null) this.requestMetadata = Metadata.fromHeaders(this.stream.headers);
    return this.requestMetadata;
  }

  /** Replaces the handler adapter (a unary-request collector hands over to a response stream). */
  setSink(sink: CallSink): void {
    if (this.interception !== null) this.interception.attach(sink);
    else this.sink = sink;
  }

  /** The request metadata as the interceptors passed it on (they may have changed or replaced it). */
  setMetadata(metadata: Metadata): void {
    this.requestMetadata = metadata;
  }

  get cancelled(): boolean {
    return this.state === 'cancelled';
  }

  /** Aborted when the call is cancelled; created on first use. */
  get signal(): AbortSignal {
    if (this.abortController === null) {
      this.abortController = new AbortController();
      if (this.state === 'cancelled') this.abortController.abort();
    }
    return this.abortController.signal;
  }

  /**
   * Chooses the response message encoding for this call. Applies only before the response headers
   * are sent and only to an encoding the client listed in grpc-accept-encoding; returns whether it did.
   */
  setResponseEncoding(encoding: Encoding): boolean {
    if (this.headersSent) return false;
    if (negotiateEncoding(this.acceptEncoding, encoding) !== encoding) return false;
    this.responseEncoding = encoding;
    return true;
  }

  get responseMessageEncoding(): Encoding {
    return this.responseEncoding;
  }

  // ---- StreamListener (from the transport) ----

  onData(chunk: Buffer): void {
    if (this.state !== 'open') return;
    if (!this.decoder.push(chunk, this.emitMessage)) this.decodeFailed();
  }

  private decodeFailed(): void {
    const failure = this.decoder.failure!;
    if (failure.kind === 'tooLarge') {
      this.fail(Status.RESOURCE_EXHAUSTED, `Received message larger than max (${failure.size} vs. ${this.limits.maxReceiveMessageSize})`);
    } else {
      this.fail(Status.INTERNAL, `Invalid compressed flag ${failure.flag}`);
    }
  }

  onTrailers(): void {}

  onEnd(): void {
    if (this.state !== 'open') return;
    if (!this.decoder.isIdle) {
      this.fail(Status.INTERNAL, 'Client ended the stream in the middle of a message');
      return;
    }
    this.state = 'halfClosed';
    this.sink?.onHalfClose();
  }

  onReset(errorCode: number, initiator: Initiator): void {
    this.method.stats?.reset(errorCode, initiator, this.canSend);
    this.cancel();
  }

  onDrain(): void {
    if (this.state === 'open' || this.state === 'halfClosed') this.sink?.onDrain();
  }

  private receiveMessage(data: Buffer, compressed: boolean): void {
    if (this.state !== 'open') return;
    this.method.stats?.messageReceived(data.length);
    this.lastRequestCompressed = compressed;
    let message: unknown;
    try {
      message = decodeReceivedMessage(
        data,
        compressed,
        this.requestEncoding,
        this.limits.maxReceiveMessageSize,
        this.method.requestDeserialize,
        'Error deserializing request',
      );
    } catch (error) {
      const failure = error as MessageDecodeError;
      this.fail(failure.code, failure.details);
      return;
    }
    this.sink?.onMessage(message);
  }

  /**
   * Pauses delivery of request messages: the decoder stops after the current one (keeping the rest
   * of its chunk) and the stream withholds further data, so its window is not returned to the client.
   */
  pause(reason = READER): void {
    this.pausedBy |= reason;
    this.decoder.stop();
    this.stream.pause();
  }

  resume(reason = READER): void {
    this.pausedBy &= ~reason;
    if (this.pausedBy !== 0 || this.state !== 'open') return;
    if (!this.decoder.resume(this.emitMessage)) {
      this.decodeFailed();
      return;
    }
    // A message decoded from the kept input may have paused us again.
    if (!this.decoder.isStopped) this.stream.resume();
  }

  // ---- sending (from handlers) ----

  get canSend(): boolean {
    return this.state === 'open' || this.state === 'halfClosed';
  }

  /** The handler side's response metadata (through the interceptors, if any). */
  sendMetadata(metadata: Metadata | null): void {
    if (this.interception !== null) {
      this.interception.sendMetadata(toMetadata(metadata) ?? new Metadata());
      return;
    }
    this.writeMetadata(metadata);
  }

  /** Sends the response headers with `metadata`, unless they are sent already. */
  writeMetadata(metadata: Metadata | null): void {
    if (this.headersSent || !this.canSend) return;
    const converted = toMetadata(metadata);
    let extra: HeaderList | null = null;
    if (this.responseEncoding !== 'identity' || (converted !== null && converted.size > 0)) {
      extra = [];
      if (this.responseEncoding !== 'identity') extra.push(GRPC_ENCODING, this.responseEncoding);
      converted?.appendToHeaders(extra);
    }
    // The common case (no metadata) sends the constant headers alone; even those may exceed a
    // client's SETTINGS_MAX_HEADER_LIST_SIZE (any value is legal).
    if (!this.stream.fitsHeaderList(extra, RESPONSE_HEADERS)) {
      // Sent anyway it would break the client's connection (its SETTINGS_MAX_HEADER_LIST_SIZE).
      this.fail(Status.INTERNAL, 'Response metadata is larger than the client accepts');
      return;
    }
    this.headersSent = true;
    this.stream.sendHeaders(extra, false, RESPONSE_HEADERS);
  }

  /**
   * Serializes and sends one response message. Returns false when the transport's write quota is
   * used up (wait for onDrain). A message over the send limit ends the call with RESOURCE_EXHAUSTED.
   * With a response encoding chosen, `allowCompression: false` sends this one message uncompressed.
   */
  sendMessage(message: unknown, allowCompression = true): boolean {
    const compressed = allowCompression && this.responseEncoding !== 'identity';
    const payload = this.encodeResponse(message, compressed);
    if (payload === null) return false;
    if (payload.length < LARGE_MESSAGE) return this.stream.write(encodeMessage(payload, compressed));
    // Large messages: the 5-byte prefix goes separately instead of copying the payload behind it.
    this.stream.write(messagePrefix(payload.length, compressed));
    return this.stream.write(payload);
  }

  /**
   * Serializes (and compresses) one response message and sends the response headers if they are
   * still due. Returns the payload to frame, or null when the call cannot send it: already over,
   * or serialization failed (INTERNAL) or the message is over the send limit (RESOURCE_EXHAUSTED).
   */
  encodeResponse(message: unknown, compressed: boolean): Buffer | null {
    if (!this.canSend) return null;
    let data: Buffer;
    try {
      data = this.method.responseSerialize(message);
    } catch (error) {
      this.writeStatus({ code: Status.INTERNAL, details: `Error serializing response: ${(error as Error).message}` });
      return null;
    }
    if (data.length > this.limits.maxSendMessageSize) {
      this.writeStatus({
        code: Status.RESOURCE_EXHAUSTED,
        details: `Sent message larger than max (${data.length} vs. ${this.limits.maxSendMessageSize})`,
      });
      return null;
    }
    this.method.stats?.messageSent(data.length);
    if (!this.headersSent) {
      this.writeMetadata(null);
      if (!this.canSend) return null;
    }
    return compressed ? compress(this.responseEncoding, data) : data;
  }

  /** Hands already framed response bytes to the transport; false when its write quota is used up. */
  sendFramed(bytes: Buffer): boolean {
    return this.stream.write(bytes);
  }

  /** Response bytes handed to the transport and not yet written to the socket. */
  get queuedBytes(): number {
    return this.stream.queuedBytes;
  }

  get maxResponseBacklog(): number {
    return this.limits.maxResponseBacklog;
  }

  /**
   * The handler starts working on the stream: it keeps its concurrency slot, even once reset, until
   * releaseStream() (so resetting streams cannot start more handlers than the limit). With
   * `untilEnd` (streaming handlers) the release comes when the call ends or is cancelled.
   */
  retainStream(untilEnd: boolean): void {
    // Already over (a deadline that expired on arrival): no end is coming to release it.
    if (untilEnd && !this.canSend) return;
    this.releaseOnEnd = untilEnd;
    this.stream.retain();
  }

  releaseStream(): void {
    this.stream.release();
  }

  /**
   * The streaming handler returned a promise or an async iterable: it keeps the concurrency slot
   * until that settles (releaseStream()), even after the call ended or was cancelled.
   */
  holdUntilHandlerEnds(): void {
    this.releaseOnEnd = false;
  }

  /** A streaming handler piled up more unsent responses than allowed: RESOURCE_EXHAUSTED, and it sees the call cancelled. */
  exhaustBacklog(waiting: string): void {
    if (!this.canSend) return;
    this.writeStatus({
      code: Status.RESOURCE_EXHAUSTED,
      details: `Response backlog exceeded (${waiting}); the handler ignored backpressure`,
    });
    this.notifyCancel();
    // The status waits behind the backlog; a client that never opens its window would hold the
    // stream (and the backlog) forever. After a grace period the stream is reset instead:
    // RST_STREAM(ENHANCE_YOUR_CALM) is RESOURCE_EXHAUSTED to a gRPC client (PROTOCOL-HTTP2.md).
    const stream = this.stream;
    setTimeout(() => {
      if (!stream.isClosed) stream.reset(ErrorCode.ENHANCE_YOUR_CALM);
    }, BACKLOG_STATUS_GRACE_MS).unref();
  }

  /** The handler side's status (through the interceptors, if any). */
  sendStatus(status: Partial<StatusObject> | PartialStatus): void {
    if (this.interception !== null) this.interception.sendStatus(status as PartialStatus);
    else this.writeStatus(status);
  }

  /**
   * The handler's answer: one response message, then OK with `trailer` (details "OK", as grpc-js
   * sends). Through the interceptors the status follows once the message has passed them.
   */
  answer(value: unknown, trailer: Metadata | undefined): void {
    if (this.interception !== null) {
      const interception = this.interception;
      interception.sendMessage(value, () => interception.sendStatus({ code: Status.OK, details: 'OK', metadata: trailer ?? null }));
      return;
    }
    this.sendMessage(value);
    this.writeStatus({ code: Status.OK, details: 'OK', metadata: trailer });
  }

  /** With interceptors: a response message of the handler side goes through them; `callback` once the transport took it. */
  sendThroughInterceptors(message: unknown, callback: () => void): void {
    this.interception!.sendMessage(message, callback);
  }

  /** Ends the call with a status; trailers-only if nothing was sent yet. */
  writeStatus(status: Partial<StatusObject> | PartialStatus): void {
    if (!this.canSend) return;
    // Any integer code is sent as it is (grpc-js passes codes outside 0-16 through).
    const code = Number.isInteger(status.code) ? status.code! : Status.UNKNOWN;
    const details = typeof status.details === 'string' ? status.details : '';
    this.method.stats?.ended(code, details);
    const metadata = toMetadata(status.metadata);
    this.finish('finished');
    // The call is over for the transport: let go of it, so the handler's objects (the request
    // among them) are not kept alive while the response waits to be written.
    this.stream.detach();
    // Only schedules (grpc-js reports the end of every call as a cancellation, on a later tick).
    this.sink?.onFinish();
    // OK with no metadata sends the constant trailers (grpc-message "OK" included, as grpc-js).
    const plain = code === Status.OK && (details === 'OK' || details === '') && (metadata === null || metadata.size === 0);
    const stream = this.stream;
    if (!this.headersSent) {
      this.headersSent = true;
      let headers: HeaderList | null = null;
      if (!plain) headers = appendStatus([':status', '200', 'content-type', CONTENT_TYPE], code, details, metadata);
      const prepared = plain ? OK_TRAILERS_ONLY : null;
      if (stream.fitsHeaderList(headers, prepared)) stream.sendHeaders(headers, true, prepared);
      else this.sendOrReset(appendStatus([':status', '200', 'content-type', CONTENT_TYPE], Status.INTERNAL, TRAILERS_TOO_LARGE, null), true);
      return;
    }
    const trailers = plain ? null : appendStatus([], code, details, metadata);
    const prepared = plain ? OK_TRAILERS : null;
    if (stream.fitsHeaderList(trailers, prepared)) stream.end(trailers, prepared);
    else this.sendOrReset(appendStatus([], Status.INTERNAL, TRAILERS_TOO_LARGE, null), false);
  }

  /**
   * The INTERNAL status that replaces one the client would not accept; when even that is over
   * its SETTINGS_MAX_HEADER_LIST_SIZE, the stream is reset (RST_STREAM INTERNAL_ERROR is INTERNAL
   * to a gRPC client) rather than sending headers it must treat as an error.
   */
  private sendOrReset(headers: HeaderList, trailersOnly: boolean): void {
    const stream = this.stream;
    if (!stream.fitsHeaderList(headers)) stream.reset(ErrorCode.INTERNAL_ERROR);
    else if (trailersOnly) stream.sendHeaders(headers, true);
    else stream.end(headers);
  }

  /** Ends the call with an error status from the library (bad input, limits). */
  fail(code: Status, details: string): void {
    this.writeStatus({ code, details });
    // The handler's view matches what it is told: cancelled, and the signal aborted.
    this.notifyCancel();
  }

  private expire(): void {
    if (!this.canSend) return;
    // Past the deadline: DEADLINE_EXCEEDED to the client, then RST_STREAM(CANCEL) so it stops too.
    this.stream.resetAfterEnd(ErrorCode.CANCEL);
    this.writeStatus({ code: Status.DEADLINE_EXCEEDED, details: 'Deadline exceeded' });
    this.notifyCancel();
  }

  private cancel(): void {
    if (this.state === 'cancelled' || this.state === 'finished') {
      this.finish(this.state);
      return;
    }
    this.finish('cancelled');
    this.notifyCancel();
  }

  private notifyCancel(): void {
    this.state = 'cancelled';
    this.abortController?.abort();
    this.sink?.onCancel();
  }

  private finish(state: CallState): void {
    this.state = state;
    if (this.releaseOnEnd) this.stream.release();
    if (this.deadlineTimer !== null) {
      clearTimeout(this.deadlineTimer);
      this.deadlineTimer = null;
    }
  }
}

/** What the client gets instead of a status whose trailers (metadata, message) it would not accept. */
const TRAILERS_TOO_LARGE = 'Response trailers are larger than the client accepts';

function appendStatus(headers: HeaderList, code: Status, details: string, metadata: Metadata | null): HeaderList {
  headers.push(GRPC_STATUS, String(code));
  if (details !== '') headers.push(GRPC_MESSAGE, encodeStatusMessage(details));
  if (metadata !== null) metadata.appendToHeaders(headers, true);
  return headers;
}
