import * as net from 'node:net';
import { ErrorCode, Http2Connection, type ConnectionOptions, type ConnectionStats, type HeaderList, type Http2Stream } from '../../transport';
import { type Encoding, negotiateEncoding } from '../compression';
import { CONTENT_TYPE, GRPC_MESSAGE, GRPC_STATUS } from '../protocol/headers';
import { checkHttpRequest, type EarlyAnswer, isEarlyAnswer, parseCallOptions, scanGrpcRequest } from '../protocol/request-headers';
import { encodeStatusMessage } from '../protocol/status-message';
import { tracing } from '../logging';
import { Status } from '../status';
import { traceConnection } from './connection-trace';
import type { ServerInterceptor } from './interceptors';
import { startCall } from './method-handlers';
import { type CallStatsSnapshot, snapshotCallStats } from './method-stats';
import { Router, type ServiceDefinition, type UntypedServiceImplementation } from './router';
import { type CallLimits, ServerCall } from './server-call';

export interface ServerOptions {
  /** Largest request message accepted, after decompression. Default 4 MiB (as grpc-js). */
  'grpc.max_receive_message_length'?: number;
  /** Largest response message sent. Default unlimited (-1). */
  'grpc.max_send_message_length'?: number;
  /** Response compression: 0 identity, 1 deflate, 2 gzip (grpc-js's compressionAlgorithms). */
  'grpc.default_compression_algorithm'?: number;
  /**
   * Response bytes a server-streaming or bidi call may have waiting to be sent (in its Writable
   * plus queued in the transport) while its handler keeps writing after write() returned false.
   * Past it the call ends with RESOURCE_EXHAUSTED ("Response backlog exceeded …") and the handler
   * sees it cancelled, so a client that stops reading cannot make one call buffer without bound.
   * A handler that waits for 'drain' never reaches it; a single message larger than the limit is
   * still sent when nothing waits before it. Default 4 MiB; -1 for no limit.
   */
  'h2grpc.max_response_backlog_bytes'?: number;
  /** Concurrent calls per connection (SETTINGS_MAX_CONCURRENT_STREAMS). Default 100. */
  'grpc.max_concurrent_streams'?: number;
  /** Graceful GOAWAY after a connection has had no call for this long (ms). Default: never. */
  'grpc.max_connection_idle_ms'?: number;
  /** Graceful GOAWAY once a connection is this old (ms, ±10 % jitter). Default: never. */
  'grpc.max_connection_age_ms'?: number;
  /** ...then close it this long after, whatever still runs (ms). Default: never. */
  'grpc.max_connection_age_grace_ms'?: number;
  /** PING a client after this long without hearing from it (ms). Default 2 h. */
  'grpc.keepalive_time_ms'?: number;
  /** ...and close the connection if the PING is not answered within this (ms). Default 20 s. */
  'grpc.keepalive_timeout_ms'?: number;
  /** 1: clients may ping while they have no call. Default 0. */
  'grpc.keepalive_permit_without_calls'?: number;
  /** Client pings closer together than this count as strikes (ms). Default 5 min. */
  'grpc.http2.min_ping_interval_without_data_ms'?: number;
  /** Strikes allowed before GOAWAY ENHANCE_YOUR_CALM "too_many_pings". Default 2. */
  'grpc.http2.max_ping_strikes'?: number;
  /** A new connection must send its preface and SETTINGS within this (ms). Default 20 s. */
  'h2grpc.handshake_timeout_ms'?: number;
  /**
   * Bytes per second a client must keep sending a unary or server-streaming request until it ends
   * it, after a 5 s grace period (Kestrel's MinRequestBodyDataRate); slower requests are reset.
   * Client-streaming and bidi calls may idle. Default 240; 0 disables.
   */
  'h2grpc.min_request_data_rate'?: number;
  /**
   * How long tryShutdown() lets running calls finish (ms); then the remaining connections are
   * closed as by forceShutdown() (their calls see CANCELLED). Default: no limit (as grpc-js).
   */
  'h2grpc.drain_deadline_ms'?: number;
  /** A client that takes none of our bytes for this long while we have some for it is closed (ms). Default 30 s. */
  'h2grpc.write_stall_timeout_ms'?: number;
  /** Connections served at once; more are closed on arrival. Default: no limit. */
  'h2grpc.max_connections'?: number;
  /** Decides whether to serve a new connection (e.g. per-IP limits); false closes it at once. */
  'h2grpc.admit_connection'?: (socket: { remoteAddress?: string; remotePort?: number }) => boolean;
  /** HTTP/2 transport settings; the options above take precedence over the same settings here. */
  transport?: ConnectionOptions;
  /** grpc-js's server interceptors, applied to every call; the first is the outermost. */
  interceptors?: ServerInterceptor[];
  [key: string]: unknown;
}

