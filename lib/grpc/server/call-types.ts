/** Plain types shared by the call objects and the interceptors (grpc-js's names and shapes). */
export type { AuthContext } from './auth-context';

/** A call's deadline: a Date, or Infinity when the client set none (grpc-js's Deadline). */
export type Deadline = Date | number;

/** The addresses of a call's connection (grpc-js's ConnectionInfo). */
export interface ConnectionInfo {
  localAddress?: string | undefined;
  localPort?: number | undefined;
  remoteAddress?: string | undefined;
  remotePort?: number | undefined;
}

/** What an interceptor learns of the method it intercepts (grpc-js's ServerMethodDefinition). */
export interface ServerMethodDefinition<RequestType, ResponseType> {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  responseSerialize: (value: ResponseType) => Buffer;
  requestDeserialize: (bytes: Buffer) => RequestType;
  originalName?: string;
}
