import { EventEmitter } from 'node:events';
import { Duplex, Readable, Writable } from 'node:stream';
import type { HeaderList } from '../../transport';
import { Metadata } from '../metadata';
import { GrpcError, Status, type StatusObject } from '../status';
import type { CallCore } from './intercepted-call';

/** The error a failed call reports (grpc-js's ServiceError): an Error with code, details and metadata. */
export type ServiceError = GrpcError;

/** grpc-js's requestCallback: the response, or the call's error. */
export type RequestCallback<Response> = (error: ServiceError | null, value?: Response) => void;

/** An error for a non-OK status, shaped as grpc-js's callErrorFromStatus. */
export function callError(status: StatusObject): ServiceError {
  return new GrpcError(status.code, status.details, status.metadata);
}

const CANCELLED_DETAILS = 'Cancelled on client';

/** The single response of a unary or client-streaming call, for its callback (exactly one must come). */
class ResponseCollector<Response> {
  response: Response | undefined = undefined;
  received = 0;

  constructor(readonly callback: RequestCallback<Response>) {}

  take(core: CallCore, message: unknown): void {
    if (++this.received > 1) {
      core.cancelWithStatus(Status.UNIMPLEMENTED, 'Too many responses received');
      return;
    }
    this.response = message as Response;
  }

  finish(status: StatusObject): void {
    if (status.code === Status.OK && this.received === 0) {
      this.callback(callError({ code: Status.UNIMPLEMENTED, details: 'No message received', metadata: status.metadata }));
    } else if (status.code === Status.OK) {
      this.callback(null, this.response);
    } else {
      this.callback(callError(status));
    }
  }
}

/**
 * grpc-js's ClientUnaryCall: emits 'metadata' (response headers) and 'status'; the response goes to
 * the callback.
 */
export class ClientUnaryCall<Response = unknown> extends EventEmitter {
  /** @internal */
  core!: CallCore;
  private readonly collector: ResponseCollector<Response>;

  /** @internal */
  constructor(callback: RequestCallback<Response>) {
    super();
    this.collector = new ResponseCollector(callback);
  }

  /** Cancels the call: RST_STREAM(CANCEL) to the server, CANCELLED to the callback. */
  cancel(): void {
    this.core.cancelWithStatus(Status.CANCELLED, CANCELLED_DETAILS);
  }

  /** The server's address ("host:port"), or the target before a connection was chosen. */
  getPeer(): string {
    return this.core.peer;
  }

  /** @internal */
  onReceiveMetadata(headers: HeaderList | Metadata): void {
    emitMetadata(this, headers);
  }
  /** @internal */
  onReceiveMessage(message: unknown): void {
    this.collector.take(this.core, message);
  }
  /** @internal */
  onReceiveStatus(status: StatusObject): void {
    this.collector.finish(status);
    this.emit('status', status);
  }
  /** @internal */
  onDrain(): void {}
}

/** grpc-js's ClientReadableStream: response messages as an object-mode Readable, with flow control. */
export class ClientReadableStream<Response = unknown> extends Readable {
  /** @internal */
  core!: CallCore;

  /** @internal */
  constructor() {
    super({ objectMode: true });
  }

  /** Cancels the call: RST_STREAM(CANCEL) to the server, an 'error' with CANCELLED here. */
  cancel(): void {
    this.core.cancelWithStatus(Status.CANCELLED, CANCELLED_DETAILS);
  }

  /** The server's address ("host:port"). */
  getPeer(): string {
    return this.core.peer;
  }

  /** @internal */
  override _read(): void {
    this.core.resumeReading();
  }

  /** @internal */
  onReceiveMetadata(headers: HeaderList | Metadata): void {
    emitMetadata(this, headers);
  }
  /** @internal */
  onReceiveMessage(message: unknown): void {
    // A consumer that does not keep up holds the server back through the stream's window.
    if (!this.push(message as Response)) this.core.pauseReading();
  }
  /** @internal */
  onReceiveStatus(status: StatusObject): void {
    finishReadable(this, status);
  }
  /** @internal */
  onDrain(): void {}
}

/** grpc-js's ClientWritableStream: request messages through an object-mode Writable; the response goes to the callback. */
export class ClientWritableStream<Request = unknown, Response = unknown> extends Writable {
  /** @internal */
  core!: CallCore;
  private readonly collector: ResponseCollector<Response>;
  /** @internal */
  writeCallback: ((error?: Error | null) => void) | null = null;

