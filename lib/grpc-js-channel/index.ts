/**
 * h2grpc/grpc-js-channel: runs @grpc/grpc-js clients (and clients built on them, such as nice-grpc's)
 * on h2grpc's client transport. `new GrpcJsChannel(target, credentials)` implements grpc-js's
 * public Channel interface (gRFC L32): pass it as the `channelOverride` client option, or
 * `grpcJsChannelFactory()` as `channelFactoryOverride`. Loading this module does not load grpc-js.
 */
export { GrpcJsChannel, grpcJsChannelFactory, createChannel } from './channel';
