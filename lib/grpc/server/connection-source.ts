import type { Server as NetServer } from 'node:net';
import type { Duplex } from 'node:stream';
import { ErrorCode, type Http2Connection, type TransportSocket } from '../../transport';
import type { ServerCredentialsLike } from './server-credentials';
import { TlsTerminator } from './tls-terminator';

/** What a ConnectionSource needs from its server. */
export interface SourceHost {
  /** Whether the server may take one more connection (checked before a TLS handshake). */
  hasRoom(): boolean;
  /** Serves HTTP/2 on a socket ready for it (plaintext, or after the TLS handshake); null: refused. */
  accept(socket: TransportSocket): Http2Connection | null;
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
          onSecureSocket: (socket) => this.track(host.accept(socket)),
        })
      : null;
  }

  /** A new raw connection (accepted by a listener, or injected). */
  admit(socket: Duplex): void {
    if (this.terminator === null) this.track(this.host.accept(socket));
    else if (this.host.hasRoom()) this.terminator.accept(socket);
    else {
      // No handshake for a connection that would be refused after it.
      socket.on('error', () => {});
      socket.destroy();
    }
  }

  private track(connection: Http2Connection | null): void {
    if (connection === null) return;
    this.connections.add(connection);
    connection.once('close', () => this.connectionClosed(connection));
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

  private connectionClosed(connection: Http2Connection): void {
    this.connections.delete(connection);
    if (this.connections.size === 0 && this.cancelTimer !== null) {
      clearTimeout(this.cancelTimer);
      this.cancelTimer = null;
    }
  }
}
