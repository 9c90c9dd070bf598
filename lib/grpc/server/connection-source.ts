import type { Server as NetServer } from 'node:net';
import type { Duplex } from 'node:stream';
import { ErrorCode, type Http2Connection, type TransportSocket } from '../../transport';
import type { ServerCredentialsLike } from './server-credentials';
import { TlsTerminator } from './tls-terminator';

/** What a ConnectionSource needs from its server. */
export interface SourceHost {
  /** Whether a new raw connection may be served (connection limit, admission callback). */
  admits(socket: TransportSocket): boolean;
  /** Serves HTTP/2 on a socket ready for it (plaintext, or after the TLS handshake). */
  serve(socket: TransportSocket, source: ConnectionSource): Http2Connection;
  /** How long a client has to complete a TLS handshake (ms). */
  readonly handshakeTimeoutMs: number;
}

/**
 * Where a server's connections come from with one set of credentials: the listeners of one
 * bindAsync() address, or one connection injector. It secures new connections (TLS or not) and
 * keeps the ones it produced, so that unbind() and drain() act on that port only.
 */
export class ConnectionSource {
  readonly connections = new Set<Http2Connection>();
  readonly listeners: NetServer[] = [];
  private readonly terminator: TlsTerminator | null;
  private cancelTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly credentials: ServerCredentialsLike,
    private readonly host: SourceHost,
  ) {
    this.terminator = credentials._isSecure()
      ? new TlsTerminator(credentials, {
          handshakeTimeoutMs: host.handshakeTimeoutMs,
          onSecureSocket: (socket) => host.serve(socket, this),
        })
      : null;
  }

  /** A new raw connection (accepted by a listener, or injected). */
  admit(socket: Duplex): void {
    if (!this.host.admits(socket)) {
      socket.on('error', () => {});
      socket.destroy();
    } else if (this.terminator !== null) this.terminator.accept(socket);
    else this.host.serve(socket, this);
  }

  /** Graceful GOAWAY on every connection; those still open after `graceMs` are closed (CANCEL). */
  drain(graceMs: number): void {
    for (const connection of this.connections) connection.goAway();
    if (this.cancelTimer !== null || !(graceMs >= 0)) return;
    this.cancelTimer = setTimeout(() => {
      this.cancelTimer = null;
      for (const connection of this.connections) connection.close(ErrorCode.CANCEL, 'drained');
    }, graceMs);
    this.cancelTimer.unref();
  }

  /** Stops listening; `onClosed` runs once per listener when it has closed. */
  closeListeners(onClosed: () => void = () => {}): number {
    const listeners = this.listeners.splice(0);
    for (const listener of listeners) listener.close(() => onClosed());
    return listeners.length;
  }

  /** Stops listening and following certificate updates; connections are left to the caller. */
  close(onListenerClosed?: () => void): number {
    this.terminator?.close();
    return this.closeListeners(onListenerClosed);
  }

  /** Called by the server when one of this source's connections has closed. */
  connectionClosed(connection: Http2Connection): void {
    this.connections.delete(connection);
    if (this.connections.size === 0 && this.cancelTimer !== null) {
      clearTimeout(this.cancelTimer);
      this.cancelTimer = null;
    }
  }
}
