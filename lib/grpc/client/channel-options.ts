import type { Duplex } from 'node:stream';
import type { ConnectionOptions } from '../../transport';
import type { Encoding } from '../compression';

/**
 * Opens the byte stream a channel connection runs on, instead of a TCP or Unix socket (grpc-go's
 * WithContextDialer): `address` is the target's "host:port" (not resolved: a channel with a dialer
 * does no DNS lookup) or its Unix socket path. With TLS credentials the channel runs TLS over the
 * returned stream. A dialer that throws or rejects is a failed connection attempt (reconnect with
 * backoff, as any other).
 */
export type Dialer = (address: string) => Duplex | Promise<Duplex>;

/**
 * Channel options, named as @grpc/grpc-js names them. An option grpc-js knows that this client does
 * not implement throws when the channel is created, rather than being silently ignored.
 */
export interface ChannelOptions {
  /** Largest response message accepted, after decompression. Default 4 MiB; -1 for no limit. */
  'grpc.max_receive_message_length'?: number;
  /** Largest request message sent. Default: no limit (-1). */
  'grpc.max_send_message_length'?: number;
  /** Request compression: 0 identity, 1 deflate, 2 gzip. Default 0. */
  'grpc.default_compression_algorithm'?: number;
  /** PING the server after this long without reading anything (ms). Default: never. */
  'grpc.keepalive_time_ms'?: number;
  /** ...and close the connection (calls fail UNAVAILABLE) when its ACK does not come within this (ms). Default 20 s. */
  'grpc.keepalive_timeout_ms'?: number;
  /** 1: keepalive PINGs go out even while no call is open. Default 0. */
  'grpc.keepalive_permit_without_calls'?: number;
  /** First reconnect delay after a failed connection attempt (ms). Default 1000. */
  'grpc.initial_reconnect_backoff_ms'?: number;
  /** Longest reconnect delay (ms). Default 120 000. */
  'grpc.max_reconnect_backoff_ms'?: number;
  /** Shortest time a connection attempt is given (ms; gRPC connection-backoff MIN_CONNECT_TIMEOUT). Default 20 000. */
  'h2grpc.min_connect_timeout_ms'?: number;
  /** The channel goes IDLE (closing its connections) after this long without a call (ms). Default 30 min. */
  'grpc.client_idle_timeout_ms'?: number;
  /** JSON service config; only `loadBalancingConfig` ([{ pick_first: {} }] or [{ round_robin: {} }]) is implemented. */
  'grpc.service_config'?: string;
  /** 'pick_first' (default) or 'round_robin'. */
  'grpc.lb_policy_name'?: string;
  /** The :authority of every request (default: the target's host:port). */
  'grpc.default_authority'?: string;
  /** The name checked against the server's TLS certificate instead of the target's host. */
  'grpc.ssl_target_name_override'?: string;
  /** Prepended to the user-agent. */
  'grpc.primary_user_agent'?: string;
  /** Appended to the user-agent. */
  'grpc.secondary_user_agent'?: string;
  /** Retries are not implemented: 0 is accepted, anything else throws. */
  'grpc.enable_retries'?: number;
  /**
   * Connections go over the streams this function returns instead of sockets, and the target is
   * not resolved (any "host:port" works): `inMemoryDialer(server)` serves a Server in memory.
   */
  'h2grpc.dialer'?: Dialer;
  /** HTTP/2 transport options for this channel's connections (settings, windows, limits). */
  transport?: ConnectionOptions;
  [key: string]: unknown;
}

/** The channel's view of its options, with defaults applied. */
export interface ResolvedChannelOptions {
  maxReceiveMessageSize: number;
  maxSendMessageSize: number;
  compression: Encoding;
  keepaliveTimeMs: number;
  keepaliveTimeoutMs: number;
  keepalivePermitWithoutCalls: boolean;
  initialBackoffMs: number;
  maxBackoffMs: number;
  minConnectTimeoutMs: number;
  idleTimeoutMs: number;
  lbPolicy: 'pick_first' | 'round_robin';
  defaultAuthority: string | undefined;
  sslTargetNameOverride: string | undefined;
  userAgent: string;
  transport: ConnectionOptions;
  dialer: Dialer | null;
}

/** Options these names stand for are implemented; others a grpc-js user may pass are listed below. */
const IMPLEMENTED = new Set([
  'grpc.max_receive_message_length',
  'grpc.max_send_message_length',
  'grpc.default_compression_algorithm',
  'grpc.keepalive_time_ms',
  'grpc.keepalive_timeout_ms',
  'grpc.keepalive_permit_without_calls',
  'grpc.initial_reconnect_backoff_ms',
  'grpc.max_reconnect_backoff_ms',
  'h2grpc.min_connect_timeout_ms',
  'grpc.client_idle_timeout_ms',
  'grpc.service_config',
  'grpc.lb_policy_name',
  'grpc.default_authority',
  'grpc.ssl_target_name_override',
  'grpc.primary_user_agent',
  'grpc.secondary_user_agent',
  'grpc.enable_retries',
  'h2grpc.dialer',
  'transport',
]);

