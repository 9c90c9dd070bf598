import { Metadata } from '../metadata';
import { Status } from '../status';
import { ServerDuplexStream, ServerReadableStream, ServerUnaryCall, ServerWritableStream, errorToStatus, untilWritable } from './call-objects';
import type { CallSink, MethodCodec, ServerCall } from './server-call';

export type MethodKind = 'unary' | 'clientStream' | 'serverStream' | 'bidi';

/** A method as the router keeps it: how to (de)serialize, which kind, and the user's handler. */
export interface RegisteredMethod extends MethodCodec {
  kind: MethodKind;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  handler: (...args: any[]) => unknown;
}

/** grpc-js's sendUnaryData: callback(error, value?, trailer?, flags?). */
export type UnaryCallback = (error: unknown, value?: unknown, trailer?: Metadata, flags?: number) => void;

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';
}

/** Starts the handler of `method` on `core`, in whichever style (callback or async) it is written. */
export function startCall(core: ServerCall, method: RegisteredMethod): void {
  switch (method.kind) {
    case 'unary':
      core.start(new UnaryCall(core, method));
      return;
    case 'serverStream':
      core.start(new SingleRequestCollector(core, method));
      return;
    case 'clientStream': {
      const call = new ServerReadableStream(core);
      // Nothing is decoded until the handler reads (the Readable's _read resumes the call): a
      // handler that never reads holds only what the stream window let in, not a whole message.
      core.pause();
      core.start(call);
      invokeWithCallback(core, method, call);
      return;
    }
    case 'bidi': {
      const call = new ServerDuplexStream(core);
      core.pause();
      core.start(call);
      invokeStreaming(core, method, call);
      return;
    }
  }
}

/** Unary and server-streaming requests carry exactly one message: a second one fails the call. */
function acceptsAnother(core: ServerCall, method: RegisteredMethod, received: number): boolean {
  if (received === 1) return true;
  core.fail(Status.INTERNAL, `Received a second request message for ${method.path}`);
  return false;
}

/** ...and none at all fails it too, once the client has half-closed. */
function receivedOne(core: ServerCall, method: RegisteredMethod, received: number): boolean {
  if (received === 1) return true;
  core.fail(Status.INTERNAL, `Received no request message for ${method.path}`);
  return false;
}

/** A unary call is its own sink: it takes exactly one request message, then runs the handler. */
class UnaryCall extends ServerUnaryCall implements CallSink {
  private received = 0;

  constructor(
    core: ServerCall,
    private readonly method: RegisteredMethod,
  ) {
    super(core);
  }

  onMessage(message: unknown): void {
    if (acceptsAnother(this.core, this.method, ++this.received)) this.request = message;
  }

  onHalfClose(): void {
    if (!receivedOne(this.core, this.method, this.received)) return;
    invokeWithCallback(this.core, this.method, this);
  }

  onCancel(): void {
    this.emit('cancelled', 'cancelled');
  }

  onDrain(): void {}
}

/** Server-streaming calls take exactly one request message, then the handler gets a writable call. */
class SingleRequestCollector implements CallSink {
  private request: unknown = undefined;
  private received = 0;

  constructor(
    private readonly core: ServerCall,
    private readonly method: RegisteredMethod,
  ) {}

  onMessage(message: unknown): void {
    if (acceptsAnother(this.core, this.method, ++this.received)) this.request = message;
  }

  onHalfClose(): void {
    if (!receivedOne(this.core, this.method, this.received)) return;
    const call = new ServerWritableStream(this.core);
    call.request = this.request;
    this.core.setSink(call);
    invokeStreaming(this.core, this.method, call);
  }

  onCancel(): void {}

  onDrain(): void {}
}

/**
 * Unary and client-streaming: grpc-js style `handler(call, callback)`, or async style
 * `async handler(call) => response` (a handler declaring fewer than two parameters). The stream
 * is retained until the handler answers (callback, settled promise or throw), even if the client
 * resets it meanwhile: a handler still working keeps its concurrency slot.
 */
function invokeWithCallback(core: ServerCall, method: RegisteredMethod, call: ServerUnaryCall | ServerReadableStream): void {
  let answered = false;
  const callback: UnaryCallback = (error, value, trailer) => {
    if (answered) return;
    answered = true;
    core.releaseStream();
    if (error !== null && error !== undefined) {
      core.sendStatus(errorToStatus(error, trailer));
      return;
    }
    core.sendMessage(value);
    core.sendStatus({ code: Status.OK, details: '', metadata: trailer });
  };
  core.retainStream(false);
  try {
    const result = method.handler(call, callback);
    if (method.handler.length < 2 && isPromiseLike(result)) {
      result.then(
        (value) => callback(null, value),
        (error) => callback(error),
      );
    }
  } catch (error) {
    callback(error);
  }
}

/**
 * Server-streaming and bidi: grpc-js style `handler(call)` writing to the call, or an async
 * generator / async function returning an async iterable of responses. The stream is retained
 * until the call ends (status sent) or is cancelled (its Writable destroyed).
 */
function invokeStreaming(core: ServerCall, method: RegisteredMethod, call: ServerWritableStream | ServerDuplexStream): void {
  core.retainStream(true);
  let result: unknown;
  try {
    result = method.handler(call);
  } catch (error) {
    core.sendStatus(errorToStatus(error));
    return;
  }
  if (isAsyncIterable(result)) {
    void pump(result, call);
  } else if (isPromiseLike(result)) {
    result.then(
      () => {
        if (core.canSend && !call.writableEnded) call.end();
      },
      (error) => core.sendStatus(errorToStatus(error)),
    );
  }
}

/** Writes an async iterable's values to the call with backpressure, then ends it (or sends the error). */
async function pump(source: AsyncIterable<unknown>, call: ServerWritableStream | ServerDuplexStream): Promise<void> {
  try {
    for await (const value of source) {
      if (!call.core.canSend) return;
      if (!call.write(value)) {
        await untilWritable(call);
        // Checked again after waiting: a cancelled call must not pull one more value from the source.
        if (!call.core.canSend) return;
      }
    }
    if (call.core.canSend) call.end();
  } catch (error) {
    call.core.sendStatus(errorToStatus(error));
  }
}
