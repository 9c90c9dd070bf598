import { ErrorCode, type HeaderList, type Initiator, type StreamListener } from '../../transport';
import { compress, decompress, type Encoding, MessageTooLargeError, negotiateEncoding } from '../compression';
import { Metadata, toMetadata } from '../metadata';
import { CONTENT_TYPE, GRPC_ENCODING, GRPC_MESSAGE, GRPC_STATUS, OK_TRAILERS, OK_TRAILERS_ONLY, RESPONSE_HEADERS } from '../protocol/headers';
import { encodeMessage, LARGE_MESSAGE, MessageDecoder, messagePrefix } from '../protocol/message-framing';
import { encodeStatusMessage } from '../protocol/status-message';
import type { PeerAddress, RpcStream } from '../rpc-stream';
import { isStatusCode, Status, type StatusObject } from '../status';

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
}

export interface MethodCodec {
  path: string;
  requestDeserialize(data: Buffer): unknown;
  responseSerialize(value: unknown): Buffer;
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
    this.sink = sink;
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

  /** The request metadata, built from the request headers on first use (most handlers never look). */
  get metadata(): Metadata {
    if (this.requestMetadata === null) this.requestMetadata = Metadata.fromHeaders(this.stream.headers);
    return this.requestMetadata;
  }

  /** Replaces the handler adapter (a unary-request collector hands over to a response stream). */
  setSink(sink: CallSink): void {
    this.sink = sink;
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

  onReset(_errorCode: number, _initiator: Initiator): void {
    this.cancel();
  }

  onDrain(): void {
    if (this.state === 'open' || this.state === 'halfClosed') this.sink?.onDrain();
  }

  private receiveMessage(data: Buffer, compressed: boolean): void {
    if (this.state !== 'open') return;
    this.lastRequestCompressed = compressed;
    if (compressed) {
      // A compressed flag without a grpc-encoding (or with identity) is a protocol violation.
      if (this.requestEncoding === 'identity') {
        this.fail(Status.INTERNAL, 'Compressed message received without grpc-encoding');
        return;
      }
      try {
        data = decompress(this.requestEncoding, data, this.limits.maxReceiveMessageSize);
      } catch (error) {
        if (error instanceof MessageTooLargeError) {
          this.fail(Status.RESOURCE_EXHAUSTED, `Received message larger than max ${this.limits.maxReceiveMessageSize} after decompression`);
        } else {
          this.fail(Status.INTERNAL, `Failed to decompress message: ${(error as Error).message}`);
        }
        return;
      }
    }
    let message: unknown;
    try {
      message = this.method.requestDeserialize(data);
    } catch (error) {
      this.fail(Status.INTERNAL, `Error deserializing request: ${(error as Error).message}`);
      return;
    }
    this.sink?.onMessage(message);
  }

  /**
   * Pauses delivery of request messages: the decoder stops after the current one (keeping the rest
   * of its chunk) and the stream withholds further data, so its window is not returned to the client.
   */
  pause(): void {
    this.decoder.stop();
    this.stream.pause();
  }

  resume(): void {
    if (this.state !== 'open') return;
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

  sendMetadata(metadata: Metadata | null): void {
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
      this.sendStatus({ code: Status.INTERNAL, details: `Error serializing response: ${(error as Error).message}` });
      return null;
    }
    if (data.length > this.limits.maxSendMessageSize) {
      this.sendStatus({
        code: Status.RESOURCE_EXHAUSTED,
        details: `Sent message larger than max (${data.length} vs. ${this.limits.maxSendMessageSize})`,
      });
      return null;
    }
    if (!this.headersSent) {
      this.sendMetadata(null);
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

  /** A streaming handler piled up more unsent responses than allowed: RESOURCE_EXHAUSTED, and it sees the call cancelled. */
  exhaustBacklog(backlog: number): void {
    if (!this.canSend) return;
    this.sendStatus({
      code: Status.RESOURCE_EXHAUSTED,
      details: `Response backlog exceeded (${backlog} bytes waiting vs. a limit of ${this.limits.maxResponseBacklog}); the handler ignored backpressure`,
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

  /** Ends the call with a status; trailers-only if nothing was sent yet. */
  sendStatus(status: Partial<StatusObject>): void {
    if (!this.canSend) return;
    const code = isStatusCode(status.code) ? status.code : Status.UNKNOWN;
    const details = typeof status.details === 'string' ? status.details : '';
    const metadata = toMetadata(status.metadata);
    this.finish('finished');
    // The call is over for the transport: let go of it, so the handler's objects (the request
    // among them) are not kept alive while the response waits to be written.
    this.stream.detach();
    const plain = code === Status.OK && details === '' && (metadata === null || metadata.size === 0);
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
    this.sendStatus({ code, details });
    // The handler's view matches what it is told: cancelled, and the signal aborted.
    this.notifyCancel();
  }

  private expire(): void {
    if (!this.canSend) return;
    // Past the deadline: DEADLINE_EXCEEDED to the client, then RST_STREAM(CANCEL) so it stops too.
    this.stream.resetAfterEnd(ErrorCode.CANCEL);
    this.sendStatus({ code: Status.DEADLINE_EXCEEDED, details: 'Deadline exceeded' });
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