/** The transport options the grpc.* options above stand for. */
function transportOptions(options: ServerOptions): ConnectionOptions {
  const transport = options.transport ?? {};
  const lifecycle: NonNullable<ConnectionOptions['lifecycle']> = { ...transport.lifecycle };
  const set = <K extends keyof typeof lifecycle>(key: K, value: (typeof lifecycle)[K] | undefined) => {
    if (value !== undefined) lifecycle[key] = value;
  };
  set('maxIdleMs', options['grpc.max_connection_idle_ms']);
  set('maxAgeMs', options['grpc.max_connection_age_ms']);
  set('maxAgeGraceMs', options['grpc.max_connection_age_grace_ms']);
  set('keepaliveTimeMs', options['grpc.keepalive_time_ms']);
  set('keepaliveTimeoutMs', options['grpc.keepalive_timeout_ms']);
  const permit = options['grpc.keepalive_permit_without_calls'];
  set('permitPingsWithoutCalls', permit === undefined ? undefined : permit !== 0);
  set('minPingIntervalMs', options['grpc.http2.min_ping_interval_without_data_ms']);
  set('maxPingStrikes', options['grpc.http2.max_ping_strikes']);
  set('handshakeTimeoutMs', options['h2grpc.handshake_timeout_ms']);
  set('minDataRate', options['h2grpc.min_request_data_rate']);
  set('writeStallTimeoutMs', options['h2grpc.write_stall_timeout_ms']);
  const streams = options['grpc.max_concurrent_streams'];
  const settings = streams === undefined ? transport.settings : { ...transport.settings, maxConcurrentStreams: streams };
  return { ...transport, settings, lifecycle };
}

/** Our insecure credentials; grpc-js's ServerCredentials.createInsecure() is accepted too. */
export class ServerCredentials {
  private constructor(private readonly secure: boolean) {}
  static createInsecure(): ServerCredentials {
    return new ServerCredentials(false);
  }
  _isSecure(): boolean {
    return this.secure;
  }
}

const COMPRESSION_BY_ID: Encoding[] = ['identity', 'deflate', 'gzip'];

/** Serves a stream for a path no gRPC service has: see Server.setFallbackStreamHandler(). */
export type FallbackStreamHandler = (stream: Http2Stream, connection: Http2Connection) => void;

/** Counters for tests and monitoring. */
export interface ServerStats {
  connections: number;
  streams: number;
  queuedBytes: number;
}

/**
 * A gRPC server on our own HTTP/2 transport, API-compatible with @grpc/grpc-js's Server for
 * addService / bindAsync / tryShutdown / forceShutdown and handler signatures.
 */
export class Server {
  private readonly router = new Router();
  private readonly listeners: net.Server[] = [];
  private readonly connections = new Set<Http2Connection>();
  private readonly limits: CallLimits;
  private readonly responseEncoding: Encoding;
  private readonly transportOptions: ConnectionOptions;
  private shuttingDown = false;
  private readonly interceptors: readonly ServerInterceptor[];

  constructor(private readonly options: ServerOptions = {}) {
    this.interceptors = checkInterceptors(options.interceptors);
    const receive = options['grpc.max_receive_message_length'] ?? 4 * 1024 * 1024;
    const send = options['grpc.max_send_message_length'] ?? -1;
    const backlog = options['h2grpc.max_response_backlog_bytes'] ?? 4 * 1024 * 1024;
    this.limits = {
      maxReceiveMessageSize: receive < 0 ? Infinity : receive,
      maxSendMessageSize: send < 0 ? Infinity : send,
      maxResponseBacklog: backlog < 0 ? Infinity : backlog,
    };
    this.responseEncoding = COMPRESSION_BY_ID[options['grpc.default_compression_algorithm'] ?? 0] ?? 'identity';
    this.transportOptions = transportOptions(options);
  }

  addService(service: ServiceDefinition, implementation: UntypedServiceImplementation): void {
    this.router.addService(service, implementation);
  }

  removeService(service: ServiceDefinition): void {
    this.router.removeService(service);
  }

