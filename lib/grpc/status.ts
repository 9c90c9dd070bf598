import { Metadata } from './metadata';

/** gRPC status codes (doc/statuscodes.md). Same numbering as @grpc/grpc-js's `status`. */
export enum Status {
  OK = 0,
  CANCELLED = 1,
  UNKNOWN = 2,
  INVALID_ARGUMENT = 3,
  DEADLINE_EXCEEDED = 4,
  NOT_FOUND = 5,
  ALREADY_EXISTS = 6,
  PERMISSION_DENIED = 7,
  RESOURCE_EXHAUSTED = 8,
  FAILED_PRECONDITION = 9,
  ABORTED = 10,
  OUT_OF_RANGE = 11,
  UNIMPLEMENTED = 12,
  INTERNAL = 13,
  UNAVAILABLE = 14,
  DATA_LOSS = 15,
  UNAUTHENTICATED = 16,
}

/** The shape grpc-js uses for call errors and statuses: `{ code, details, metadata }`. */
export interface StatusObject {
  code: Status;
  details: string;
  metadata: Metadata;
}

/** A partial status a handler may pass as an error (grpc-js's ServerErrorResponse / Partial<StatusObject>). */
export interface ServiceError extends Partial<StatusObject> {
  message?: string;
}

/** An error carrying a gRPC status; what the async handler style throws and clients receive. */
export class GrpcError extends Error implements StatusObject {
  readonly code: Status;
  readonly details: string;
  readonly metadata: Metadata;

  constructor(code: Status, details: string, metadata?: Metadata) {
    super(`${code} ${Status[code] ?? 'UNKNOWN'}: ${details}`);
    this.name = 'GrpcError';
    this.code = code;
    this.details = details;
    this.metadata = metadata ?? new Metadata();
  }
}

/** Whether a number is a defined status code (anything else becomes UNKNOWN, per statuscodes.md). */
export function isStatusCode(value: unknown): value is Status {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 16;
}
