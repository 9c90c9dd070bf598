/**
 * h2grpc: a gRPC server for Node.js on its own HTTP/2 transport.
 * The HTTP/2 transport API (streams, headers, data, trailers) is at 'h2grpc/transport'.
 */
export * from './grpc';
/** grpc-js spells the status enum `status`; both names work. */
export { Status as status } from './grpc';
