/**
 * h2grpc/connect: Connect-ES (`@connectrpc/connect` 2.x) on h2grpc's HTTP/2 transport. A
 * `ConnectRouter` served on our server connections, alone or beside gRPC services on one `Server`,
 * for connect's gRPC, gRPC-Web and Connect protocols. Loading this entry point loads
 * `@connectrpc/connect` (an optional peer dependency); the main entry point never does.
 */
export { addConnectRouter, connectH2grpcAdapter } from './adapter';
export type { ConnectH2grpcAdapter, ConnectH2grpcAdapterOptions } from './adapter';
export { compressionBrotli, compressionGzip } from './compression';
