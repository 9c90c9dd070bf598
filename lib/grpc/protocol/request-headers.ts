/**
 * The gRPC request head (PROTOCOL-HTTP2.md "Requests"), pure: which of a request's headers the
 * server acts on, and what each means for the call. No I/O, no clock of its own.
 */
import type { HeaderList } from '../../transport';
import { ACCEPT_ENCODING_VALUE, type Encoding, isSupportedEncoding } from '../compression';
import { Status } from '../status';
import { GRPC_ACCEPT_ENCODING, GRPC_ENCODING, GRPC_TIMEOUT, isGrpcContentType } from './headers';
import { parseTimeout } from './timeout';

/** The request fields the server acts on, found in one pass over the header list. */
export interface GrpcRequestFields {
  contentType: string | undefined;
  timeout: string | undefined;
  encoding: string | undefined;
  acceptEncoding: string | undefined;
}

/** A request answered before any handler runs: the HTTP status, gRPC status, message and extra headers. */
export interface EarlyAnswer {
  httpStatus: number;
  code: Status;
  message: string;
  extra: HeaderList;
}

/** What the request head says about the call once it is accepted. */
export interface GrpcCallOptions {
  /** Absolute deadline (Date.now() based), or Infinity. */
  deadline: number;
  requestEncoding: Encoding;
  /** The client's grpc-accept-encoding, if it sent one. */
  acceptEncoding: string | undefined;
}

export function scanGrpcRequest(headers: HeaderList): GrpcRequestFields {
  const fields: GrpcRequestFields = { contentType: undefined, timeout: undefined, encoding: undefined, acceptEncoding: undefined };
  for (let index = 0; index < headers.length; index += 2) {
    switch (headers[index]) {
      case 'content-type':
        fields.contentType ??= headers[index + 1];
        break;
      case GRPC_TIMEOUT:
        fields.timeout ??= headers[index + 1];
        break;
      case GRPC_ENCODING:
        fields.encoding ??= headers[index + 1];
        break;
      case GRPC_ACCEPT_ENCODING:
        fields.acceptEncoding ??= headers[index + 1];
        break;
      default:
        break;
    }
  }
  return fields;
}

/** HTTP-level checks, before routing: gRPC is POST (else 405) with content-type application/grpc (else 415). */
export function checkHttpRequest(method: string, fields: GrpcRequestFields): EarlyAnswer | null {
  if (method !== 'POST') return { httpStatus: 405, code: Status.INTERNAL, message: `Method ${method} not allowed; gRPC requires POST`, extra: [] };
  if (!isGrpcContentType(fields.contentType))
    return { httpStatus: 415, code: Status.UNKNOWN, message: 'Unsupported content-type; expected application/grpc', extra: [] };
  return null;
}

/**
 * The call's deadline and encodings, or the answer for a malformed grpc-timeout or an encoding we
 * lack. `now` is read only for a request with a grpc-timeout.
 */
export function parseCallOptions(fields: GrpcRequestFields, now: () => number): GrpcCallOptions | EarlyAnswer {
  let deadline = Infinity;
  if (fields.timeout !== undefined) {
    const milliseconds = parseTimeout(fields.timeout);
    // grpc-go answers a malformed grpc-timeout with INTERNAL.
    if (milliseconds === null) return { httpStatus: 200, code: Status.INTERNAL, message: `Malformed grpc-timeout: ${fields.timeout}`, extra: [] };
    deadline = now() + milliseconds;
  }
  const requestEncoding = fields.encoding ?? 'identity';
  if (!isSupportedEncoding(requestEncoding)) {
    // An encoding we cannot decode: UNIMPLEMENTED, listing the ones we can (PROTOCOL-HTTP2.md).
    return {
      httpStatus: 200,
      code: Status.UNIMPLEMENTED,
      message: `Unsupported grpc-encoding ${requestEncoding}`,
      extra: [GRPC_ACCEPT_ENCODING, ACCEPT_ENCODING_VALUE],
    };
  }
  return { deadline, requestEncoding, acceptEncoding: fields.acceptEncoding };
}

export function isEarlyAnswer(value: GrpcCallOptions | EarlyAnswer): value is EarlyAnswer {
  return 'httpStatus' in value;
}
