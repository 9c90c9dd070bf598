import type { Transport } from '@connectrpc/connect';
import { type CommonTransportOptions, validateReadWriteMaxBytes } from '@connectrpc/connect/protocol';
import { createTransport as createConnectProtocolTransport } from '@connectrpc/connect/protocol-connect';
import { createTransport as createGrpcProtocolTransport } from '@connectrpc/connect/protocol-grpc';
import { createTransport as createGrpcWebProtocolTransport } from '@connectrpc/connect/protocol-grpc-web';
import { Channel } from '../grpc/client/channel';
import type { ChannelOptions } from '../grpc/client/channel-options';
import { ChannelCredentials } from '../grpc/client/credentials';
import { compressionBrotli, compressionGzip } from './compression';
import { createHttpClient } from './http-client';

/**
 * Options of the transports on h2grpc's client: Connect's own (all optional, with connect-node's
 * defaults) plus where the requests go, a channel or a base URL.
 */
export interface H2grpcTransportOptions extends Partial<Omit<CommonTransportOptions, 'httpClient' | 'baseUrl'>> {
  /**
   * "http://host:port" (h2c) or "https://host:port" (TLS), with an optional path prefix: requests
   * go to `<baseUrl>/<package>.<Service>/<Method>`. Default: the channel's scheme and authority.
   */
  baseUrl?: string;
  /**
   * The channel the requests go over (shared with gRPC clients if you like); it must use TLS
   * exactly when baseUrl is https. Default: a new channel to baseUrl's host and port.
   */
  channel?: Channel;
  /** For the channel the transport creates: default insecure for http:, TLS with the default roots for https:. */
  credentials?: ChannelCredentials;
  /** For the channel the transport creates (keepalive, backoff, `transport` limits, `h2grpc.dialer`...). */
  channelOptions?: ChannelOptions;
  /** Requests wait while the channel reconnects instead of failing Unavailable. Default false. */
  waitForReady?: boolean;
}

/** A Connect transport on h2grpc's client, with the channel it uses. */
export interface H2grpcTransport extends Transport {
  /**
   * The channel the requests go over. A channel the transport created keeps its connection open
   * until it is idle for `grpc.client_idle_timeout_ms`: `transport.channel.close()` when done.
   */
  readonly channel: Channel;
}

/** A Connect transport for the gRPC protocol on h2grpc's HTTP/2 client (no node:http2). */
export function createGrpcTransport(options: H2grpcTransportOptions): H2grpcTransport {
  return build(options, createGrpcProtocolTransport);
}

/** A Connect transport for the Connect protocol on h2grpc's HTTP/2 client (`useHttpGet` works too). */
export function createConnectTransport(options: H2grpcTransportOptions): H2grpcTransport {
  return build(options, createConnectProtocolTransport);
}

/** A Connect transport for the gRPC-Web protocol on h2grpc's HTTP/2 client. */
export function createGrpcWebTransport(options: H2grpcTransportOptions): H2grpcTransport {
  return build(options, createGrpcWebProtocolTransport);
}

function build(options: H2grpcTransportOptions, create: (options: CommonTransportOptions) => Transport): H2grpcTransport {
  if (typeof options !== 'object' || options === null) throw new TypeError('transport options are required ({ baseUrl } or { channel })');
  const { channel: given, credentials, channelOptions, waitForReady, baseUrl: url, ...connectOptions } = options;
  if (given === undefined && url === undefined) throw new TypeError('a transport needs a baseUrl or a channel');
  if (given !== undefined && !(given instanceof Channel)) throw new TypeError('the channel option must be an h2grpc Channel');
  if (given !== undefined && (credentials !== undefined || channelOptions !== undefined))
    throw new Error('credentials and channelOptions are for the channel the transport creates: configure the given channel instead');
  const baseUrl = url ?? `${given!.scheme}://${given!.authority}`;
  const parsed = parseBaseUrl(baseUrl);
  const secure = parsed.protocol === 'https:';
  const channel =
    given ?? new Channel(target(parsed), credentials ?? (secure ? ChannelCredentials.createSsl() : ChannelCredentials.createInsecure()), channelOptions);
  if ((channel.scheme === 'https') !== secure) {
    if (given === undefined) channel.close();
    throw new Error(`baseUrl ${baseUrl} is ${parsed.protocol.slice(0, -1)} but the channel's credentials are ${secure ? 'insecure' : 'TLS'}`);
  }
  const transport = create({
    ...connectOptions,
    httpClient: createHttpClient(channel, { waitForReady }),
    baseUrl,
    useBinaryFormat: connectOptions.useBinaryFormat ?? true,
    interceptors: connectOptions.interceptors ?? [],
    sendCompression: connectOptions.sendCompression ?? null,
    acceptCompression: connectOptions.acceptCompression ?? [compressionGzip, compressionBrotli],
    ...validateReadWriteMaxBytes(connectOptions.readMaxBytes, connectOptions.writeMaxBytes, connectOptions.compressMinBytes),
  });
  return Object.assign(transport, { channel });
}

function parseBaseUrl(baseUrl: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(baseUrl);
  } catch {
    throw new TypeError(`baseUrl "${baseUrl}" is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new TypeError(`baseUrl "${baseUrl}" must be http: or https:`);
  return parsed;
}

/** The channel target for a URL: its host and port (the scheme's default port when it names none). */
function target(url: URL): string {
  return `${url.hostname}:${url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : url.port}`;
}
