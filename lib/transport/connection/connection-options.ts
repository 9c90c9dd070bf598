import type { Duplex } from 'node:stream';
import type { ConnectionError } from '../errors';
import type { GoAwayFrame } from '../frame/frame';
import type { Http2Stream } from '../stream/http2-stream';
import type { ConnectionLimits } from '../limits';
import type { LifecycleOptions } from './lifecycle';
import type { Settings } from '../settings';

/** How a connection behaves; every field is optional, with the defaults noted. */
export interface ConnectionOptions {
  /** SETTINGS we advertise. Defaults: 100 concurrent streams, 256 KiB stream window, 16 KiB header list. */
  settings?: Partial<Settings>;
  /** Our connection-level receive window (announced with a WINDOW_UPDATE at start). Default 1 MiB. */
  connectionWindowSize?: number;
  /** Bytes a stream may queue before write() returns false. Default 64 KiB (as grpc-go). */
  writeQuota?: number;
  /** Queued transport responses (SETTINGS/PING ACK, RST) at which reading pauses. Default 50. */
  throttleThreshold?: number;
  /** Bounds on what one peer may make the connection do (defaults: DEFAULT_CONNECTION_LIMITS). */
  limits?: Partial<ConnectionLimits>;
  /** Handshake, idle, age, keepalive, ping-policy and data-rate timers (defaults: DEFAULT_LIFECYCLE). */
  lifecycle?: Partial<LifecycleOptions>;
}

/** The SETTINGS we advertise unless ConnectionOptions.settings says otherwise. */
export const DEFAULT_LOCAL_SETTINGS: Readonly<Partial<Settings>> = {
  enablePush: false,
  maxConcurrentStreams: 100,
  initialWindowSize: 256 * 1024,
  maxHeaderListSize: 16 * 1024,
};

/** Counters for tests and monitoring. */
export interface ConnectionStats {
  /** Open streams. */
  streams: number;
  /** Closed or reset streams whose handler still runs (retained): they count against the stream limit. */
  retainedStreams: number;
  /** Streams the writer still tracks. */
  writerStreams: number;
  /** DATA bytes handed to streams' write() and not yet on the wire. */
  queuedBytes: number;
  /** Items waiting in the ControlBuffer. */
  controlItems: number;
  /** Received bytes not yet parsed (reader paused). */
  readerBufferedBytes: number;
  /** Received DATA bytes waiting in open streams' buffers for their reader (paused streams). */
  streamBufferedBytes: number;
  /** Whether reading is paused by the transport-response throttle. */
  throttled: boolean;
  /** Bytes handed to the socket so far. */
  bytesWritten: number;
}

/**
 * What a connection runs over: any Duplex (net.Socket, tls.TLSSocket, one end of an in-memory
 * pair). Socket-only members are used when present.
 */
export type TransportSocket = Duplex & {
  /** Turns Nagle off when present (net.Socket). */
  setNoDelay?(noDelay?: boolean): unknown;
  /** The peer's address, when the socket has one. */
  readonly remoteAddress?: string;
  /** The peer's port, when the socket has one. */
  readonly remotePort?: number;
};

/** The events of an Http2Connection and their arguments. */
export interface ConnectionEvents {
  /** The peer opened a stream (server role): its validated request head is `stream.requestHead`. */
  stream: [stream: Http2Stream];
  /** The peer sent GOAWAY: no new streams; those above its last stream id were not processed. */
  goaway: [frame: GoAwayFrame];
  /** The peer's first SETTINGS arrived: the handshake is done (both roles). */
  ready: [];
  /**
   * The connection takes no new streams from now on (a GOAWAY either way, close(), or our stream
   * ids ran out): its owner should open a new connection for new requests. Emitted once.
   */
  draining: [];
  /** The connection failed: a protocol error we answered with GOAWAY, or an internal failure. */
  connectionError: [error: ConnectionError];
  /** The socket closed; every stream has ended. */
  close: [];
}