  /**
   * Serves the streams whose :path no added gRPC service has with `handler` instead of answering
   * them here (UNIMPLEMENTED, 405, 415): another protocol beside gRPC on the same port, such as a
   * Connect router (`addConnectRouter` from h2grpc/connect). The handler owns the stream: it must
   * answer or reset it. Requests whose headers were cut short still get RESOURCE_EXHAUSTED. null
   * removes it.
   */
  setFallbackStreamHandler(handler: FallbackStreamHandler | null): void {
    if (handler !== null && typeof handler !== 'function') throw new TypeError('setFallbackStreamHandler() requires a function or null');
    this.fallback = handler;
  }

  /** grpc-js's bindAsync: 'host:port' (port 0 picks one); calls back with the bound port. */
  bindAsync(address: string, credentials: { _isSecure(): boolean }, callback: (error: Error | null, port: number) => void): void {
    if (credentials?._isSecure?.()) {
      process.nextTick(callback, new Error('TLS credentials are not supported yet'), -1);
      return;
    }
    const { host, port } = parseAddress(address);
    this.listen(port, host).then(
      (bound) => callback(null, bound),
      (error: Error) => callback(error, -1),
    );
  }

  /** Listens on host:port; resolves with the bound port. */
  listen(port: number, host = '127.0.0.1'): Promise<number> {
    return new Promise((resolve, reject) => {
      const listener = net.createServer((socket) => this.accept(socket));
      listener.once('error', reject);
      listener.listen(port, host, () => {
        listener.off('error', reject);
        // Accept errors later on (EMFILE when out of descriptors, ...) must not crash the process:
        // the listener goes on, the connection that failed is lost.
        listener.on('error', () => {});
        this.listeners.push(listener);
        resolve((listener.address() as net.AddressInfo).port);
      });
    });
  }

  /** Deprecated in grpc-js; kept so existing code runs. */
  start(): void {}

  get stats(): ServerStats {
    let streams = 0;
    let queuedBytes = 0;
    for (const connection of this.connections) {
      const stats = connection.stats;
      streams += stats.streams;
      queuedBytes += stats.queuedBytes;
    }
    return { connections: this.connections.size, streams, queuedBytes };
  }

  /**
   * Call counters per registered method and in total: calls started, succeeded, failed by status,
   * active, messages and bytes each way. Counted in place as calls run; this call copies them.
   */
  callStats(): CallStatsSnapshot {
    return snapshotCallStats(this.router.methodStats());
  }

  /** Per-connection transport counters (streams, queued bytes, control items, unparsed input). */
  connectionStats(): ConnectionStats[] {
    return [...this.connections].map((connection) => connection.stats);
  }

  /** Serves HTTP/2 on an already connected socket (for custom listeners and tests). */
  accept(socket: net.Socket): Http2Connection | null {
    const maxConnections = this.options['h2grpc.max_connections'] ?? Infinity;
    const admit = this.options['h2grpc.admit_connection'];
    if (this.connections.size >= maxConnections || (admit !== undefined && !admit(socket))) {
      socket.on('error', () => {});
      socket.destroy();
      return null;
    }
    const connection = new Http2Connection(socket, 'server', this.transportOptions);
    if (tracing.connection) traceConnection(connection, socket);
    this.connections.add(connection);
    connection.on('stream', (stream: Http2Stream) => this.handleStream(connection, stream));
    connection.on('close', () => {
      this.connections.delete(connection);
      this.checkShutdown();
    });
    if (this.shuttingDown) connection.goAway();
    return connection;
  }

  /**
   * Graceful shutdown: stop accepting connections, send GOAWAY on each, let running calls finish,
   * then call back.
   */
  tryShutdown(callback: (error?: Error) => void): void {
    this.shuttingDown = true;
    this.shutdownCallbacks.push(callback);
    for (const listener of this.listeners.splice(0)) listener.close();
    for (const connection of this.connections) connection.goAway();
    const deadline = this.options['h2grpc.drain_deadline_ms'];
    if (deadline !== undefined && deadline >= 0 && this.connections.size > 0 && this.drainTimer === null) {
      this.drainTimer = setTimeout(() => this.forceShutdown(), deadline);
      this.drainTimer.unref();
    }
    this.checkShutdown();
  }

  /**
   * Immediate shutdown: every call is cancelled (RST_STREAM CANCEL: clients see CANCELLED), each
   * connection gets GOAWAY and is closed once those are written.
   */
  forceShutdown(): void {
    this.shuttingDown = true;
    for (const listener of this.listeners.splice(0)) listener.close();
    for (const connection of this.connections) connection.close(ErrorCode.NO_ERROR, 'server shutdown');
    this.checkShutdown();
  }