/** Tuning knobs of grpc-js's own internals that have no meaning here: accepted, nothing to do. */
const NO_EFFECT = new Set(['grpc.use_local_subchannel_pool', 'grpc-node.max_session_memory', 'grpc.enable_channelz', 'grpc.channelz_enabled']);

const COMPRESSION_BY_ID: readonly Encoding[] = ['identity', 'deflate', 'gzip'];

const VERSION = '0.1.0';

function positive(options: ChannelOptions, key: string, fallback: number): number {
  const value = options[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value)) throw new TypeError(`channel option ${key} must be a number`);
  return value;
}

function lbPolicy(options: ChannelOptions): 'pick_first' | 'round_robin' {
  let name: string | undefined = options['grpc.lb_policy_name'];
  const serviceConfig = options['grpc.service_config'];
  if (serviceConfig !== undefined) {
    const parsed = JSON.parse(serviceConfig) as { loadBalancingConfig?: { [policy: string]: unknown }[]; methodConfig?: unknown; [key: string]: unknown };
    for (const key of Object.keys(parsed)) {
      if (key !== 'loadBalancingConfig') throw new Error(`grpc.service_config: "${key}" is not supported yet (only loadBalancingConfig)`);
    }
    for (const entry of parsed.loadBalancingConfig ?? []) {
      const policy = Object.keys(entry)[0];
      if (policy === 'pick_first' || policy === 'round_robin') {
        name = policy;
        break;
      }
    }
  }
  if (name === undefined || name === 'pick_first' || name === 'round_robin') return name ?? 'pick_first';
  throw new Error(`load-balancing policy "${name}" is not supported (pick_first, round_robin)`);
}

/** Applies defaults and rejects options that are not implemented. */
export function resolveChannelOptions(options: ChannelOptions = {}): ResolvedChannelOptions {
  for (const key of Object.keys(options)) {
    if (options[key] === undefined || IMPLEMENTED.has(key) || NO_EFFECT.has(key)) continue;
    if (key === 'interceptors' || key === 'interceptor_providers') throw new Error(`"${key}" is a Client option, not a Channel option`);
    if (key === 'channelOverride' || key === 'channelFactoryOverride') throw new Error(`client option "${key}" is not supported yet`);
    if (key.startsWith('grpc.') || key.startsWith('grpc-node.') || key.startsWith('h2grpc.') || key === 'callInvocationTransformer') {
      throw new Error(`channel option "${key}" is not supported by h2grpc's client`);
    }
  }
  const dialer = options['h2grpc.dialer'];
  if (dialer !== undefined && typeof dialer !== 'function') throw new TypeError('channel option h2grpc.dialer must be a function (address) => Duplex');
  const retries = options['grpc.enable_retries'];
  if (retries !== undefined && retries !== 0) throw new Error('grpc.enable_retries: retries are not supported yet (pass 0)');
  const receive = positive(options, 'grpc.max_receive_message_length', 4 * 1024 * 1024);
  const send = positive(options, 'grpc.max_send_message_length', -1);
  const compressionId = positive(options, 'grpc.default_compression_algorithm', 0);
  const compression = COMPRESSION_BY_ID[compressionId];
  if (compression === undefined) throw new Error(`grpc.default_compression_algorithm ${compressionId} is not supported (0, 1, 2)`);
  const userAgent = [options['grpc.primary_user_agent'], `h2grpc-node/${VERSION}`, options['grpc.secondary_user_agent']].filter(Boolean).join(' ');
  return {
    maxReceiveMessageSize: receive < 0 ? Infinity : receive,
    maxSendMessageSize: send < 0 ? Infinity : send,
    compression,
    keepaliveTimeMs: positive(options, 'grpc.keepalive_time_ms', Infinity),
    keepaliveTimeoutMs: positive(options, 'grpc.keepalive_timeout_ms', 20_000),
    keepalivePermitWithoutCalls: positive(options, 'grpc.keepalive_permit_without_calls', 0) !== 0,
    initialBackoffMs: positive(options, 'grpc.initial_reconnect_backoff_ms', 1000),
    maxBackoffMs: positive(options, 'grpc.max_reconnect_backoff_ms', 120_000),
    minConnectTimeoutMs: positive(options, 'h2grpc.min_connect_timeout_ms', 20_000),
    idleTimeoutMs: positive(options, 'grpc.client_idle_timeout_ms', 30 * 60 * 1000),
    lbPolicy: lbPolicy(options),
    defaultAuthority: options['grpc.default_authority'],
    sslTargetNameOverride: options['grpc.ssl_target_name_override'],
    userAgent,
    transport: options.transport ?? {},
    dialer: dialer ?? null,
  };
}
