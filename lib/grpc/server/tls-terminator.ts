import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import { type ClientHelloVerdict, clientHelloBytesWanted, inspectClientHello, MAX_CLIENT_HELLO_BYTES, NO_APPLICATION_PROTOCOL_ALERT } from './client-hello';
import type { SecureContextWatcher, ServerCredentialsLike } from './server-credentials';

/** How long a refused client may take to close after our alert. */
const ALERT_LINGER_MS = 1000;

/** What a TlsTerminator needs from its server. */
export interface TlsTerminatorOptions {
  /** How long a client has to send its ClientHello and finish the handshake (ms). */
  handshakeTimeoutMs: number;
  /** A handshake completed with ALPN "h2": serve HTTP/2 on the socket. */
  onSecureSocket(socket: tls.TLSSocket): void;
}

/**
 * Turns raw connections into TLS ones for one set of secure credentials (node:tls does the TLS;
 * HTTP/2 stays ours). A client must offer ALPN "h2": one that does not is answered with a fatal
 * no_application_protocol alert before its handshake. The credentials' watcher swaps the
 * certificates for new connections (setSecureContext); while credentials have no certificates
 * (a grpc-js certificate provider still loading) connections are dropped, as grpc-js does.
 */
export class TlsTerminator {
  private readonly server: tls.Server;
  private usable: boolean;
  private readonly watcher: SecureContextWatcher = (context) => {
    this.usable = false;
    if (context === null) return;
    try {
      this.server.setSecureContext(context);
      this.usable = true;
    } catch {
      // Unusable certificates: refuse connections until good ones arrive (as grpc-js).
    }
  };

  constructor(
    private readonly credentials: ServerCredentialsLike,
    private readonly options: TlsTerminatorOptions,
  ) {
    const context = credentials._getSecureContextOptions();
    this.server = tls.createServer({
      ...credentials._getConstructorOptions(),
      ...context,
      ALPNProtocols: ['h2'],
      handshakeTimeout: options.handshakeTimeoutMs,
    });
    this.usable = context !== null;
    this.server.on('secureConnection', (socket: tls.TLSSocket) => {
      // Handshake errors after this point must not crash the process; 'close' follows them.
      socket.on('error', () => {});
      if (socket.alpnProtocol !== 'h2') socket.destroy();
      else options.onSecureSocket(socket);
    });
    // A failed handshake. node:tls closes the socket after a TLS error (no client certificate,
    // bad alert) but not after its handshake timeout: a client that sent a whole ClientHello and
    // then nothing would be kept forever.
    this.server.on('tlsClientError', (_error: Error, socket: tls.TLSSocket) => socket.destroy());
    credentials._addWatcher(this.watcher);
  }

  /** Runs a TLS handshake on a raw connection (a net.Socket or any Duplex). */
  accept(socket: Duplex): void {
    socket.on('error', () => {});
    if (!this.usable) {
      socket.destroy();
      return;
    }
    // Chunks are joined and judged only once enough bytes arrived to change the verdict.
    let chunks: Buffer[] = [];
    let bufferedLength = 0;
    let wanted = 1;
    const timer = setTimeout(() => finish('timeout'), this.options.handshakeTimeoutMs);
    timer.unref();
    const finish = (outcome: 'pass' | 'refuse' | 'timeout') => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      if (outcome === 'pass') {
        socket.pause();
        if (bufferedLength > 0) socket.unshift(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
        this.server.emit('connection', socket);
      } else if (outcome === 'refuse') {
        socket.end(NO_APPLICATION_PROTOCOL_ALERT);
        // A client that keeps its side open after the alert is cut off.
        setTimeout(() => socket.destroy(), ALERT_LINGER_MS).unref();
      } else {
        socket.destroy();
      }
    };
    const onClose = () => finish('timeout');
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      bufferedLength += chunk.length;
      let verdict: ClientHelloVerdict = 'notTls';
      if (bufferedLength <= MAX_CLIENT_HELLO_BYTES + 1024) {
        if (bufferedLength < wanted) return;
        const buffered = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
        chunks = [buffered];
        verdict = inspectClientHello(buffered);
        if (verdict === 'incomplete') {
          wanted = clientHelloBytesWanted(buffered);
          return;
        }
      }
      // Not TLS: node:tls answers it with its own alert.
      finish(verdict === 'noH2' ? 'refuse' : 'pass');
    };
    socket.on('data', onData);
    socket.on('close', onClose);
  }

  /** Stops following the credentials' certificate updates. */
  close(): void {
    this.credentials._removeWatcher(this.watcher);
  }
}
