import { constants as bufferConstants } from 'node:buffer';
import * as zlib from 'node:zlib';

const MAX_LENGTH = bufferConstants.MAX_LENGTH;

/** Message encodings we speak (PROTOCOL-HTTP2.md "Message-Encoding"). */
export type Encoding = 'identity' | 'gzip' | 'deflate';
export const SUPPORTED_ENCODINGS: readonly Encoding[] = ['identity', 'deflate', 'gzip'];
export const ACCEPT_ENCODING_VALUE = SUPPORTED_ENCODINGS.join(',');

export function isSupportedEncoding(name: string): name is Encoding {
  return name === 'identity' || name === 'gzip' || name === 'deflate';
}

export class MessageTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`decompressed message larger than ${limit} bytes`);
  }
}

/**
 * Inflates one message. The limit is enforced by zlib while inflating (maxOutputLength), so a
 * zip bomb stops at `maxSize` bytes instead of being inflated whole. Throws MessageTooLargeError
 * past the limit, or zlib's error for corrupt input.
 */
export function decompress(encoding: Encoding, data: Buffer, maxSize: number): Buffer {
  if (encoding === 'identity') return data;
  const options = { maxOutputLength: Math.max(1, Math.min(maxSize + 1, MAX_LENGTH)) };
  let result: Buffer;
  try {
    result = encoding === 'gzip' ? zlib.gunzipSync(data, options) : zlib.inflateSync(data, options);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw new MessageTooLargeError(maxSize);
    throw error;
  }
  if (result.length > maxSize) throw new MessageTooLargeError(maxSize);
  return result;
}

export function compress(encoding: Encoding, data: Buffer): Buffer {
  switch (encoding) {
    case 'gzip':
      return zlib.gzipSync(data);
    case 'deflate':
      return zlib.deflateSync(data);
    default:
      return data;
  }
}

/**
 * The response encoding for a client's grpc-accept-encoding: `preferred` if the client lists it
 * (entries trimmed, as the spec allows spaces after commas), else identity.
 */
export function negotiateEncoding(acceptEncoding: string | undefined, preferred: Encoding): Encoding {
  if (preferred === 'identity' || acceptEncoding === undefined) return 'identity';
  const accepted = acceptEncoding.split(',').map((part) => part.trim());
  return accepted.includes(preferred) ? preferred : 'identity';
}

/** grpc-js's compressionAlgorithms: the values of 'grpc.default_compression_algorithm'. */
export enum CompressionAlgorithms {
  identity = 0,
  deflate = 1,
  gzip = 2,
}