  /** @internal */
  constructor(callback: RequestCallback<Response>) {
    super({ objectMode: true });
    this.collector = new ResponseCollector(callback);
  }

  /** Cancels the call: RST_STREAM(CANCEL) to the server, CANCELLED to the callback. */
  cancel(): void {
    this.core.cancelWithStatus(Status.CANCELLED, CANCELLED_DETAILS);
  }

  /** The server's address ("host:port"). */
  getPeer(): string {
    return this.core.peer;
  }

  /** @internal */
  override _write(message: Request, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    writeMessage(this, message, callback);
  }

  /** @internal */
  override _final(callback: (error?: Error | null) => void): void {
    this.core.halfClose();
    callback();
  }

  /** @internal */
  onReceiveMetadata(headers: HeaderList | Metadata): void {
    emitMetadata(this, headers);
  }
  /** @internal */
  onReceiveMessage(message: unknown): void {
    this.collector.take(this.core, message);
  }
  /** @internal */
  onReceiveStatus(status: StatusObject): void {
    releaseWriter(this);
    this.collector.finish(status);
    this.emit('status', status);
  }
  /** @internal */
  onDrain(): void {
    releaseWriter(this);
  }
}

/** grpc-js's ClientDuplexStream: request messages written, response messages read, both in object mode. */
export class ClientDuplexStream<Request = unknown, Response = unknown> extends Duplex {
  /** @internal */
  core!: CallCore;
  /** @internal */
  writeCallback: ((error?: Error | null) => void) | null = null;

  /** @internal */
  constructor() {
    super({ objectMode: true });
  }

  /** Cancels the call: RST_STREAM(CANCEL) to the server, an 'error' with CANCELLED here. */
  cancel(): void {
    this.core.cancelWithStatus(Status.CANCELLED, CANCELLED_DETAILS);
  }

  /** The server's address ("host:port"). */
  getPeer(): string {
    return this.core.peer;
  }

  /** @internal */
  override _read(): void {
    this.core.resumeReading();
  }

  /** @internal */
  override _write(message: Request, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    writeMessage(this, message, callback);
  }

  /** @internal */
  override _final(callback: (error?: Error | null) => void): void {
    this.core.halfClose();
    callback();
  }

  /** @internal */
  onReceiveMetadata(headers: HeaderList | Metadata): void {
    emitMetadata(this, headers);
  }
  /** @internal */
  onReceiveMessage(message: unknown): void {
    if (!this.push(message as Response)) this.core.pauseReading();
  }
  /** @internal */
  onReceiveStatus(status: StatusObject): void {
    releaseWriter(this);
    finishReadable(this, status);
  }
  /** @internal */
  onDrain(): void {
    releaseWriter(this);
  }
}

/** The writing side of client-streaming and bidi calls. */
interface CallWriter {
  readonly core: CallCore;
  writeCallback: ((error?: Error | null) => void) | null;
}

/** Sends one message; the Writable's callback waits for the call's onDrain when the transport is full. */
function writeMessage(stream: CallWriter, message: unknown, callback: (error?: Error | null) => void): void {
  const core = stream.core;
  // Writes after the call ended are dropped, as grpc-js does.
  if (core.isDone || core.sendMessage(message)) {
    callback();
    return;
  }
  if (core.isDone) callback();
  else stream.writeCallback = callback;
}

function releaseWriter(stream: CallWriter): void {
  const callback = stream.writeCallback;
  if (callback === null) return;
  stream.writeCallback = null;
  callback();
}

/** Ends a readable call: 'end' after the last message for OK, else 'error'; then 'status'. */
function finishReadable(stream: Readable, status: StatusObject): void {
  if (status.code === Status.OK) stream.push(null);
  else stream.emit('error', callError(status));
  stream.emit('status', status);
}

/** 'metadata' with the response headers as Metadata, built only when someone listens. */
function emitMetadata(call: EventEmitter, headers: HeaderList | Metadata): void {
  if (call.listenerCount('metadata') > 0) call.emit('metadata', headers instanceof Metadata ? headers : Metadata.fromHeaders(headers));
}
