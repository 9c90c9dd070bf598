import { Metadata } from '../metadata';
import { Status } from '../status';
import { ServerDuplexStream, ServerReadableStream, ServerUnaryCall, ServerWritableStream, errorToStatus, untilWritable } from './call-objects';
import type { ServerMethodDefinition } from './call-types';
import { startIntercepted } from './intercepted-call';
import type { ServerInterceptor } from './interceptors';
import type { CallSink, MethodCodec, ServerCall } from './server-call';

export type MethodKind = 'unary' | 'clientStream' | 'serverStream' | 'bidi';

/** A method as the router keeps it: how to (de)serialize, which kind, and the user's handler. */
export interface RegisteredMethod extends MethodCodec {
  kind: MethodKind;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  handler: (...args: any[]) => unknown;
  /** What interceptors are told of the method; made on first use. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  descriptor?: ServerMethodDefinition<any, any>;
}

/** grpc-js's sendUnaryData: callback(error, value?, trailer?, flags?). */
export type UnaryCallback = (error: unknown, value?: unknown, trailer?: Metadata, flags?: number) => void;

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';
}

const NO_INTERCEPTORS: readonly ServerInterceptor[] = [];

/**
 * Starts the handler of `method` on `core`, in whichever style (callback or async) it is written;
 * with `interceptors`, once the request metadata has passed them.
 */
export function startCall(core: ServerCall, method: RegisteredMethod, interceptors: readonly ServerInterceptor[] = NO_INTERCEPTORS): void {
  if (interceptors.length === 0) runHandler(core, method);
  else startIntercepted(core, descriptorOf(method), interceptors, () => runHandler(core, method));
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function descriptorOf(method: RegisteredMethod): ServerMethodDefinition<any, any> {
  if (method.descriptor === undefined) {
    method.descriptor = {
      path: method.path,
      requestStream: method.kind === 'clientStream' || method.kind === 'bidi',
      responseStream: method.kind === 'serverStream' || method.kind === 'bidi',
      requestDeserialize: method.requestDeserialize,
      responseSerialize: method.responseSerialize,
    };
  }
  return method.descriptor;
}

function runHandler(core: ServerCall, method: RegisteredMethod): void {
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

  onFinish(): void {}
}

/**
 * Unary and client-streaming: grpc-js style `handler(call, callback)` (always called with both,
 * as grpc-js does), or async style `async handler(call) => response`. The style is never guessed
 * from the declared parameters alone: a promise answers only when it resolves with a response
 * (not undefined) and the handler declares no callback parameter, so a wrapper such as
 * `async (...args) => inner(...args)` still answers through the callback; a rejection answers
 * with its error unless the callback came first. The stream is retained until the handler
 * answers, even if the client resets it meanwhile: a handler still working keeps its slot.
 */
function invokeWithCallback(core: ServerCall, method: RegisteredMethod, call: ServerUnaryCall | ServerReadableStream): void {
  let answered = false;
  const callback: UnaryCallback = (error, value, trailer) => {
    if (answered) return;
    answered = true;
    core.releaseStream();
    if (error !== null && error !== undefined) core.sendStatus(errorToStatus(error, trailer));
    else core.answer(value, trailer);
  };
  core.retainStream(false);
  let result: unknown;
  try {
    result = method.handler(call, callback);
  } catch (error) {
    callback(error);
    return;
  }
  if (isPromiseLike(result)) {
    const takesCallback = method.handler.length >= 2;
    result.then(
      (value) => {
        if (!takesCallback && value !== undefined) callback(null, value);
      },
      (error) => callback(error),
    );
  }
}

/**
 * Server-streaming and bidi: grpc-js style `handler(call)` writing to the call, or an async
 * generator / async function returning an async iterable of responses (written, then the call
 * ends). Any other promise only reports a rejection: the handler ends the call itself, as in
 * grpc-js. The stream keeps its concurrency slot until the call ends (a callback-style handler)
 * or, for a handler returning a promise or an iterable, until that settles, even after the call
 * was cancelled: a handler still working counts against the stream limit.
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
    core.holdUntilHandlerEnds();
    void pump(result, call).then(() => core.releaseStream());
  } else if (isPromiseLike(result)) {
    core.holdUntilHandlerEnds();
    result.then(
      (value) => {
        if (isAsyncIterable(value)) void pump(value, call).then(() => core.releaseStream());
        else core.releaseStream();
      },
      (error) => {
        core.sendStatus(errorToStatus(error));
        core.releaseStream();
      },
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
