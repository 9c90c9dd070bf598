/**
 * The gRPC side of raw-peer specs: the head and body of a valid Echo call, built by hand so the
 * bytes on the wire are exactly what a spec asks for. (The HTTP/2 peer itself is raw-peer.ts.)
 */
import type { HeaderList } from '../../lib/transport/hpack/header-block';

export const ECHO_UNARY_PATH = '/grpc.examples.echo.Echo/UnaryEcho';

/** The request headers of a valid gRPC call to `path`, plus `extra` regular fields. */
export function grpcRequestHeaders(path = ECHO_UNARY_PATH, extra: HeaderList = []): HeaderList {
  return [':method', 'POST', ':scheme', 'http', ':path', path, ':authority', '127.0.0.1', 'content-type', 'application/grpc', 'te', 'trailers', ...extra];
}

/** A gRPC length-prefixed message holding an EchoRequest { message: text } (protobuf field 1, string). */
export function echoMessage(text: string): Buffer {
  const value = Buffer.from(text, 'utf8');
  if (value.length > 127) throw new Error('echoMessage: keep test messages under 128 bytes');
  const proto = Buffer.concat([Buffer.from([0x0a, value.length]), value]);
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(proto.length, 1);
  return Buffer.concat([prefix, proto]);
}
