/**
 * Server options are grpc-js's names: those we implement, those that mean nothing on a server (grpc-js
 * shares one options type between clients and servers) and anything else, which throws at
 * construction instead of being ignored (a misspelled key included).
 */
const IMPLEMENTED = new Set([
  'grpc.max_receive_message_length',
  'grpc.max_send_message_length',
  'grpc.default_compression_algorithm',
  'h2grpc.max_response_backlog_bytes',
  'grpc.max_concurrent_streams',
  'grpc.max_connection_idle_ms',
  'grpc.max_connection_age_ms',
  'grpc.max_connection_age_grace_ms',
  'grpc.keepalive_time_ms',
  'grpc.keepalive_timeout_ms',
  'grpc.keepalive_permit_without_calls',
  'grpc.http2.min_ping_interval_without_data_ms',
  'grpc.http2.max_ping_strikes',
  'h2grpc.handshake_timeout_ms',
  'h2grpc.min_request_data_rate',
  'h2grpc.drain_deadline_ms',
  'h2grpc.write_stall_timeout_ms',
  'h2grpc.max_connections',
  'h2grpc.admit_connection',
  'transport',
  'interceptors',
]);

/**
 * Client-side channel options (grpc-js lets them be passed to a Server, where they do nothing) and
 * knobs of grpc-js's own node:http2 internals that have no counterpart here: accepted, no effect.
 */
const NO_EFFECT_ON_A_SERVER = new Set([
  'grpc.ssl_target_name_override',
  'grpc.primary_user_agent',
  'grpc.secondary_user_agent',
  'grpc.default_authority',
  'grpc.service_config',
  'grpc.service_config_disable_resolution',
  'grpc.initial_reconnect_backoff_ms',
  'grpc.max_reconnect_backoff_ms',
  'grpc.use_local_subchannel_pool',
  'grpc.enable_http_proxy',
  'grpc.http_connect_target',
  'grpc.http_connect_creds',
  'grpc.dns_min_time_between_resolutions_ms',
  'grpc.enable_retries',
  'grpc.per_rpc_retry_buffer_size',
  'grpc.retry_buffer_size',
  'grpc.client_idle_timeout_ms',
  'grpc.lb.ring_hash.ring_size_cap',
  'grpc-node.retry_max_attempts_limit',
  // node:http2's session memory cap: our per-connection bounds are DEFAULT_CONNECTION_LIMITS.
  'grpc-node.max_session_memory',
]);

/** Throws for an option this server would otherwise ignore. */
export function checkServerOptions(options: { [key: string]: unknown }): void {
  for (const key of Object.keys(options)) {
    if (options[key] === undefined || IMPLEMENTED.has(key) || NO_EFFECT_ON_A_SERVER.has(key)) continue;
    // grpc-js users turn channelz off with 0; asking for it cannot be honoured.
    if (key === 'grpc.enable_channelz') {
      if (options[key] === 0) continue;
      throw new Error('server option "grpc.enable_channelz": channelz is not implemented (pass 0)');
    }
    throw new Error(`server option "${key}" is not supported by h2grpc's server`);
  }
}
