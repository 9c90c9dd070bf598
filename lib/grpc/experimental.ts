/**
 * grpc-js's `experimental` namespace, as far as it applies to h2grpc: logging and tracing, admin
 * services, durations and StatusOr. Its client machinery (resolvers, load balancers, pickers,
 * subchannels, filters, certificate providers) is not implemented: those names throw when used.
 */
import { isTracerEnabled, log as writeLog, LogVerbosity } from './logging';
import type { StatusObject } from './status';

export { registerAdminService } from './admin';

/** Logs the text when the tracer `tracer` is on (GRPC_TRACE) and `severity` passes the verbosity. */
export function trace(severity: LogVerbosity, tracer: string, text: string): void {
  if (isTracerEnabled(tracer)) writeLog(severity, `${new Date().toISOString()} | h2grpc ${process.pid} | ${tracer} | ${text}`);
}

/** Logs at `severity` (the arguments joined by spaces). */
export function log(severity: LogVerbosity, ...args: unknown[]): void {
  if (severity >= LogVerbosity.DEBUG) writeLog(severity, args.map(String).join(' '));
}

/** A protobuf Duration. */
export interface Duration {
  seconds: number;
  nanos: number;
}

/** Milliseconds of a Duration (truncated). */
export function durationToMs(duration: Duration): number {
  return (duration.seconds * 1000 + duration.nanos / 1_000_000) | 0;
}

/** Parses a JSON Duration ("1.5s"); null if it is not one. */
export function parseDuration(value: string): Duration | null {
  const match = /^(\d+)(?:\.(\d+))?s$/.exec(value);
  if (match === null) return null;
  return { seconds: Number.parseInt(match[1], 10), nanos: match[2] ? Number.parseInt(match[2].padEnd(9, '0'), 10) : 0 };
}

/** A value or the status that prevented it (grpc-js's StatusOr). */
export type StatusOr<T> = { ok: true; value: T } | { ok: false; error: StatusObject };

export function statusOrFromValue<T>(value: T): StatusOr<T> {
  return { ok: true, value };
}

export function statusOrFromError<T>(error: StatusObject): StatusOr<T> {
  return { ok: false, error };
}

/** A grpc-js experimental API h2grpc does not have: calling it (or `new`) throws saying so. */
export type NotImplemented = (...args: never[]) => never;

function notImplemented(name: string): NotImplemented {
  return function unavailable(): never {
    throw new Error(`h2grpc does not implement experimental.${name} (grpc-js client and channel machinery); use @grpc/grpc-js for it`);
  };
}

export const registerResolver = notImplemented('registerResolver');
export const createResolver = notImplemented('createResolver');
export const uriToString = notImplemented('uriToString');
export const splitHostPort = notImplemented('splitHostPort');
export const BackoffTimeout = notImplemented('BackoffTimeout');
export const createChildChannelControlHelper = notImplemented('createChildChannelControlHelper');
export const registerLoadBalancerType = notImplemented('registerLoadBalancerType');
export const selectLbConfigFromList = notImplemented('selectLbConfigFromList');
export const parseLoadBalancingConfig = notImplemented('parseLoadBalancingConfig');
export const isLoadBalancerNameRegistered = notImplemented('isLoadBalancerNameRegistered');
export const LeafLoadBalancer = notImplemented('LeafLoadBalancer');
export const subchannelAddressToString = notImplemented('subchannelAddressToString');
export const endpointToString = notImplemented('endpointToString');
export const endpointHasAddress = notImplemented('endpointHasAddress');
export const EndpointMap = notImplemented('EndpointMap');
export const ChildLoadBalancerHandler = notImplemented('ChildLoadBalancerHandler');
export const UnavailablePicker = notImplemented('UnavailablePicker');
export const QueuePicker = notImplemented('QueuePicker');
export const BaseFilter = notImplemented('BaseFilter');
export const FilterStackFactory = notImplemented('FilterStackFactory');
export const BaseSubchannelWrapper = notImplemented('BaseSubchannelWrapper');
export const createServerCredentialsWithInterceptors = notImplemented('createServerCredentialsWithInterceptors');
export const createCertificateProviderServerCredentials = notImplemented('createCertificateProviderServerCredentials');
export const FileWatcherCertificateProvider = notImplemented('FileWatcherCertificateProvider');
export const createCertificateProviderChannelCredentials = notImplemented('createCertificateProviderChannelCredentials');
