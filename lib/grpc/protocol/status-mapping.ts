import { ErrorCode } from '../../transport';
import { Status } from '../status';

/** HTTP status → gRPC status for responses without grpc-status (doc/http-grpc-status-mapping.md). */
export function statusFromHttpStatus(httpStatus: number): Status {
  switch (httpStatus) {
    case 400:
    case 431:
      return Status.INTERNAL;
    case 401:
      return Status.UNAUTHENTICATED;
    case 403:
      return Status.PERMISSION_DENIED;
    case 404:
      return Status.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return Status.UNAVAILABLE;
    default:
      return Status.UNKNOWN;
  }
}

/** RST_STREAM error code → gRPC status (PROTOCOL-HTTP2.md "Errors"). */
export function statusFromResetCode(errorCode: number): Status {
  switch (errorCode) {
    case ErrorCode.NO_ERROR:
    case ErrorCode.PROTOCOL_ERROR:
    case ErrorCode.INTERNAL_ERROR:
    case ErrorCode.FLOW_CONTROL_ERROR:
    case ErrorCode.SETTINGS_TIMEOUT:
    case ErrorCode.FRAME_SIZE_ERROR:
    case ErrorCode.COMPRESSION_ERROR:
    case ErrorCode.CONNECT_ERROR:
      return Status.INTERNAL;
    case ErrorCode.REFUSED_STREAM:
      return Status.UNAVAILABLE;
    case ErrorCode.CANCEL:
      return Status.CANCELLED;
    case ErrorCode.ENHANCE_YOUR_CALM:
      return Status.RESOURCE_EXHAUSTED;
    case ErrorCode.INADEQUATE_SECURITY:
      return Status.PERMISSION_DENIED;
    default:
      return Status.INTERNAL;
  }
}
