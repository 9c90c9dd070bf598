import * as net from 'node:net';
import { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import { type ConnectionOptions, createClientConnection, ErrorCode, type GoAwayFrame, type Http2Connection, type TransportSocket } from '../../transport';
import { ConnectionBackoff } from './backoff';
import type { Dialer, ResolvedChannelOptions } from './channel-options';
import { ConnectivityState } from './connectivity-state';
import type { SecureContextOptions } from './credentials';
import { type Address, formatAddress } from './target';

/** What a subchannel tells its channel. */
export interface SubchannelHost {
  subchannelStateChanged(subchannel: Subchannel): void;
  /** Whether calls are in progress: only then do our sockets keep the process alive (as grpc-js). */
  readonly hasActiveCalls: boolean;
}

/** Sockets keep the process alive only while calls need them: an idle client lets a script exit. */
function setSocketReferenced(socket: { ref?(): unknown; unref?(): unknown } | null, referenced: boolean): void {
  if (socket === null) return;
  if (referenced) socket.ref?.();
  else socket.unref?.();
}

/** How to reach the server (the same for every subchannel of a channel). */
export interface ConnectSettings {
  options: ResolvedChannelOptions;
  secure: SecureContextOptions | null;
  /** TLS server name (SNI and certificate check): the target host or grpc.ssl_target_name_override. */
  serverName: string;
}

/**
 * A list of addresses with at most one connection for new calls (grpc-go's addrConn): connects to
 * the addresses in order until one completes the HTTP/2 handshake, backs off between rounds per
 * gRPC connection backoff, and goes IDLE when its connection drains or closes. pick_first uses one
 * subchannel for all addresses, round_robin one per address.
 */
export class Subchannel {
  state: ConnectivityState = ConnectivityState.IDLE;
  /** The READY connection new calls go to. */
  connection: Http2Connection | null = null;
  /** Why the last attempt failed (for UNAVAILABLE details). */
  lastError = '';
  private readonly backoff: ConnectionBackoff;
  private backoffTimer: NodeJS.Timeout | null = null;
  private attemptSocket: net.Socket | null = null;
  private attemptConnection: Http2Connection | null = null;
  /** Doubled each time a server sends GOAWAY ENHANCE_YOUR_CALM "too_many_pings" (gRFC A8). */
  private keepaliveTimeMs: number;
  private shutDown = false;
  private readonly connections = new Set<Http2Connection>();

  constructor(
    readonly addresses: Address[],
    private readonly settings: ConnectSettings,
    private readonly host: SubchannelHost,
  ) {
    const { options } = settings;
    this.backoff = new ConnectionBackoff({
      initialBackoffMs: options.initialBackoffMs,
      maxBackoffMs: options.maxBackoffMs,
      minConnectTimeoutMs: options.minConnectTimeoutMs,
    });
    this.keepaliveTimeMs = options.keepaliveTimeMs;
  }

  /** Every connection still open: the READY one and those draining their calls. */
  get openConnections(): Iterable<Http2Connection> {
    return this.connections;
  }

  /** Refs or unrefs every socket of this subchannel (calls started, or the last one ended). */
  setReferenced(referenced: boolean): void {
    setSocketReferenced(this.attemptSocket, referenced);
    if (this.attemptConnection !== null) setSocketReferenced(this.attemptConnection.socket as { ref?(): unknown; unref?(): unknown }, referenced);
    for (const connection of this.connections) setSocketReferenced(connection.socket as { ref?(): unknown; unref?(): unknown }, referenced);
  }

  /** Starts connecting if IDLE (a no-op otherwise). */
  connect(): void {
    if (this.state !== ConnectivityState.IDLE || this.shutDown) return;
    this.setState(ConnectivityState.CONNECTING);
    void this.run();
  }

  /**
   * Stops reconnecting and closes the connections: at once (their calls fail), or `graceful`ly
   * (GOAWAY: running calls finish, then each connection closes).
   */
  shutdown(graceful = false): void {
    if (this.shutDown) return;
    this.shutDown = true;
    this.stopTimers();
    for (const connection of this.connections) {
      if (graceful) connection.goAway();
      else connection.close();
    }
    this.connections.clear();
    this.connection = null;
    this.setState(ConnectivityState.SHUTDOWN);
  }

  /** No calls for a while: close the connections (none has a stream) and go IDLE. */
  goIdle(): void {
    if (this.shutDown) return;
    this.stopTimers();
    for (const connection of this.connections) if (connection.stats.streams === 0) connection.close();
    this.connection = null;
    this.backoff.reset();
    this.setState(ConnectivityState.IDLE);
  }

  private stopTimers(): void {
    if (this.backoffTimer !== null) clearTimeout(this.backoffTimer);
    this.backoffTimer = null;
    this.attemptSocket?.destroy();
    this.attemptConnection?.close();
    this.attemptSocket = null;
    this.attemptConnection = null;
  }

  private setState(state: ConnectivityState): void {
    if (this.state === state) return;
    this.state = state;
    this.host.subchannelStateChanged(this);
  }

  /** Rounds of attempts over the addresses until one connects (or the subchannel stops). */
  private async run(): Promise<void> {
    for (;;) {
      const timeout = this.backoff.startAttempt();
      for (const address of this.addresses) {
        if (this.state !== ConnectivityState.CONNECTING && this.state !== ConnectivityState.TRANSIENT_FAILURE) return;
        const connection = await this.attempt(address, timeout);
        if (this.state !== ConnectivityState.CONNECTING && this.state !== ConnectivityState.TRANSIENT_FAILURE) {
          connection?.close();
          return;
        }
        if (connection !== null) {
          this.adopt(connection);
          return;
        }
      }
      // Every address failed: TRANSIENT_FAILURE (sticky until a connection is READY, gRFC A62),
      // and the next round after the backoff.
      this.setState(ConnectivityState.TRANSIENT_FAILURE);
      const wait = this.backoff.failed();
      await new Promise<void>((resolve) => {
        this.backoffTimer = setTimeout(resolve, wait);
        this.backoffTimer.unref();
      });
      this.backoffTimer = null;
    }
  }

  /** One connection attempt: the socket (TCP, Unix or TLS with ALPN h2), then the HTTP/2 handshake. */
  private async attempt(address: Address, timeoutMs: number): Promise<Http2Connection | null> {
    const started = Date.now();
    let socket: TransportSocket;
    try {
      socket = await this.openSocket(address, timeoutMs);
    } catch (error) {
      this.lastError = `${formatAddress(address)}: ${(error as Error).message}`;
      return null;
    }
    if (this.shutDown || (this.state !== ConnectivityState.CONNECTING && this.state !== ConnectivityState.TRANSIENT_FAILURE)) {
      socket.destroy();
      return null;
    }
    const connection = createClientConnection(socket, this.connectionOptions(Math.max(1, timeoutMs - (Date.now() - started))));
    this.attemptConnection = connection;
    try {
      await connection.whenReady();
      // Ready, but already going away (a GOAWAY or a close right behind the SETTINGS): no use.
      if (connection.isDraining || connection.isClosed) throw new Error('the server closed the connection right after the handshake');
      return connection;
    } catch (error) {
      this.lastError = `${formatAddress(address)}: ${(error as Error).message}`;
      connection.close();
      return null;
    } finally {
      this.attemptConnection = null;
    }
  }

  /**
   * The socket for one attempt: TCP, Unix or TLS with ALPN h2; or, with a dialer, the stream it
   * returns (TLS over it for secure credentials).
   */
  private async openSocket(address: Address, timeoutMs: number): Promise<TransportSocket> {
    const secure = this.settings.secure;
    const dialer = this.settings.options.dialer;
    if (dialer === null) {
      const where = 'path' in address ? { path: address.path } : { host: address.host, port: address.port };
      if (secure === null) return this.settle(net.connect(where), 'connect', timeoutMs);
      return this.settle(tls.connect({ ...where, ...this.tlsOptions(secure) }), 'secureConnect', timeoutMs);
    }
    const started = Date.now();
    const dialed = await this.dial(dialer, address, timeoutMs);
    if (secure === null) return dialed;
    try {
      return await this.settle(tls.connect({ socket: dialed, ...this.tlsOptions(secure) }), 'secureConnect', Math.max(1, timeoutMs - (Date.now() - started)));
    } catch (error) {
      dialed.destroy();
      throw error;
    }
  }

  private tlsOptions(secure: SecureContextOptions): tls.ConnectionOptions {
    const serverName = this.settings.serverName;
    return {
      servername: net.isIP(serverName) === 0 ? serverName : undefined,
      ALPNProtocols: ['h2'],
      ca: secure.ca,
      key: secure.key,
      cert: secure.cert,
      rejectUnauthorized: secure.rejectUnauthorized,
      checkServerIdentity: (_host, cert) =>
        secure.checkServerIdentity !== undefined ? secure.checkServerIdentity(serverName, cert) : tls.checkServerIdentity(serverName, cert),
    };
  }

  /** The dialer's stream, within the attempt's time; one that comes too late is destroyed. */
  private dial(dialer: Dialer, address: Address, timeoutMs: number): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        settled = true;
        reject(new Error(`connection attempt timed out after ${timeoutMs} ms (dialer)`));
      }, timeoutMs);
      timer.unref();
      new Promise<Duplex>((dialed) => dialed(dialer(formatAddress(address)))).then(
        (stream) => {
          const valid = stream instanceof Duplex;
          if (settled) {
            if (valid) stream.destroy();
            return;
          }
          settled = true;
          clearTimeout(timer);
          if (!valid) reject(new TypeError('the h2grpc.dialer did not return a Duplex stream'));
          else if (stream.destroyed) reject(new Error('the h2grpc.dialer returned a destroyed stream'));
          else resolve(stream);
        },
        (error: unknown) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          reject(error instanceof Error ? error : new Error(`h2grpc.dialer failed: ${String(error)}`));
        },
      );
    });
  }

  /** Resolves with the socket once `event` (connect, secureConnect) comes; fails on error or after the timeout. */
  private settle(socket: net.Socket, event: 'connect' | 'secureConnect', timeoutMs: number): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const secure = event === 'secureConnect';
      this.attemptSocket = socket;
      if (!this.host.hasActiveCalls) setSocketReferenced(socket as { ref?(): unknown; unref?(): unknown }, false);
      const timer = setTimeout(() => fail(new Error(`connection attempt timed out after ${timeoutMs} ms`)), timeoutMs);
      timer.unref();
      const fail = (error: Error): void => {
        clearTimeout(timer);
        socket.off(event, succeed);
        socket.on('error', () => {});
        socket.destroy();
        if (this.attemptSocket === socket) this.attemptSocket = null;
        reject(error);
      };
      const succeed = (): void => {
        clearTimeout(timer);
        socket.off('error', fail);
        if (this.attemptSocket === socket) this.attemptSocket = null;
        if (secure && (socket as tls.TLSSocket).alpnProtocol !== 'h2') {
          fail(new Error('the server did not negotiate HTTP/2 (ALPN h2)'));
          return;
        }
        resolve(socket);
      };
      socket.once(event, succeed);
      socket.once('error', fail);
    });
  }

  private connectionOptions(handshakeTimeoutMs: number): ConnectionOptions {
    const { options } = this.settings;
    const transport = options.transport;
    return {
      ...transport,
      lifecycle: {
        ...transport.lifecycle,
        handshakeTimeoutMs,
        keepaliveTimeMs: this.keepaliveTimeMs,
        keepaliveTimeoutMs: options.keepaliveTimeoutMs,
        permitPingsWithoutCalls: options.keepalivePermitWithoutCalls,
      },
    };
  }

  private adopt(connection: Http2Connection): void {
    this.backoff.reset();
    this.connections.add(connection);
    this.connection = connection;
    connection.once('draining', () => this.connectionLost(connection));
    connection.on('goaway', (frame: GoAwayFrame) => this.onGoAway(frame));
    connection.once('close', () => {
      this.connections.delete(connection);
      this.connectionLost(connection);
    });
    this.setState(ConnectivityState.READY);
  }

  private onGoAway(frame: GoAwayFrame): void {
    if (frame.errorCode === ErrorCode.ENHANCE_YOUR_CALM && frame.debugData.toString('latin1') === 'too_many_pings') {
      // The server finds our keepalive too frequent: double the interval for the next connections.
      this.keepaliveTimeMs = Math.min(this.keepaliveTimeMs * 2, 2 ** 31 - 1);
    }
  }

  /** The READY connection takes no new calls (GOAWAY, closed, out of ids): IDLE until asked again. */
  private connectionLost(connection: Http2Connection): void {
    if (this.connection !== connection || this.shutDown) return;
    this.connection = null;
    this.setState(ConnectivityState.IDLE);
  }
}
