export { Server, ServerCredentials } from './server/server';
export type { FallbackStreamHandler, ServerOptions, ServerStats } from './server/server';
export type { ConnectionInjector, ServerChannelzRef } from './server/server';
export type { KeyCertPair, SecureContextWatcher, ServerCredentialsLike } from './server/server-credentials';
export { ServerUnaryCall, ServerReadableStream, ServerWritableStream, ServerDuplexStream } from './server/call-objects';
export type { UnaryCallback } from './server/method-handlers';
// grpc-js's server interceptors and handler types.
export { ServerInterceptingCall, ServerListenerBuilder, ResponderBuilder } from './server/interceptors';
export type {
  ServerInterceptor,
  ServerInterceptingCallInterface,
  InterceptingServerListener,
  ServerListener,
  FullServerListener,
  Responder,
  FullResponder,
  PartialStatusObject,
  ServerMetadataListener,
  ServerMessageListener,
  ServerHalfCloseListener,
  ServerCancelListener,
  StartResponder,
  MetadataResponder,
  MessageResponder,
  StatusResponder,
} from './server/interceptors';
export type { AuthContext, ConnectionInfo, Deadline, ServerMethodDefinition } from './server/call-types';
export { PerRequestMetricRecorder } from './server/metrics-recorder';
export type {
  sendUnaryData,
  handleUnaryCall,
  handleClientStreamingCall,
  handleServerStreamingCall,
  handleBidiStreamingCall,
  HandleCall,
  UntypedHandleCall,
  ServerErrorResponse,
  ServerStatusResponse,
} from './server/handler-types';
export type { ServiceDefinition, MethodDefinition, UntypedServiceImplementation } from './server/router';
export { Metadata } from './metadata';
export type { MetadataValue, MetadataOptions } from './metadata';
export { Status, GrpcError } from './status';
export type { StatusObject, ServiceError } from './status';
export { parseTimeout, formatTimeout } from './protocol/timeout';
export { encodeStatusMessage, decodeStatusMessage } from './protocol/status-message';
export { loadPackageDefinition } from './load';
export type { GrpcObject, LoadedService } from './load';
// grpc-js's logging, admin, compression and experimental exports; call counters.
export { CompressionAlgorithms as compressionAlgorithms } from './compression';
export { LogVerbosity as logVerbosity, setLogger, setLogVerbosity } from './logging';
export type { Logger } from './logging';
export { addAdminServicesToServer } from './admin';
export type { AdminServiceTarget, GetServiceDefinition, GetHandlers } from './admin';
export * as experimental from './experimental';
export type { CallCounters, CallStatsSnapshot } from './server/method-stats';
// ---- client ----
export { Client, makeGenericClientConstructor, makeClientConstructor } from './client/client';
export type { CallOptions, ClientOptions, ServiceClientConstructor, ClientMethodDefinition, ClientServiceDefinition } from './client/client';
export { Channel } from './client/channel';
export type { ChannelOptions, Dialer } from './client/channel-options';
export { inMemoryDialer } from './in-memory';
export { ConnectivityState, ConnectivityState as connectivityState } from './client/connectivity-state';
export { ChannelCredentials, CallCredentials, credentials } from './client/credentials';
export type { VerifyOptions, CallMetadataGenerator, CallMetadataOptions, OAuth2Client } from './client/credentials';
export { ClientUnaryCall, ClientReadableStream, ClientWritableStream, ClientDuplexStream } from './client/call-objects';
export type { RequestCallback, ServiceError as ClientServiceError } from './client/call-objects';
// client interceptors (grpc-js's API)
export { InterceptingCall, InterceptorConfigurationError, ListenerBuilder, RequesterBuilder } from './client/interceptors';
export type {
  Interceptor,
  InterceptorProvider,
  InterceptorOptions,
  InterceptingCallInterface,
  InterceptingListener,
  NextCall,
  Listener,
  FullListener,
  MetadataListener,
  MessageListener,
  StatusListener,
  Requester,
  FullRequester,
  MetadataRequester,
  MessageRequester,
  CloseRequester,
  CancelRequester,
  MessageContext,
} from './client/interceptors';
export type { CallMethodDefinition } from './client/call-options';
// the async client API
export { createAsyncClient, AbortError } from './client/async-client';
export type {
  AsyncClient,
  AsyncClientBase,
  AsyncCallOptions,
  AsyncMethod,
  AsyncServiceDefinition,
  TypedMethodDefinition,
  RequestStream,
} from './client/async-client';
