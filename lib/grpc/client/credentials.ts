import type { PeerCertificate } from 'node:tls';
import { Metadata, toMetadata } from '../metadata';

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

/** What a metadata generator is told about the call (grpc-js's CallMetadataOptions). */
export interface CallMetadataOptions {
  /** The method's full path, "/package.Service/Method". */
  method_name: string;
  /** "https://<host>/<package.Service>", the audience of a token. */
  service_url: string;
}

/** grpc-js's CallMetadataGenerator: calls back with the metadata to add to a call, or an error. */
export type CallMetadataGenerator = (options: CallMetadataOptions, callback: (error: Error | null, metadata?: Metadata) => void) => void;

/** A google-auth-library OAuth2 client (current or pre-2.0 API), for createFromGoogleCredential. */
export type OAuth2Client =
  | { getRequestHeaders: (url?: string) => Promise<{ [name: string]: string }> }
  | { getRequestMetadata: (url: string, callback: (error: Error | null, headers?: { [name: string]: string }) => void) => void };

/**
 * Metadata added to each call (grpc-js's CallCredentials), typically an auth token: built from one
 * or more generators, run before each call is sent; their metadata is merged in order. A generator
 * that fails fails the call (UNKNOWN, or the numeric `code` of its error, with its message).
 */
export class CallCredentials {
  private constructor(private readonly generators: readonly CallMetadataGenerator[]) {}

  /** Credentials from a function that produces the metadata for each call. */
  static createFromMetadataGenerator(metadataGenerator: CallMetadataGenerator): CallCredentials {
    if (typeof metadataGenerator !== 'function') throw new TypeError('createFromMetadataGenerator takes a function');
    return new CallCredentials([metadataGenerator]);
  }

  /** Credentials from a google-auth-library client: its request headers become metadata. */
  static createFromGoogleCredential(googleCredentials: OAuth2Client): CallCredentials {
    return CallCredentials.createFromMetadataGenerator((options, callback) => {
      const headers =
        'getRequestHeaders' in googleCredentials
          ? googleCredentials.getRequestHeaders(options.service_url)
          : new Promise<{ [name: string]: string }>((resolve, reject) =>
              googleCredentials.getRequestMetadata(options.service_url, (error, result) =>
                error ? reject(error) : result ? resolve(result) : reject(new Error('Headers not set by metadata plugin')),
              ),
            );
      headers.then(
        (result) => {
          const metadata = new Metadata();
          for (const key of Object.keys(result)) metadata.add(key, result[key]);
          callback(null, metadata);
        },
        (error: Error) => callback(error),
      );
    });
  }

  /** Credentials that add nothing. */
  static createEmpty(): CallCredentials {
    return EMPTY_CALL_CREDENTIALS;
  }

  /** Credentials that add this one's metadata, then `other`'s. */
  compose(other: CallCredentials): CallCredentials {
    if (!(other instanceof CallCredentials)) throw new TypeError('compose() takes CallCredentials');
    if (other.generators.length === 0) return this;
    if (this.generators.length === 0) return other;
    return new CallCredentials([...this.generators, ...other.generators]);
  }

  /** Runs every generator (at once) and merges their metadata in order. */
  async generateMetadata(options: CallMetadataOptions): Promise<Metadata> {
    const generated = await Promise.all(this.generators.map((generator) => runGenerator(generator, options)));
    const merged = new Metadata();
    for (const metadata of generated) merged.merge(metadata);
    return merged;
  }

  /** Whether both add the same metadata (the same generators in the same order). */
  _equals(other: CallCredentials): boolean {
    return (
      other === this ||
      (other.generators.length === this.generators.length && other.generators.every((generator, index) => generator === this.generators[index]))
    );
  }

  /** @internal Whether there is nothing to generate. */
  get isEmpty(): boolean {
    return this.generators.length === 0;
  }
}

const EMPTY_CALL_CREDENTIALS = new (CallCredentials as unknown as new (generators: CallMetadataGenerator[]) => CallCredentials)([]);

function runGenerator(generator: CallMetadataGenerator, options: CallMetadataOptions): Promise<Metadata> {
  return new Promise<Metadata>((resolve, reject) => {
    generator(options, (error, metadata) => {
      // grpc-js: the metadata wins when both are given; an error without metadata fails the call.
      if (metadata !== undefined && metadata !== null) {
        const converted = toMetadata(metadata);
        if (converted === null) reject(new TypeError('the metadata generator gave something that is not Metadata'));
        else resolve(converted);
      } else {
        reject(error ?? new Error('the metadata generator gave neither metadata nor an error'));
      }
    });
  });
}

/**
 * How a channel secures its connections, as grpc-js's ChannelCredentials: insecure (plain TCP,
 * scheme http) or TLS (ALPN h2, scheme https).
 */
export class ChannelCredentials {
  private constructor(
    /** @internal null: insecure. */
    readonly secureContext: SecureContextOptions | null,
    /** @internal Added to every call of channels made with these credentials (compose()). */
    readonly callCredentials: CallCredentials | null = null,
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

  /**
   * These credentials plus call credentials added to every call. Insecure credentials refuse (as
   * grpc-js does: a token must not travel in clear text); use per-call `CallOptions.credentials`
   * to send call credentials over a plain-text channel on purpose.
   */
  compose(callCredentials: CallCredentials): ChannelCredentials {
    if (!(callCredentials instanceof CallCredentials)) throw new TypeError('compose() takes CallCredentials');
    if (this.secureContext === null) throw new Error('Cannot compose insecure credentials');
    const combined = this.callCredentials === null ? callCredentials : this.callCredentials.compose(callCredentials);
    return new ChannelCredentials(this.secureContext, combined);
  }
}

/** grpc-js's `credentials` namespace. */
export const credentials = {
  createInsecure: (): ChannelCredentials => ChannelCredentials.createInsecure(),
  createSsl: (rootCerts?: Buffer | null, privateKey?: Buffer | null, certChain?: Buffer | null, verifyOptions?: VerifyOptions): ChannelCredentials =>
    ChannelCredentials.createSsl(rootCerts, privateKey, certChain, verifyOptions),
  createFromMetadataGenerator: (generator: CallMetadataGenerator): CallCredentials => CallCredentials.createFromMetadataGenerator(generator),
  createFromGoogleCredential: (googleCredentials: OAuth2Client): CallCredentials => CallCredentials.createFromGoogleCredential(googleCredentials),
  createEmpty: (): CallCredentials => CallCredentials.createEmpty(),
  /** Channel credentials plus call credentials for every call (secure channel credentials only). */
  combineChannelCredentials: (channelCredentials: ChannelCredentials, ...callCredentials: CallCredentials[]): ChannelCredentials =>
    callCredentials.reduce((combined, next) => combined.compose(next), channelCredentials),
  /** Call credentials that add each one's metadata in order. */
  combineCallCredentials: (first: CallCredentials, ...rest: CallCredentials[]): CallCredentials =>
    rest.reduce((combined, next) => combined.compose(next), first),
};
