import { createSecureContext, type SecureContextOptions, type TlsOptions } from 'node:tls';

/** A private key and its certificate chain, both PEM (grpc-js's KeyCertPair). */
export interface KeyCertPair {
  private_key: Buffer;
  cert_chain: Buffer;
}

/** Called with a server's new TLS context options, or null while none are usable (grpc-js's shape). */
export type SecureContextWatcher = (context: SecureContextOptions | null) => void;

/**
 * The members of a server credentials object a server uses: ours and grpc-js's ServerCredentials
 * both have them (grpc-js's are underscore-prefixed but public), so either kind can be passed
 * to bindAsync() and createConnectionInjector().
 */
export interface ServerCredentialsLike {
  _isSecure(): boolean;
  _getConstructorOptions(): TlsOptions | null;
  _getSecureContextOptions(): SecureContextOptions | null;
  _addWatcher(watcher: SecureContextWatcher): void;
  _removeWatcher(watcher: SecureContextWatcher): void;
  _equals(other: ServerCredentialsLike): boolean;
  _getInterceptors?(): unknown[];
}

/** Whether `value` can serve as server credentials (ours or grpc-js's); `{}` and null cannot. @internal */
export function isServerCredentials(value: unknown): value is ServerCredentialsLike {
  if (value instanceof ServerCredentials) return true;
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<Record<keyof ServerCredentialsLike, unknown>>;
  return (
    typeof candidate._isSecure === 'function' &&
    typeof candidate._getConstructorOptions === 'function' &&
    typeof candidate._getSecureContextOptions === 'function' &&
    typeof candidate._addWatcher === 'function' &&
    typeof candidate._removeWatcher === 'function' &&
    typeof candidate._equals === 'function'
  );
}

/** Checks createSsl()'s certificate arguments as grpc-js does and returns the TLS context options. */
function secureContextOptions(rootCerts: Buffer | null, keyCertPairs: KeyCertPair[]): SecureContextOptions {
  if (rootCerts !== null && !Buffer.isBuffer(rootCerts)) throw new TypeError('rootCerts must be null or a Buffer');
  if (!Array.isArray(keyCertPairs)) throw new TypeError('keyCertPairs must be an array');
  const cert: Buffer[] = [];
  const key: Buffer[] = [];
  keyCertPairs.forEach((pair: unknown, index) => {
    if (pair === null || typeof pair !== 'object') throw new TypeError(`keyCertPair[${index}] must be an object`);
    const { private_key: privateKey, cert_chain: certChain } = pair as Partial<KeyCertPair>;
    if (!Buffer.isBuffer(privateKey)) throw new TypeError(`keyCertPair[${index}].private_key must be a Buffer`);
    if (!Buffer.isBuffer(certChain)) throw new TypeError(`keyCertPair[${index}].cert_chain must be a Buffer`);
    cert.push(certChain);
    key.push(privateKey);
  });
  // No rootCerts: Node's bundled root CAs verify client certificates (grpc-js: the default roots).
  return { ca: rootCerts ?? undefined, cert, key };
}

function sameBuffers(a: unknown, b: unknown): boolean {
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, index) => sameBuffers(item, b[index]));
  return a === b;
}

/**
 * How a server secures its connections: `createInsecure()` (plaintext HTTP/2) or `createSsl()`
 * (TLS with ALPN "h2", optionally requiring client certificates). grpc-js's ServerCredentials
 * objects are accepted wherever these are.
 *
 * Certificates can be replaced while the server runs with {@link ServerCredentials.updateSecureContext}:
 * new connections use the new ones, connections already open keep theirs.
 */
export class ServerCredentials {
  private readonly watchers = new Set<SecureContextWatcher>();

  private constructor(
    private readonly constructorOptions: TlsOptions | null,
    private contextOptions: SecureContextOptions | null,
  ) {}

  /** Plaintext HTTP/2 (h2c). */
  static createInsecure(): ServerCredentials {
    return new ServerCredentials(null, null);
  }

  /**
   * TLS, as grpc-js's createSsl: `rootCerts` (PEM) verify client certificates (null: Node's root
   * CAs), `keyCertPairs` are the server's identities, and with `checkClientCertificate` a client
   * must present a certificate signed by `rootCerts` or its handshake is refused. ALPN "h2" is
   * advertised and required.
   */
  static createSsl(rootCerts: Buffer | null, keyCertPairs: KeyCertPair[], checkClientCertificate = false): ServerCredentials {
    if (rootCerts !== null && !Buffer.isBuffer(rootCerts)) throw new TypeError('rootCerts must be null or a Buffer');
    if (!Array.isArray(keyCertPairs)) throw new TypeError('keyCertPairs must be an array');
    if (typeof checkClientCertificate !== 'boolean') throw new TypeError('checkClientCertificate must be a boolean');
    return new ServerCredentials({ requestCert: checkClientCertificate }, secureContextOptions(rootCerts, keyCertPairs));
  }

  /**
   * Replaces the certificates of TLS credentials (same arguments as createSsl's first two, same
   * checks): every server and injector using these credentials serves new connections with them;
   * connections already open are not affected. Throws on insecure credentials, and (leaving the
   * old certificates in place) when Node rejects the new ones.
   */
  updateSecureContext(rootCerts: Buffer | null, keyCertPairs: KeyCertPair[]): void {
    if (this.constructorOptions === null) throw new Error('Insecure credentials have no certificates to update');
    const options = secureContextOptions(rootCerts, keyCertPairs);
    // Throws here (a key that does not match its certificate, bad PEM) before anything changes.
    createSecureContext(options);
    this.contextOptions = options;
    for (const watcher of this.watchers) watcher(options);
  }

  /** Used by the server (grpc-js's ServerCredentials member of the same name). */
  _isSecure(): boolean {
    return this.constructorOptions !== null;
  }

  /** Used by the server (grpc-js's ServerCredentials member of the same name). */
  _getConstructorOptions(): TlsOptions | null {
    return this.constructorOptions;
  }

  /** Used by the server (grpc-js's ServerCredentials member of the same name). */
  _getSecureContextOptions(): SecureContextOptions | null {
    return this.contextOptions;
  }

  /** Used by the server (grpc-js's ServerCredentials member of the same name). */
  _addWatcher(watcher: SecureContextWatcher): void {
    this.watchers.add(watcher);
  }

  /** Used by the server (grpc-js's ServerCredentials member of the same name). */
  _removeWatcher(watcher: SecureContextWatcher): void {
    this.watchers.delete(watcher);
  }

  /** Used by the server (grpc-js's ServerCredentials member of the same name). */
  _getInterceptors(): unknown[] {
    return [];
  }

  /** Whether `other` would secure a port the same way (bindAsync on a bound port compares them). */
  _equals(other: ServerCredentialsLike): boolean {
    if (this === other) return true;
    if (!(other instanceof ServerCredentials)) return false;
    const a = this.constructorOptions;
    const b = other.constructorOptions;
    if (a === null || b === null) return a === b;
    const mine = this.contextOptions ?? {};
    const theirs = other.contextOptions ?? {};
    return a.requestCert === b.requestCert && sameBuffers(mine.ca, theirs.ca) && sameBuffers(mine.cert, theirs.cert) && sameBuffers(mine.key, theirs.key);
  }
}
