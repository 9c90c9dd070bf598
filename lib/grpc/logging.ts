/**
 * Logging and tracing, with grpc-js's API (setLogger, setLogVerbosity, logVerbosity) and its
 * environment variables' style: GRPC_NODE_VERBOSITY / GRPC_VERBOSITY (DEBUG, INFO, ERROR, NONE;
 * default ERROR) and GRPC_NODE_TRACE / GRPC_TRACE (comma-separated tracer names, "all", "-name" to
 * leave one out). Our tracers: `h2grpc_connection` (open, close, GOAWAY, connection errors),
 * `h2grpc_call` (start, end with status, stream resets). grpc-js in the same process reads the same
 * variables for its own tracers.
 *
 * Off by default and free when off: callers test a flag of `tracing` before building any text.
 */

/** Log levels, numbered as grpc-js's LogVerbosity. */
export enum LogVerbosity {
  DEBUG = 0,
  INFO = 1,
  ERROR = 2,
  NONE = 3,
}

/** Where log lines go: console, or any object with some of its error, info and debug methods. */
export interface Logger {
  error?(message?: unknown, ...optionalParams: unknown[]): void;
  info?(message?: unknown, ...optionalParams: unknown[]): void;
  debug?(message?: unknown, ...optionalParams: unknown[]): void;
}

const DEFAULT_LOGGER: Logger = {
  error: (message?: unknown, ...rest: unknown[]) => console.error(`E ${String(message)}`, ...rest),
  info: (message?: unknown, ...rest: unknown[]) => console.error(`I ${String(message)}`, ...rest),
  debug: (message?: unknown, ...rest: unknown[]) => console.error(`D ${String(message)}`, ...rest),
};

let logger: Logger = DEFAULT_LOGGER;
let verbosity = parseVerbosity(process.env.GRPC_NODE_VERBOSITY ?? process.env.GRPC_VERBOSITY) ?? LogVerbosity.ERROR;

function parseVerbosity(text: string | undefined): LogVerbosity | undefined {
  switch (text?.toUpperCase()) {
    case 'DEBUG':
      return LogVerbosity.DEBUG;
    case 'INFO':
      return LogVerbosity.INFO;
    case 'ERROR':
      return LogVerbosity.ERROR;
    case 'NONE':
      return LogVerbosity.NONE;
    default:
      return undefined;
  }
}

/**
 * Replaces the logger (default: console.error with an "E ", "I " or "D " prefix). As in grpc-js, a
 * level the logger has no method for goes to its error(); without error() that line is dropped.
 */
export function setLogger(newLogger: Logger): void {
  if (typeof newLogger !== 'object' || newLogger === null) throw new TypeError('setLogger() takes an object such as console');
  logger = newLogger;
}

/** The current logger. */
export function getLogger(): Logger {
  return logger;
}

/** Sets the lowest level that is logged (tracing logs at DEBUG, so it needs DEBUG to show). */
export function setLogVerbosity(level: LogVerbosity): void {
  if (parseVerbosity(LogVerbosity[level]) === undefined) throw new RangeError(`Unknown log verbosity ${String(level)}`);
  verbosity = level;
}

/** Logs `message` at `severity` if the verbosity lets it through. */
export function log(severity: LogVerbosity, message: string): void {
  if (severity < verbosity || severity >= LogVerbosity.NONE) return;
  const method = severity === LogVerbosity.DEBUG ? logger.debug : severity === LogVerbosity.INFO ? logger.info : logger.error;
  (method ?? logger.error)?.call(logger, message);
}

/** Our tracer names. */
export type TracerName = 'h2grpc_connection' | 'h2grpc_call';

/** Which tracers are on: read these flags before building any trace text. */
export const tracing = {
  /** `h2grpc_connection`: connections opened and closed, GOAWAY, connection errors. */
  connection: false,
  /** `h2grpc_call`: calls started and ended (status), stream resets. */
  call: false,
};

let enabledTracers = new Set<string>();
let disabledTracers = new Set<string>();

/**
 * Turns tracers on or off from a GRPC_TRACE-style list ("h2grpc_call,h2grpc_connection", "all",
 * "all,-h2grpc_call"; "" turns every tracer off). Read from GRPC_NODE_TRACE / GRPC_TRACE at load.
 */
export function setTracers(list: string): void {
  enabledTracers = new Set();
  disabledTracers = new Set();
  for (const name of list.split(',')) {
    const trimmed = name.trim();
    if (trimmed.startsWith('-')) disabledTracers.add(trimmed.slice(1));
    else if (trimmed !== '') enabledTracers.add(trimmed);
  }
  tracing.connection = isTracerEnabled('h2grpc_connection');
  tracing.call = isTracerEnabled('h2grpc_call');
}

/** Whether the tracer `name` is on (any name, as grpc-js's experimental.trace takes any). */
export function isTracerEnabled(name: string): boolean {
  return !disabledTracers.has(name) && (enabledTracers.has('all') || enabledTracers.has(name));
}
setTracers(process.env.GRPC_NODE_TRACE ?? process.env.GRPC_TRACE ?? '');

/** Writes one trace line (at DEBUG) for `tracer`; callers check `tracing` first. */
export function trace(tracer: TracerName, text: string, severity = LogVerbosity.DEBUG): void {
  log(severity, `${new Date().toISOString()} | h2grpc ${process.pid} | ${tracer} | ${text}`);
}
