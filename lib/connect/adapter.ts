import { createConnectRouter, type ConnectRouter, type ConnectRouterOptions, type ContextValues } from '@connectrpc/connect';
import type { UniversalHandler, UniversalServerRequest } from '@connectrpc/connect/protocol';
import type { FallbackStreamHandler, Server } from '../grpc';
import { encodeStatusMessage } from '../grpc/protocol/status-message';
import { Status } from '../grpc/status';
import { ErrorCode, type HeaderList, type Http2Connection, type Http2Stream } from '../transport';
import { compressionBrotli, compressionGzip } from './compression';
import { StreamExchange } from './exchange';
import { headersFromList, requestUrl, routePath } from './fields';

/** How to serve a Connect router on h2grpc's transport. */
export interface ConnectH2grpcAdapterOptions extends ConnectRouterOptions {
  /**
   * Registers the services, as for connect-node's adapter:
   * `routes: (router) => router.service(ElizaService, impl)`.
   */
  routes: (router: ConnectRouter) => void;
  /** Serves every procedure under this prefix ("/api" serves "/api/foo.FooService/Bar"). Default none. */
  requestPathPrefix?: string;
  /** Context values for a request's handler context, from its stream and connection. */
  contextValues?: (stream: Http2Stream, connection: Http2Connection) => ContextValues;
  /**
   * Hears of a handler whose response could not be served for a reason other than the stream
   * ending (its promise rejected, or its response headers were too large); the stream is reset.
   * Default: ignored.
   */
  onError?: (error: unknown, path: string) => void;
}

/**
 * The largest request message read unless `readMaxBytes` says otherwise: 4 MiB, as grpc-js's and
 * our gRPC server's default. Connect-ES's own default is 0xffffffff, which lets one client make the
 * server buffer a 4 GiB message.
 */
export const DEFAULT_READ_MAX_BYTES = 4 * 1024 * 1024;

/** A Connect router served on h2grpc streams. */
export interface ConnectH2grpcAdapter {
  /**
   * Serves one request stream (a server connection's 'stream' event): routes it by :path, 404
   * (UNIMPLEMENTED for a gRPC request) for a path no procedure has. Fits
   * Server.setFallbackStreamHandler().
   */
  readonly handleStream: FallbackStreamHandler;
  /** Serves every stream a server connection (createServerConnection() from h2grpc/transport) opens. */
  serve(connection: Http2Connection): void;
  /** The request paths served, prefix included. */
  readonly paths: readonly string[];
}

/**
 * Builds a Connect router (gRPC, gRPC-Web and Connect protocols by default) and serves it on
 * h2grpc streams, as connect-node's connectNodeAdapter does on node:http2. The router accepts gzip
 * and brotli unless `acceptCompression` says otherwise, and request messages up to 4 MiB unless
 * `readMaxBytes` says otherwise (DEFAULT_READ_MAX_BYTES).
 */
export function connectH2grpcAdapter(options: ConnectH2grpcAdapterOptions): ConnectH2grpcAdapter {
  if (typeof options?.routes !== 'function') throw new TypeError('connectH2grpcAdapter() requires a routes function');
  const { routes, requestPathPrefix = '', contextValues, onError, ...routerOptions } = options;
  const router = createConnectRouter({
    ...routerOptions,
    readMaxBytes: routerOptions.readMaxBytes ?? DEFAULT_READ_MAX_BYTES,
    acceptCompression: routerOptions.acceptCompression ?? [compressionGzip, compressionBrotli],
  });
  routes(router);
  const handlers = new Map<string, UniversalHandler>();
  for (const handler of router.handlers) handlers.set(requestPathPrefix + handler.requestPath, handler);

  const handleStream = (stream: Http2Stream, connection: Http2Connection): void => {
    const head = stream.requestHead;
    if (head === null) {
      // The request's header list was over our SETTINGS_MAX_HEADER_LIST_SIZE and was cut short.
      answer(stream, [':status', '431']);
      return;
    }
    const handler = handlers.get(routePath(head.path));
    if (handler === undefined) {
      answer(stream, isGrpcRequest(stream.headers) ? unimplemented(head.path) : [':status', '404']);
      return;
    }
    const url = requestUrl(head, firstField(stream.headers, 'host'));
    const header = url === null ? null : webHeaders(stream.headers);
    if (url === null || header === null) {
      answer(stream, [':status', '400']);
      return;
    }
    let values: ContextValues | undefined;
    try {
      values = contextValues?.(stream, connection);
    } catch (error) {
      onError?.(error, head.path);
      answer(stream, [':status', '500']);
      return;
    }
    const exchange = new StreamExchange(stream);
    const request: UniversalServerRequest = {
      httpVersion: '2.0',
      method: head.method,
      url,
      header,
      body: exchange.body,
      signal: exchange.signal,
      contextValues: values,
    };
    // Streaming uploads may idle between messages; the others must keep coming (minimum data rate).
    const kind = handler.method.methodKind;
    if (kind === 'client_streaming' || kind === 'bidi_streaming') stream.exemptFromDataRate();
    // The handler keeps the stream's concurrency slot until it is done, even if the client resets it.
    stream.retain();
    handler(request)
      .then((response) => exchange.respond(response))
      .then(
        () => {
          exchange.finish();
          stream.release();
        },
        (error: unknown) => {
          // A stream the client reset (or whose connection went) is no error of the handler's.
          if (exchange.resetReason === null) {
            onError?.(error, head.path);
            stream.reset(ErrorCode.INTERNAL_ERROR);
          }
          exchange.finish();
          stream.release();
        },
      );
  };

  return {
    handleStream,
    serve(connection: Http2Connection): void {
      connection.on('stream', (stream) => handleStream(stream, connection));
    },
    paths: [...handlers.keys()],
  };
}

/**
 * Serves a Connect router beside the gRPC services of `server`, on the same port and connections:
 * requests for paths no gRPC service has go to the router (Server.setFallbackStreamHandler()).
 */
export function addConnectRouter(server: Server, options: ConnectH2grpcAdapterOptions): ConnectH2grpcAdapter {
  const adapter = connectH2grpcAdapter(options);
  server.setFallbackStreamHandler(adapter.handleStream);
  return adapter;
}

/** An answer without body to a request we do not read. */
function answer(stream: Http2Stream, headers: HeaderList): void {
  stream.detach();
  if (stream.isClosed) return;
  if (stream.fitsHeaderList(headers)) stream.sendHeaders(headers, true);
  else stream.reset(ErrorCode.INTERNAL_ERROR);
}

/** A gRPC request (PROTOCOL-HTTP2.md content-type; gRPC-Web clients take a 404) for an unknown method. */
function isGrpcRequest(headers: HeaderList): boolean {
  const type = firstField(headers, 'content-type') ?? '';
  return type === 'application/grpc' || type.startsWith('application/grpc+') || type.startsWith('application/grpc;');
}

/** The trailers-only UNIMPLEMENTED answer a gRPC client expects for a method the server lacks. */
function unimplemented(path: string): HeaderList {
  const message = encodeStatusMessage(`The server does not implement the method ${path}`);
  return [':status', '200', 'content-type', 'application/grpc', 'grpc-status', String(Status.UNIMPLEMENTED), 'grpc-message', message];
}

/** The request's fields as Headers, or null when the Fetch API refuses one. */
function webHeaders(list: HeaderList): Headers | null {
  try {
    return headersFromList(list);
  } catch {
    return null;
  }
}

function firstField(headers: HeaderList, name: string): string | null {
  for (let index = 0; index < headers.length; index += 2) if (headers[index] === name) return headers[index + 1];
  return null;
}
