import { constants as bufferConstants } from 'node:buffer';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { Code, ConnectError } from '@connectrpc/connect';
import type { Compression } from '@connectrpc/connect/protocol';

type ZlibFunction = (input: Uint8Array, options: zlib.ZlibOptions | zlib.BrotliOptions) => Promise<Buffer>;

const gzip: ZlibFunction = promisify(zlib.gzip);
const gunzip: ZlibFunction = promisify(zlib.gunzip);
const brotliCompress: ZlibFunction = promisify(zlib.brotliCompress);
const brotliDecompress: ZlibFunction = promisify(zlib.brotliDecompress);

/**
 * A Connect `Compression` on node:zlib. Decompression stops at `readMaxBytes` of output (zlib's
 * maxOutputLength), so a small compressed bomb cannot inflate past the router's message limit.
 */
function zlibCompression(name: string, compress: ZlibFunction, decompress: ZlibFunction): Compression {
  return {
    name,
    compress: (bytes) => compress(bytes, {}).then(ownArrayBuffer),
    decompress(bytes, readMaxBytes) {
      if (bytes.length === 0) return Promise.resolve(new Uint8Array(0));
      const maxOutputLength = Math.min(readMaxBytes, bufferConstants.MAX_LENGTH);
      return decompress(bytes, { maxOutputLength }).then(ownArrayBuffer, (error: unknown) => {
        throw decompressionError(error, readMaxBytes);
      });
    },
  };
}

/** Connect's Compression promises a Uint8Array over a plain ArrayBuffer (zlib's results are). */
function ownArrayBuffer(bytes: Buffer): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
}

/** A message over the limit is ResourceExhausted; corrupt input is InvalidArgument; anything else Internal. */
function decompressionError(error: unknown, readMaxBytes: number): ConnectError {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
  if (code === 'ERR_BUFFER_TOO_LARGE')
    return new ConnectError(`message is larger than readMaxBytes ${readMaxBytes} after decompression`, Code.ResourceExhausted, undefined, undefined, error);
  const corrupt = code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR' || code.startsWith('ERR__ERROR_FORMAT_') || code === 'ERR_PADDING_2';
  return new ConnectError('decompression failed', corrupt ? Code.InvalidArgument : Code.Internal, undefined, undefined, error);
}

/** gzip for a Connect router's `acceptCompression` (node:zlib). */
export const compressionGzip: Compression = zlibCompression('gzip', gzip, gunzip);

/** Brotli ("br") for a Connect router's `acceptCompression` (node:zlib). */
export const compressionBrotli: Compression = zlibCompression('br', brotliCompress, brotliDecompress);