  private drainTimer: NodeJS.Timeout | null = null;

  /** Serves the streams of paths no gRPC service has (setFallbackStreamHandler); null: answered here. */
  private fallback: FallbackStreamHandler | null = null;

  private readonly shutdownCallbacks: ((error?: Error) => void)[] = [];

  private checkShutdown(): void {
    if (!this.shuttingDown || this.connections.size > 0) return;
    if (this.drainTimer !== null) {
      clearTimeout(this.drainTimer);
      this.drainTimer = null;
    }
    const callbacks = this.shutdownCallbacks.splice(0);
    for (const callback of callbacks) process.nextTick(callback);
  }

  private handleStream(connection: Http2Connection, stream: Http2Stream): void {
    if (stream.headersTruncated) {
      respondEarly(stream, { httpStatus: 200, code: Status.RESOURCE_EXHAUSTED, message: 'Request header list exceeds the size limit', extra: [] });
      return;
    }
    // The transport has validated the request (RFC 9113 §8.1-§8.3) and reset malformed ones.
    const head = stream.requestHead!;
    if (this.fallback !== null && this.router.lookup(head.path) === undefined) {
      this.fallback(stream, connection);
      return;
    }
    const fields = scanGrpcRequest(stream.headers);
    const httpProblem = checkHttpRequest(head.method, fields);
    if (httpProblem !== null) {
      respondEarly(stream, httpProblem);
      return;
    }
    const method = this.router.lookup(head.path);
    if (method === undefined) {
      respondEarly(stream, { httpStatus: 200, code: Status.UNIMPLEMENTED, message: `The server does not implement the method ${head.path}`, extra: [] });
      return;
    }
    // Streaming requests may idle between messages; only single-message requests must keep coming.
    if (method.kind === 'clientStream' || method.kind === 'bidi') stream.exemptFromDataRate();
    const options = parseCallOptions(fields, Date.now);
    if (isEarlyAnswer(options)) {
      respondEarly(stream, options);
      return;
    }
    const core = new ServerCall({
      stream,
      method,
      limits: this.limits,
      requestEncoding: options.requestEncoding,
      responseEncoding: negotiateEncoding(options.acceptEncoding, this.responseEncoding),
      deadline: options.deadline,
      peer: connection.socket,
      authority: head.authority,
      acceptEncoding: options.acceptEncoding,
    });
    startCall(core, method, this.interceptors);
  }
}

/** The `interceptors` option: an array of functions (grpc-js's ServerInterceptor), copied. */
function checkInterceptors(interceptors: unknown): readonly ServerInterceptor[] {
  if (interceptors === undefined) return [];
  if (!Array.isArray(interceptors) || !interceptors.every((interceptor) => typeof interceptor === 'function')) {
    throw new TypeError('The interceptors server option must be an array of ServerInterceptor functions');
  }
  return [...interceptors] as ServerInterceptor[];
}

/** A trailers-only (or non-200) response for a call that never reaches a handler. */
function respondEarly(stream: Http2Stream, answer: EarlyAnswer): void {
  const headers: HeaderList = [
    ':status',
    String(answer.httpStatus),
    'content-type',
    CONTENT_TYPE,
    GRPC_STATUS,
    String(answer.code),
    GRPC_MESSAGE,
    encodeStatusMessage(answer.message),
    ...answer.extra,
  ];
  stream.detach();
  // A client whose SETTINGS_MAX_HEADER_LIST_SIZE is smaller than the answer gets a reset instead.
  if (stream.fitsHeaderList(headers)) stream.sendHeaders(headers, true);
  else stream.reset(ErrorCode.INTERNAL_ERROR);
}

/** Parses grpc-js style addresses: 'host:port', '[::1]:port', 'dns:host:port'. */
function parseAddress(address: string): { host: string; port: number } {
  const trimmed = address.replace(/^dns:(\/\/\/)?/, '');
  const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(trimmed);
  if (bracketed) return { host: bracketed[1], port: Number(bracketed[2]) };
  const index = trimmed.lastIndexOf(':');
  if (index === -1) return { host: trimmed, port: 0 };
  return { host: trimmed.slice(0, index) || '0.0.0.0', port: Number(trimmed.slice(index + 1)) };
}
