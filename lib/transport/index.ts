/**
 * The HTTP/2 transport's public surface: connections over a socket, streams, typed errors and
 * settings. Nothing here knows about gRPC; see docs in README ("Transport API").
 */
export { createClientConnection, createServerConnection, Http2Connection, DEFAULT_LOCAL_SETTINGS } from './connection/connection';
export type { ConnectionEvents, ConnectionOptions, ConnectionStats, TransportSocket } from './connection/connection';
export type { StreamRequest } from './connection/stream-quota';
export type { LifecycleOptions } from './connection/lifecycle';
export { DEFAULT_LIFECYCLE } from './connection/lifecycle';
export type { ConnectionLimits } from './limits';
export { DEFAULT_CONNECTION_LIMITS } from './limits';
export type { RequestHead, ResponseHead } from './http/message-head';
export { Http2Stream } from './stream/http2-stream';
export type { StreamListener } from './stream/http2-stream';
export type { StreamState } from './stream/stream-state';
export {
  ErrorCode,
  errorCodeName,
  ConnectionError,
  StreamError,
  UserError,
  Http2Error,
  HeaderListTooLargeError,
  PingTimeoutError,
  isUnprocessedReset,
} from './errors';
export type { Initiator } from './errors';
export { defaultSettings } from './settings';
export type { Settings } from './settings';
export type { HeaderList } from './hpack/header-block';
export { prepareHeaders } from './hpack/header-block';
export type { PreparedHeaders } from './hpack/header-block';
export { parseRequestHead, parseResponseHead, checkTrailers } from './http/message-head';
export type { GoAwayFrame } from './frame/frame';
export { duplexPair } from './duplex-pair';
