/**
 * h2grpc/connect: Connect-ES (`@connectrpc/connect` 2.x) on h2grpc's HTTP/2 transport. A
 * `ConnectRouter` served on our server connections, alone or beside gRPC services on one `Server`,
 * for connect's gRPC, gRPC-Web and Connect protocols; and Connect client transports (the same three
 * protocols) on h2grpc's client channel. Loading this entry point loads
 * `@connectrpc/connect` (an optional peer dependency); the main entry point never does.
 */
export { addConnectRouter, connectH2grpcAdapter } from './adapter';
export type { ConnectH2grpcAdapter, ConnectH2grpcAdapterOptions } from './adapter';
export { compressionBrotli, compressionGzip } from './compression';
export { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from './transports';
export type { H2grpcTransport, H2grpcTransportOptions } from './transports';
export { createHttpClient } from './http-client';
export type { HttpClientOptions } from './http-client';
