import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import { deprecate } from 'node:util';
import {
  DEFAULT_LIFECYCLE,
  ErrorCode,
  Http2Connection,
  type ConnectionOptions,
  type ConnectionStats,
  type HeaderList,
  type Http2Stream,
  type TransportSocket,
} from '../../transport';
import { type Encoding, negotiateEncoding } from '../compression';
import { CONTENT_TYPE, GRPC_MESSAGE, GRPC_STATUS } from '../protocol/headers';
import { checkHttpRequest, type EarlyAnswer, isEarlyAnswer, parseCallOptions, scanGrpcRequest } from '../protocol/request-headers';
import { encodeStatusMessage } from '../protocol/status-message';
import { tracing } from '../logging';
import { Status } from '../status';
import { traceConnection } from './connection-trace';
import type { ServerInterceptor } from './interceptors';
import { type CallStatsSnapshot, snapshotCallStats } from './method-stats';
import { asksForAnyPort, type BindTarget, listenOnAll, parseBindTarget, resolveBindTarget, targetKey, withPort } from './bind-address';
import { ConnectionSource, type SourceHost } from './connection-source';
import { type MethodKind, startCall } from './method-handlers';
import { Router, type ServiceDefinition, type UntypedServiceImplementation } from './router';
import { type CallLimits, ServerCall } from './server-call';
import { isServerCredentials, ServerCredentials, type ServerCredentialsLike } from './server-credentials';
import { checkServerOptions } from './server-option-check';

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
  /** A new connection must send its preface and SETTINGS within this (ms), and finish its TLS handshake within it too. Default 20 s. */
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

export { ServerCredentials };

const COMPRESSION_BY_ID: Encoding[] = ['identity', 'deflate', 'gzip'];

/** Serves a stream for a path no gRPC service has: see Server.setFallbackStreamHandler(). */
export type FallbackStreamHandler = (stream: Http2Stream, connection: Http2Connection) => void;

/** Counters for tests and monitoring. */
export interface ServerStats {
  connections: number;
  streams: number;
  queuedBytes: number;
}

/** A bindAsync() address: its listeners and connections, or the bind still under way. */
interface BoundPort {
  /** Its key in the bound-ports map: the canonical target, with the actual port once bound. */
  key: string;
  source: ConnectionSource;
  /** Resolves with the port while the bind is under way; null once done. */
  completion: Promise<number> | null;
  port: number;
  /** unbind() or forceShutdown() came while the bind was under way. */
  cancelled: boolean;
}

/** What grpc-js's Server.createConnectionInjector() returns. */
export interface ConnectionInjector {
  /** Serves a connected duplex stream (TLS handshake first, with secure credentials). */
  injectConnection(connection: Duplex): void;
  /** GOAWAY on this injector's connections; those still open after `graceTimeMs` are closed. */
  drain(graceTimeMs: number): void;
  /** Stops this injector: its connections get GOAWAY and finish their calls. */
  destroy(): void;
}

/** grpc-js's channelz reference shape; we run no channelz service, so it only identifies the server. */
export interface ServerChannelzRef {
  kind: 'server';
  id: number;
  name: string;
}

const KINDS = new Set<string>(['unary', 'clientStream', 'serverStream', 'bidi']);
let nextChannelzId = 1;
const warnStartDeprecated = deprecate(() => {}, 'Calling start() is no longer necessary. It can be safely omitted.');

/**
 * A gRPC server on our own HTTP/2 transport, API-compatible with @grpc/grpc-js's Server: services
 * (addService, register), addresses (bindAsync with every grpc-js address form, unbind, drain),
 * connections from elsewhere (accept, createConnectionInjector), TLS (ServerCredentials.createSsl)
 * and shutdown (tryShutdown, forceShutdown), with grpc-js's handler signatures.
 */
