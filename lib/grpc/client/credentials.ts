import type { PeerCertificate } from 'node:tls';

/** grpc-js's VerifyOptions for createSsl(). */
export interface VerifyOptions {
  /** Replaces the default server identity check; return an Error to reject the certificate. */
  checkServerIdentity?: (hostname: string, cert: PeerCertificate) => Error | undefined;
  /** Whether to reject a certificate chain that does not verify against the roots. Default true. */
  rejectUnauthorized?: boolean;
}

/** What a channel needs to open its TLS connections. */
export interface SecureContextOptions {
  ca?: Buffer;
  key?: Buffer;
  cert?: Buffer;
  checkServerIdentity?: (hostname: string, cert: PeerCertificate) => Error | undefined;
  rejectUnauthorized: boolean;
}

/**
 * How a channel secures its connections, as grpc-js's ChannelCredentials: insecure (plain TCP,
 * scheme http) or TLS (ALPN h2, scheme https).
 */
export class ChannelCredentials {
  private constructor(
    /** @internal null: insecure. */
    readonly secureContext: SecureContextOptions | null,
  ) {}

  /** Plain-text HTTP/2 (h2c). */
  static createInsecure(): ChannelCredentials {
    return new ChannelCredentials(null);
  }

  /**
   * TLS: `rootCerts` replaces the default trusted roots when given; `privateKey` and `certChain`
   * (both or neither) authenticate the client.
   */
  static createSsl(rootCerts?: Buffer | null, privateKey?: Buffer | null, certChain?: Buffer | null, verifyOptions?: VerifyOptions): ChannelCredentials {
    if (rootCerts != null && !Buffer.isBuffer(rootCerts)) throw new TypeError('rootCerts must be a Buffer');
    if (privateKey != null && !Buffer.isBuffer(privateKey)) throw new TypeError('privateKey must be a Buffer');
    if (certChain != null && !Buffer.isBuffer(certChain)) throw new TypeError('certChain must be a Buffer');
    if ((privateKey == null) !== (certChain == null)) throw new Error('privateKey and certChain must be given together');
    return new ChannelCredentials({
      ca: rootCerts ?? undefined,
      key: privateKey ?? undefined,
      cert: certChain ?? undefined,
      checkServerIdentity: verifyOptions?.checkServerIdentity,
      rejectUnauthorized: verifyOptions?.rejectUnauthorized ?? true,
    });
  }

  /** Whether connections use TLS. */
  _isSecure(): boolean {
    return this.secureContext !== null;
  }

  /** Call credentials are not supported yet. */
  compose(): never {
    throw new Error('call credentials are not supported yet');
  }
}

/** grpc-js's `credentials` namespace: the parts implemented so far. */
export const credentials = {
  createInsecure: (): ChannelCredentials => ChannelCredentials.createInsecure(),
  createSsl: (rootCerts?: Buffer | null, privateKey?: Buffer | null, certChain?: Buffer | null, verifyOptions?: VerifyOptions): ChannelCredentials =>
    ChannelCredentials.createSsl(rootCerts, privateKey, certChain, verifyOptions),
  createFromMetadataGenerator: (): never => {
    throw new Error('call credentials (createFromMetadataGenerator) are not supported yet');
  },
  combineChannelCredentials: (): never => {
    throw new Error('call credentials (combineChannelCredentials) are not supported yet');
  },
  combineCallCredentials: (): never => {
    throw new Error('call credentials (combineCallCredentials) are not supported yet');
  },
};
