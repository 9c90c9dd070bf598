import * as net from 'node:net';
import { ErrorCode, Http2Connection, type ConnectionOptions, type ConnectionStats, type HeaderList, type Http2Stream } from '../../transport';
import { ACCEPT_ENCODING_VALUE, type Encoding, isSupportedEncoding } from '../compression';
import { CONTENT_TYPE, GRPC_ACCEPT_ENCODING, GRPC_ENCODING, GRPC_MESSAGE, GRPC_STATUS, GRPC_TIMEOUT, isGrpcContentType } from '../protocol/headers';
import { encodeStatusMessage } from '../protocol/status-message';
import { parseTimeout } from '../protocol/timeout';
import { Status } from '../status';
import { startCall } from './method-handlers';
import { Router, type ServiceDefinition, type UntypedServiceImplementation } from './router';
import { type CallLimits, ServerCall } from './server-call';

export interface ServerOptions {
  /** Largest request message accepted, after decompression. Default 4 MiB (as grpc-js). */
  'grpc.max_receive_message_length'?: number;
  /** Largest response message sent. Default unlimited (-1). */
  'grpc.max_send_message_length'?: number;
  /** Response compression: 0 identity, 1 deflate, 2 gzip (grpc-js's compressionAlgorithms). */
  'grpc.default_compression_algorithm'?: number;
  /** HTTP/2 transport settings. */
  transport?: ConnectionOptions;
  [key: string]: unknown;
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
  private shuttingDown = false;

  constructor(private readonly options: ServerOptions = {}) {
    const receive = options['grpc.max_receive_message_length'] ?? 4 * 1024 * 1024;
    const send = options['grpc.max_send_message_length'] ?? -1;
    this.limits = { maxReceiveMessageSize: receive < 0 ? Infinity : receive, maxSendMessageSize: send < 0 ? Infinity : send };
    this.responseEncoding = COMPRESSION_BY_ID[options['grpc.default_compression_algorithm'] ?? 0] ?? 'identity';
  }

  addService(service: ServiceDefinition, implementation: UntypedServiceImplementation): void {
    this.router.addService(service, implementation);
  }

  removeService(service: ServiceDefinition): void {
    this.router.removeService(service);
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

  /** Per-connection transport counters (streams, queued bytes, control items, unparsed input). */
  connectionStats(): ConnectionStats[] {
    return [...this.connections].map((connection) => connection.stats);
  }

  /** Serves HTTP/2 on an already connected socket (for custom listeners and tests). */
  accept(socket: net.Socket): Http2Connection {
    const connection = new Http2Connection(socket, 'server', this.options.transport);
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
    this.checkShutdown();
  }

  /** Immediate shutdown: every call is cancelled, every connection closed. */
  forceShutdown(): void {
    this.shuttingDown = true;
    for (const listener of this.listeners.splice(0)) listener.close();
    for (const connection of this.connections) {
      connection.close(ErrorCode.NO_ERROR, 'server shutdown');
      connection.socket.destroy();
    }
    this.checkShutdown();
  }

  private readonly shutdownCallbacks: ((error?: Error) => void)[] = [];

  private checkShutdown(): void {
    if (!this.shuttingDown || this.connections.size > 0) return;
    const callbacks = this.shutdownCallbacks.splice(0);
    for (const callback of callbacks) process.nextTick(callback);
  }

  private handleStream(connection: Http2Connection, stream: Http2Stream): void {
    const headers = stream.headers;
    if (stream.headersTruncated) {
      respondEarly(stream, 200, Status.RESOURCE_EXHAUSTED, 'Request header list exceeds the size limit');
      return;
    }
    // The transport has validated the request (RFC 9113 §8.1-§8.3) and reset malformed ones.
    const head = stream.requestHead!;
    if (head.method !== 'POST') {
      respondEarly(stream, 405, Status.INTERNAL, `Method ${head.method} not allowed; gRPC requires POST`);
      return;
    }
    const fields = scanGrpcFields(headers);
    // A content-type other than application/grpc gets HTTP 415 (PROTOCOL-HTTP2.md).
    if (!isGrpcContentType(fields.contentType)) {
      respondEarly(stream, 415, Status.UNKNOWN, 'Unsupported content-type; expected application/grpc');
      return;
    }
    const method = this.router.lookup(head.path);
    if (method === undefined) {
      respondEarly(stream, 200, Status.UNIMPLEMENTED, `The server does not implement the method ${head.path}`);
      return;
    }
    let deadline = Infinity;
    const timeout = fields.timeout;
    if (timeout !== undefined) {
      const milliseconds = parseTimeout(timeout);
      if (milliseconds === null) {
        respondEarly(stream, 200, Status.INTERNAL, `Malformed grpc-timeout: ${timeout}`);
        return;
      }
      deadline = Date.now() + milliseconds;
    }
    const requestEncoding = fields.encoding ?? 'identity';
    if (!isSupportedEncoding(requestEncoding)) {
      // An unsupported request encoding: UNIMPLEMENTED, listing what we accept.
      respondEarly(stream, 200, Status.UNIMPLEMENTED, `Unsupported grpc-encoding ${requestEncoding}`, [GRPC_ACCEPT_ENCODING, ACCEPT_ENCODING_VALUE]);
      return;
    }
    const acceptEncoding = fields.acceptEncoding;
    let responseEncoding: Encoding = 'identity';
    if (this.responseEncoding !== 'identity' && acceptEncoding !== undefined && acceptEncoding.split(',').some((part) => part.trim() === this.responseEncoding)) {
      responseEncoding = this.responseEncoding;
    }
    const core = new ServerCall(
      stream,
      method,
      this.limits,
      requestEncoding,
      responseEncoding,
      deadline,
      connection.socket,
      head.authority,
      acceptEncoding,
    );
    startCall(core, method);
  }
}

/** The request fields the server acts on, found in one pass over the header list. */
interface GrpcRequestFields {
  contentType: string | undefined;
  timeout: string | undefined;
  encoding: string | undefined;
  acceptEncoding: string | undefined;
}

function scanGrpcFields(headers: HeaderList): GrpcRequestFields {
  const fields: GrpcRequestFields = { contentType: undefined, timeout: undefined, encoding: undefined, acceptEncoding: undefined };
  for (let index = 0; index < headers.length; index += 2) {
    switch (headers[index]) {
      case 'content-type':
        fields.contentType ??= headers[index + 1];
        break;
      case GRPC_TIMEOUT:
        fields.timeout ??= headers[index + 1];
        break;
      case GRPC_ENCODING:
        fields.encoding ??= headers[index + 1];
        break;
      case GRPC_ACCEPT_ENCODING:
        fields.acceptEncoding ??= headers[index + 1];
        break;
    }
  }
  return fields;
}

/** A trailers-only (or non-200) response for a call that never reaches a handler. */
function respondEarly(stream: Http2Stream, httpStatus: number, code: Status, message: string, extra: HeaderList = []): void {
  const headers: HeaderList = [':status', String(httpStatus), 'content-type', CONTENT_TYPE, GRPC_STATUS, String(code), GRPC_MESSAGE, encodeStatusMessage(message), ...extra];
  stream.detach();
  stream.sendHeaders(headers, true);
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
