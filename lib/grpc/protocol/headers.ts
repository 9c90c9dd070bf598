import { prepareHeaders } from '../../transport';

/** Header names and values of gRPC over HTTP/2 (PROTOCOL-HTTP2.md). */
export const CONTENT_TYPE = 'application/grpc';
export const GRPC_STATUS = 'grpc-status';
export const GRPC_MESSAGE = 'grpc-message';
export const GRPC_TIMEOUT = 'grpc-timeout';
export const GRPC_ENCODING = 'grpc-encoding';
export const GRPC_ACCEPT_ENCODING = 'grpc-accept-encoding';

/** content-type is "application/grpc" optionally followed by "+subtype" or ";params". */
export function isGrpcContentType(value: string | undefined): boolean {
  if (value === undefined || !value.startsWith(CONTENT_TYPE)) return false;
  if (value.length === CONTENT_TYPE.length) return true;
  const next = value.charCodeAt(CONTENT_TYPE.length);
  return next === 43 /* + */ || next === 59; /* ; */
}

/**
 * Header lists that never change: each connection's encoder inserts their fields into the peer's
 * HPACK table once and then sends one byte per field.
 */
export const RESPONSE_HEADERS = prepareHeaders([':status', '200', 'content-type', CONTENT_TYPE, GRPC_ACCEPT_ENCODING, 'identity,deflate,gzip']);
/** OK carries grpc-message "OK", as grpc-js sends it (one more byte per response once indexed). */
export const OK_TRAILERS = prepareHeaders([GRPC_STATUS, '0', GRPC_MESSAGE, 'OK']);
/** Trailers-only OK (a response with no messages, e.g. an empty server stream with no metadata sent). */
export const OK_TRAILERS_ONLY = prepareHeaders([':status', '200', 'content-type', CONTENT_TYPE, GRPC_STATUS, '0', GRPC_MESSAGE, 'OK']);

/** Finds the first value of `name` in a flat header list. */
export function headerValue(headers: readonly string[], name: string): string | undefined {
  for (let index = 0; index < headers.length; index += 2) if (headers[index] === name) return headers[index + 1];
  return undefined;
}
