import type { ConnectError } from '@connectrpc/connect';
import type { UniversalServerResponse } from '@connectrpc/connect/protocol';
import { ErrorCode, type HeaderList, type Http2Stream, type Initiator, type StreamListener } from '../transport';
import { appendHeaders, hasFields } from './fields';
import { RequestBody } from './request-body';
import { connectErrorFromReset } from './reset-error';

/**
 * One HTTP exchange on a stream as Connect's universal handler sees it: the request body and the
 * abort signal on the way in, the response (status, headers, body, trailers) on the way out, both
 * directions with backpressure.
 */
export class StreamExchange implements StreamListener {
  readonly body: RequestBody;
  private readonly abortController = new AbortController();
  /** Why the stream ended early (reset by the client or the transport, or its connection lost); null while it runs. */
  resetReason: ConnectError | null = null;
  private drainWaiter: { resolve: () => void; reject: (error: unknown) => void } | null = null;
  /** The request's trailers, if the client sent any (Connect's protocols have none). */
  trailers: HeaderList | null = null;

  constructor(private readonly stream: Http2Stream) {
    this.body = new RequestBody(stream);
    stream.setListener(this);
  }

  /** Aborted when the stream is reset (either side) or its connection is lost, with a ConnectError. */
  get signal(): AbortSignal {
    return this.abortController.signal;
  }

  /**
   * Writes the handler's response: status and headers go with the first body chunk (Connect sets
   * headers until then), or alone when the body is empty; each chunk waits for the write quota
   * (the client's window) before the next is pulled; the trailers are read only once the body has
   * ended, as Connect's gRPC handler sets grpc-status last. A gRPC response without any message
   * goes as trailers-only (one HEADERS frame, PROTOCOL-HTTP2.md). Rejects if the stream ends first.
   */
  async respond(response: UniversalServerResponse): Promise<void> {
    const stream = this.stream;
    const iterator = response.body?.[Symbol.asyncIterator]();
    let headersSent = false;
    let writing = false;
    try {
      if (iterator !== undefined) {
        for (let result = await iterator.next(); result.done !== true; result = await iterator.next()) {
          const chunk = result.value;
          if (chunk.length === 0) continue;
          writing = true;
          this.checkOpen();
          if (!headersSent) {
            this.sendHeaders(responseHead(response), false);
            headersSent = true;
          }
          if (!stream.write(asBuffer(chunk))) await this.drained();
          writing = false;
        }
      }
      this.checkOpen();
      const trailer = response.trailer;
      if (!hasFields(trailer)) {
        if (headersSent) stream.end();
        else this.sendHeaders(responseHead(response), true);
      } else if (headersSent) {
        this.endWith(appendHeaders([], trailer));
      } else if (isGrpc(response)) {
        this.sendHeaders(appendHeaders(responseHead(response), trailer), true);
      } else {
        this.sendHeaders(responseHead(response), false);
        this.endWith(appendHeaders([], trailer));
      }
    } catch (error) {
      // The handler hears of a failed write (as connect-node reports it) so it can stop producing.
      if (writing) iterator?.throw?.(error).catch(() => {});
      throw error;
    } finally {
      iterator?.return?.().catch(() => {});
    }
  }

  /** The exchange is over for us: drop whatever input the handler did not read. */
  finish(): void {
    this.body.discard();
    this.stream.detach();
  }

  private sendHeaders(headers: HeaderList, endStream: boolean): void {
    if (this.stream.fitsHeaderList(headers)) {
      this.stream.sendHeaders(headers, endStream);
      return;
    }
    // More than the client accepts (its SETTINGS_MAX_HEADER_LIST_SIZE): nothing valid can be sent.
    this.stream.reset(ErrorCode.INTERNAL_ERROR);
    throw new Error('response headers are larger than the client accepts');
  }

  private endWith(trailers: HeaderList): void {
    if (this.stream.fitsHeaderList(trailers)) {
      this.stream.end(trailers);
      return;
    }
    this.stream.reset(ErrorCode.INTERNAL_ERROR);
    throw new Error('response trailers are larger than the client accepts');
  }

  private checkOpen(): void {
    if (this.resetReason !== null) throw this.resetReason;
  }

  private drained(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.drainWaiter = { resolve, reject };
    });
  }

  // ---- StreamListener ----

  onData(chunk: Buffer): void {
    this.body.onData(chunk);
  }

  onTrailers(trailers: HeaderList): void {
    this.trailers = trailers;
  }

  onEnd(): void {
    this.body.onEnd();
  }

  onReset(errorCode: number, initiator: Initiator): void {
    const reason = connectErrorFromReset(errorCode, initiator);
    this.resetReason = reason;
    this.body.onReset(reason);
    const waiter = this.drainWaiter;
    this.drainWaiter = null;
    waiter?.reject(reason);
    this.abortController.abort(reason);
  }

  onDrain(): void {
    const waiter = this.drainWaiter;
    this.drainWaiter = null;
    waiter?.resolve();
  }
}

/** :status and the headers, as they are when the first chunk (or the end) is there. */
function responseHead(response: UniversalServerResponse): HeaderList {
  return appendHeaders([':status', String(response.status)], response.header);
}

/** A gRPC (not gRPC-Web) response: its trailers may travel in the headers when there is no body. */
function isGrpc(response: UniversalServerResponse): boolean {
  if (response.status !== 200) return false;
  const type = response.header?.get('content-type') ?? '';
  return type === 'application/grpc' || type.startsWith('application/grpc+') || type.startsWith('application/grpc;');
}

/** The chunk as a Buffer over the same memory (no copy). */
function asBuffer(chunk: Uint8Array): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}
