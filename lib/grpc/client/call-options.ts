import { type Encoding, isSupportedEncoding } from '../compression';
import type { Metadata } from '../metadata';
import type { ClientCallOptions } from './client-call';
import type { CallOptions } from './call-types';
import { CallCredentials } from './credentials';

export type { CallOptions, CallMethodDefinition } from './call-types';

/** grpc-js's default propagate_flags: deadline | census stats | census tracing | cancellation. */
const DEFAULT_PROPAGATE_FLAGS = 0xffff;
/** The metadata key grpc-js reads a per-call request compression from. */
const CALL_ENCODING_KEY = 'grpc-internal-encoding-request';

/** Rejects call options that are not implemented (never silently ignored). */
export function checkCallOptions(options: CallOptions): void {
  for (const key of Object.keys(options)) {
    if (options[key] === undefined) continue;
    switch (key) {
      case 'deadline':
      case 'parent':
      case 'interceptors':
      case 'interceptor_providers':
        break;
      case 'credentials':
        if (!(options.credentials instanceof CallCredentials))
          throw new TypeError('CallOptions.credentials must be CallCredentials (credentials.createFromMetadataGenerator)');
        break;
      case 'propagate_flags':
        if (options.propagate_flags !== DEFAULT_PROPAGATE_FLAGS) throw new Error('CallOptions.propagate_flags: only the default is supported yet');
        break;
      case 'host':
        throw new Error('CallOptions.host is not supported yet (use the grpc.default_authority channel option)');
      default:
        throw new Error(`CallOptions.${key} is not supported`);
    }
  }
}

function toDeadline(deadline: Date | number | undefined): number {
  if (deadline === undefined || deadline === null) return Infinity;
  const value = deadline instanceof Date ? deadline.getTime() : deadline;
  if (typeof value !== 'number' || Number.isNaN(value)) throw new TypeError('CallOptions.deadline must be a Date or a number');
  return value;
}

/**
 * What the call core starts from, given the call's metadata (null: none) and options and the
 * channel's own call credentials (null: none).
 */
export function callCoreOptions(metadata: Metadata | null, options: CallOptions, channelCredentials: CallCredentials | null): ClientCallOptions {
  let deadline = toDeadline(options.deadline);
  const parent = options.parent;
  if (parent != null && typeof parent.getDeadline === 'function') deadline = Math.min(deadline, toDeadline(parent.getDeadline()));
  let encoding: Encoding | null = null;
  if (metadata !== null && metadata.size > 0) {
    const requested = metadata.get(CALL_ENCODING_KEY);
    if (requested.length > 0) {
      const name = String(requested[0]);
      if (!isSupportedEncoding(name)) throw new Error(`unsupported request compression "${name}" (identity, deflate, gzip)`);
      encoding = name;
      metadata = metadata.clone();
      metadata.remove(CALL_ENCODING_KEY);
    }
  }
  const callCredentials = options.credentials;
  const credentials =
    callCredentials === undefined ? channelCredentials : channelCredentials === null ? callCredentials : callCredentials.compose(channelCredentials);
  return {
    deadline,
    metadata,
    waitForReady: metadata?.getOptions().waitForReady === true,
    encoding,
    credentials: credentials === null || credentials.isEmpty ? null : credentials,
  };
}