export class Server {
  private readonly router = new Router();
  private readonly boundPorts = new Map<string, BoundPort>();
  /** Every source of connections: bound ports (also while binding), listen() calls, injectors. */
  private readonly sources = new Set<ConnectionSource>();
  private readonly connections = new Set<Http2Connection>();
  private readonly limits: CallLimits;
  private readonly responseEncoding: Encoding;
  private readonly transportOptions: ConnectionOptions;
  private readonly sourceHost: SourceHost;
  private readonly channelzRef: ServerChannelzRef = { kind: 'server', id: nextChannelzId++, name: 'server' };
  private shuttingDown = false;
  private readonly interceptors: readonly ServerInterceptor[];
  /** forceShutdown() was called: a connection that finishes its TLS handshake afterwards is closed. */
  private forced = false;
  private started = false;
  /** Listeners whose close() has not called back yet (tryShutdown waits for them). */
  private closingListeners = 0;

  constructor(private readonly options: ServerOptions = {}) {
    checkServerOptions(options);
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
    this.sourceHost = {
      hasRoom: () => this.connections.size < (this.options['h2grpc.max_connections'] ?? Infinity),
      accept: (socket) => this.accept(socket),
      handshakeTimeoutMs: this.transportOptions.lifecycle?.handshakeTimeoutMs ?? DEFAULT_LIFECYCLE.handshakeTimeoutMs,
    };
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

  /**
   * Registers one method by its path, as grpc-js's register(): `type` is 'unary', 'clientStream',
   * 'serverStream' or 'bidi'. Returns false when the path already has a handler.
   */
  register<RequestType = unknown, ResponseType = unknown>(
    name: string,
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    handler: (...args: any[]) => unknown,
    serialize: (value: ResponseType) => Buffer,
    deserialize: (data: Buffer) => RequestType,
    type: string,
  ): boolean {
    if (!KINDS.has(type)) throw new TypeError(`Invalid handlerType ${type}`);
    return this.router.register({
      path: name,
      kind: type as MethodKind,
      handler,
      requestDeserialize: deserialize,
      responseSerialize: serialize as (value: unknown) => Buffer,
    });
  }

  /** Removes the handler of one method path; returns whether there was one. */
  unregister(name: string): boolean {
    return this.router.unregister(name);
  }

  /** grpc-js's old API; throws as grpc-js does. */
  addProtoService(): never {
    throw new Error('Not implemented. Use addService() instead');
  }

  /** grpc-js's old API; throws as grpc-js does. */
  bind(port: string, creds: unknown): never {
    void port;
    void creds;
    throw new Error('Not implemented. Use bindAsync() instead');
  }

  /** Not in grpc-js either; throws as grpc-js does. */
  addHttp2Port(): never {
    throw new Error('Not yet implemented');
  }

  /**
   * Listens on `port`, an address as grpc-js takes it: `host:port`, `[::1]:port`, `0.0.0.0:0`,
   * `dns:host:port`, `dns:///host:port`, `ipv4:a.b.c.d:port`, `ipv6:[::1]:port`,
   * `unix:relative/path`, `unix:///absolute/path` (the socket file is removed on shutdown).
   * A name standing for several addresses is bound on each; port 0 picks a free port. Calls back
   * with the port (1 for a Unix socket), or with an error and port 0. Binding the same address
   * again with equal credentials calls back with the same port. Throws at once on a bad argument
   * or after shutdown, as grpc-js does.
   */
  bindAsync(port: string, creds: ServerCredentialsLike, callback: (error: Error | null, port: number) => void): void {
    if (this.shuttingDown) throw new Error('bindAsync called after shutdown');
    if (typeof port !== 'string') throw new TypeError('port must be a string');
    if (!isServerCredentials(creds)) throw new TypeError('creds must be a ServerCredentials object');
    if (typeof callback !== 'function') throw new TypeError('callback must be a function');
    checkNoInterceptors(creds);
    const target = parseBindTarget(port);
    const key = targetKey(target);
    const existing = this.boundPorts.get(key);
    if (existing !== undefined) {
      if (!creds._equals(existing.source.credentials)) {
        process.nextTick(callback, new Error(`${port} already bound with incompatible credentials`), 0);
        return;
      }
      existing.cancelled = false;
      if (existing.completion === null) process.nextTick(callback, null, existing.port);
      else
        existing.completion.then(
          (bound) => callback(null, bound),
          (error: Error) => callback(error, 0),
        );
      return;
    }
    const source = this.addSource(creds);
    const bound: BoundPort = { key, source, completion: null, port: 0, cancelled: false };
    const completion = this.bindPort(target, bound);
    bound.completion = completion;
    // A port-0 address is known by its actual port once bound (grpc-js: "localhost:54321").
    const anyPort = asksForAnyPort(target);
    if (!anyPort) this.boundPorts.set(key, bound);
    completion.then(
      (portNumber) => {
        bound.completion = null;
        bound.port = portNumber;
        if (anyPort) {
          bound.key = targetKey(withPort(target, portNumber));
          this.boundPorts.set(bound.key, bound);
        }
        callback(null, portNumber);
      },
      (error: Error) => callback(error, 0),
    );
  }

  private async bindPort(target: BindTarget, bound: BoundPort): Promise<number> {
    // forceShutdown() also cancels binds to port 0, which are not in the bound-ports map yet.
    const checkCancelled = () => {
      if (bound.cancelled || this.shuttingDown) throw new Error('bindAsync operation cancelled by unbind call');
    };
    try {
      const addresses = await resolveBindTarget(target);
      checkCancelled();
      const { port, listeners } = await listenOnAll(addresses, () => this.createListener(bound.source));
      bound.source.listeners.push(...listeners);
      checkCancelled();
      return port;
    } catch (error) {
      this.completeUnbind(bound);
      throw error;
    }
  }

  /** A net.Server feeding `source` (TLS first if its credentials are secure). */
  private createListener(source: ConnectionSource): net.Server {
    const listener = net.createServer((socket) => source.admit(socket));
    // Accept errors later on (EMFILE when out of descriptors, ...) must not crash the process:
    // the listener goes on, the connection that failed is lost.
    listener.on('error', () => {});
    return listener;
  }

  private addSource(credentials: ServerCredentialsLike): ConnectionSource {
    const source = new ConnectionSource(credentials, this.sourceHost);
    this.sources.add(source);
    return source;
  }

  /** Closes a source's listeners; its connections get GOAWAY unless `goAway` is false. */
  private retireSource(source: ConnectionSource, goAway = true): void {
    this.sources.delete(source);
    this.closingListeners += source.close(() => {
      this.closingListeners--;
      this.checkShutdown();
    });
    if (goAway) for (const connection of source.connections) connection.goAway();
  }

  private completeUnbind(bound: BoundPort): void {
    if (this.boundPorts.get(bound.key) === bound) this.boundPorts.delete(bound.key);
    this.retireSource(bound.source);
  }

  /** Looks up a bound port for unbind()/drain(), which refuse port 0 as grpc-js does. */
  private boundPortFor(port: string, operation: string): BoundPort | undefined {
    const target = parseBindTarget(port);
    if (asksForAnyPort(target)) throw new Error(`Cannot ${operation} port 0`);
    return this.boundPorts.get(targetKey(target));
  }

  /**
   * Stops listening on a bound address (or cancels its bind under way): its connections get
   * GOAWAY and finish their calls. For an address bound with port 0, name the actual port.
   */
  unbind(port: string): void {
    const bound = this.boundPortFor(port, 'unbind');
    if (bound === undefined) return;
    if (bound.completion !== null) bound.cancelled = true;
    else this.completeUnbind(bound);
  }

  /**
   * GOAWAY on every connection of a bound address (it keeps listening); connections still open
   * after `graceTimeMs` are closed and their calls cancelled. For port 0, name the actual port.
   */
  drain(port: string, graceTimeMs: number): void {
    this.boundPortFor(port, 'drain')?.source.drain(graceTimeMs);
  }

  /**
   * Serves connections that arrive some other way than a bound address (grpc-js's API): each
   * duplex passed to injectConnection() is secured with `credentials` (TLS handshake first if
   * they are secure) and served like an accepted socket.
   */
  createConnectionInjector(credentials: ServerCredentialsLike): ConnectionInjector {
    if (!isServerCredentials(credentials)) throw new TypeError('creds must be a ServerCredentials object');
    checkNoInterceptors(credentials);
    const source = this.addSource(credentials);
    return {
      injectConnection: (connection: Duplex) => source.admit(connection),
      drain: (graceTimeMs: number) => source.drain(graceTimeMs),
      destroy: () => this.retireSource(source),
    };
  }

  /** Listens on host:port without credentials (plaintext); resolves with the bound port. */
  async listen(port: number, host = '127.0.0.1'): Promise<number> {
    if (this.shuttingDown) throw new Error('listen called after shutdown');
    const source = this.addSource(ServerCredentials.createInsecure());
    try {
      const bound = await listenOnAll([{ host, port }], () => this.createListener(source));
      source.listeners.push(...bound.listeners);
      if (this.shuttingDown) this.retireSource(source);
      return bound.port;
    } catch (error) {
      this.retireSource(source);
      throw error;
    }
  }

  /**
   * Deprecated in grpc-js (since 1.10 binding starts serving): warns once, and throws as grpc-js
   * does when nothing is bound yet or when called twice.
   */
  start(): void {
    warnStartDeprecated();
    const listening = [...this.sources].some((source) => source.listeners.some((listener) => listener.listening));
    if (!listening) throw new Error('server must be bound in order to start');
    if (this.started) throw new Error('server is already started');
    this.started = true;
  }

  /** grpc-js's channelz reference. We serve no channelz, so it only identifies this server. */
  getChannelzRef(): ServerChannelzRef {
    return this.channelzRef;
  }

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

  /**
   * Serves plaintext HTTP/2 on an already connected duplex stream: a net.Socket from a listener
   * of your own, a socket handed over by another server, one end of an in-memory pair (tests),
   * or an already established TLSSocket (negotiate ALPN "h2" yourself). For TLS handshakes done
   * by this server use createConnectionInjector(ServerCredentials.createSsl(...)). Returns the
   * connection, or null when refused ('h2grpc.max_connections', 'h2grpc.admit_connection').
   */
  accept(socket: TransportSocket): Http2Connection | null {
    const maxConnections = this.options['h2grpc.max_connections'] ?? Infinity;
    const admit = this.options['h2grpc.admit_connection'];
    if (this.forced || this.connections.size >= maxConnections || (admit !== undefined && !admit(socket))) {
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
    this.boundPorts.clear();
    for (const source of [...this.sources]) this.retireSource(source);
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
   * connection gets GOAWAY and is closed once those are written. Binds under way are cancelled.
   */
  forceShutdown(): void {
    this.shuttingDown = true;
    this.forced = true;
    for (const bound of this.boundPorts.values()) bound.cancelled = true;
    this.boundPorts.clear();
    for (const source of [...this.sources]) this.retireSource(source, false);
    for (const connection of this.connections) connection.close(ErrorCode.NO_ERROR, 'server shutdown');
    this.checkShutdown();
  }

  private drainTimer: NodeJS.Timeout | null = null;

  /** Serves the streams of paths no gRPC service has (setFallbackStreamHandler); null: answered here. */
  private fallback: FallbackStreamHandler | null = null;

  private readonly shutdownCallbacks: ((error?: Error) => void)[] = [];

  private checkShutdown(): void {
    if (!this.shuttingDown || this.connections.size > 0 || this.closingListeners > 0) return;
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

/** grpc-js's credentials carrying server interceptors are not supported: refuse them loudly. */
function checkNoInterceptors(credentials: ServerCredentialsLike): void {
  if ((credentials._getInterceptors?.() ?? []).length > 0) throw new Error('Server credentials with interceptors are not supported');
}
