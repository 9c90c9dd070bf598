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
