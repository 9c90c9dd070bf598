import type { HeaderList, PreparedHeaders, StreamListener } from '../transport';

/**
 * What a gRPC call needs from its HTTP/2 stream: the seam between the call and the transport.
 * `Http2Stream` implements it; a fake implements it in specs, and a client call uses the same.
 */
export interface RpcStream {
  /** The header list that opened the stream (the request, on a server). */
  readonly headers: HeaderList;
  /** Bytes handed to write() and not yet on the wire. */
  readonly queuedBytes: number;
  /** Once our END_STREAM is written, reset the stream with `code` if the peer is still sending. */
  resetAfterEnd(code: number): void;
  setListener(listener: StreamListener): void;
  pause(): void;
  resume(): void;
  sendHeaders(headers: HeaderList | null, endStream?: boolean, prepared?: PreparedHeaders | null): void;
  write(data: Buffer, endStream?: boolean): boolean;
  end(trailers?: HeaderList | null, prepared?: PreparedHeaders | null): void;
  fitsHeaderList(headers: HeaderList | null, prepared?: PreparedHeaders | null): boolean;
  /** Whether the stream has closed (both ends done, or reset). */
  readonly isClosed: boolean;
  /** Aborts the stream with RST_STREAM(code). */
  reset(code?: number): void;
  retain(): void;
  release(): void;
  detach(): void;
}

/** Where the peer is, read only when a handler asks (call.getPeer()). */
export interface PeerAddress {
  readonly remoteAddress?: string;
  readonly remotePort?: number;
  readonly localAddress?: string;
  readonly localPort?: number;
}
