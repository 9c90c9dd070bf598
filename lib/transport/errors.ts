/** HTTP/2 error codes, RFC 9113 §7. */
export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const errorCodeNames: string[] = [];
for (const [name, code] of Object.entries(ErrorCode)) errorCodeNames[code] = name;

/** The RFC name of an error code ("ENHANCE_YOUR_CALM"), or UNKNOWN_ERROR_0x.. */
export function errorCodeName(code: number): string {
  return errorCodeNames[code] ?? `UNKNOWN_ERROR_0x${code.toString(16)}`;
}

/** Who caused an error: our user (API call), the library (a check), or the remote peer. */
export type Initiator = 'user' | 'library' | 'remote';

/** Base of the transport's typed errors; `code` is a stable machine-readable string. */
export abstract class Http2Error extends Error {
  abstract readonly code: string;

  /**
   * Protocol errors answer what a peer sent and are raised per frame under attack (a reset flood
   * makes thousands): they skip the stack trace, which would cost more than handling the frame.
   */
  constructor(message: string, captureStack = true) {
    const limit = Error.stackTraceLimit;
    if (!captureStack) Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
  }
}

/** An error that ends the whole connection: we send GOAWAY with `errorCode` then close. RFC 9113 §5.4.1. */
export class ConnectionError extends Http2Error {
  /** Stable machine-readable code. */
  readonly code = 'ERR_HTTP2_CONNECTION';
  constructor(
    /** The GOAWAY's error code (ErrorCode). */
    readonly errorCode: number,
    /** Why, as sent in the GOAWAY's debug data (e.g. "too_many_pings", which gRPC clients look for). */
    readonly reason: string,
    /** Who caused it. */
    readonly initiator: Initiator = 'library',
  ) {
    super(`${errorCodeName(errorCode)}: ${reason}`, false);
    this.name = 'ConnectionError';
  }
}

/** An error that ends one stream: we send RST_STREAM with `errorCode`. RFC 9113 §5.4.2. */
export class StreamError extends Http2Error {
  /** Stable machine-readable code. */
  readonly code = 'ERR_HTTP2_STREAM';
  constructor(
    /** The stream reset. */
    readonly streamId: number,
    /** The RST_STREAM's error code (ErrorCode). */
    readonly errorCode: number,
    message: string,
    /** Who caused it. */
    readonly initiator: Initiator = 'library',
  ) {
    super(`stream ${streamId} ${errorCodeName(errorCode)}: ${message}`, false);
    this.name = 'StreamError';
  }
}

/** Misuse of the transport API (writing to an ended stream, and so on). */
export class UserError extends Http2Error {
  /** Stable machine-readable code. */
  readonly code = 'ERR_HTTP2_USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** A header list larger than the peer accepts (its SETTINGS_MAX_HEADER_LIST_SIZE) or our own cap: nothing was sent. */
export class HeaderListTooLargeError extends UserError {
  constructor(
    /** The list's size (name + value + 32 per field). */
    readonly size: number,
    /** The limit it exceeds. */
    readonly limit: number,
  ) {
    super(`header list of ${size} bytes exceeds the limit of ${limit}`);
    this.name = 'HeaderListTooLargeError';
  }
}

/** A PING sent with ping(timeoutMs) got no ACK in time. */
export class PingTimeoutError extends Http2Error {
  /** Stable machine-readable code. */
  readonly code = 'ERR_HTTP2_PING_TIMEOUT';
  constructor(
    /** The timeout that passed (ms). */
    readonly timeoutMs: number,
  ) {
    super(`PING not acknowledged within ${timeoutMs} ms`);
    this.name = 'PingTimeoutError';
  }
}

/**
 * Whether a stream reset means the peer never processed the request, so it is safe to send again
 * (on a new connection): the peer refused it (RST_STREAM REFUSED_STREAM, RFC 9113 §8.7) or its
 * GOAWAY's last stream id is below the stream's (§6.8), which a client connection reports the same way.
 */
export function isUnprocessedReset(errorCode: number, initiator: Initiator): boolean {
  return errorCode === ErrorCode.REFUSED_STREAM && initiator === 'remote';
}

export function assertNever(value: never, what = 'value'): never {
  throw new Error(`unexpected ${what}: ${JSON.stringify(value)}`);
}
