/** grpc-js's handler types, so handlers typed for grpc-js type-check against ours unchanged. */
import type { Metadata } from '../metadata';
import type { StatusObject } from '../status';
import type { ServerDuplexStream, ServerReadableStream, ServerUnaryCall, ServerWritableStream } from './call-objects';

/** A status a handler reports: any of its fields. */
export type ServerStatusResponse = Partial<StatusObject>;

/** An Error that carries (part of) a status. */
export type ServerErrorResponse = ServerStatusResponse & Error;

/** The unary and client-streaming answer: callback(error) or callback(null, response, trailer?). */
export type sendUnaryData<ResponseType> = (
  error: ServerErrorResponse | ServerStatusResponse | null,
  value?: ResponseType | null,
  trailer?: Metadata,
  flags?: number,
) => void;

/** A unary handler. */
export type handleUnaryCall<RequestType, ResponseType> = (call: ServerUnaryCall<RequestType, ResponseType>, callback: sendUnaryData<ResponseType>) => void;

/** A client-streaming handler. */
export type handleClientStreamingCall<RequestType, ResponseType> = (
  call: ServerReadableStream<RequestType, ResponseType>,
  callback: sendUnaryData<ResponseType>,
) => void;

/** A server-streaming handler. */
export type handleServerStreamingCall<RequestType, ResponseType> = (call: ServerWritableStream<RequestType, ResponseType>) => void;

/** A bidi-streaming handler. */
export type handleBidiStreamingCall<RequestType, ResponseType> = (call: ServerDuplexStream<RequestType, ResponseType>) => void;

/** Any of the four handler kinds. */
export type HandleCall<RequestType, ResponseType> =
  | handleUnaryCall<RequestType, ResponseType>
  | handleClientStreamingCall<RequestType, ResponseType>
  | handleServerStreamingCall<RequestType, ResponseType>
  | handleBidiStreamingCall<RequestType, ResponseType>;

/** A handler of any kind and message types. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type UntypedHandleCall = HandleCall<any, any>;
