import { expect } from 'chai';
import * as zlib from 'node:zlib';
import {
  ACCEPT_ENCODING_VALUE,
  compress,
  decompress,
  isSupportedEncoding,
  MessageTooLargeError,
  negotiateEncoding,
  SUPPORTED_ENCODINGS,
  type Encoding,
} from '../../lib/grpc/compression';

const MiB = 1024 * 1024;

/** Mutable view of node:zlib's sync inflaters, to observe what compression.ts asks of them. */
const zlibModule = require('node:zlib') as { gunzipSync: typeof zlib.gunzipSync; inflateSync: typeof zlib.inflateSync };

interface ZlibCall {
  maxOutputLength: number | undefined;
  /** What zlib itself did: returned this many bytes, or threw this error code. */
  outcome: { returned: number } | { threw: string | undefined };
}

/** Runs `action` with gunzipSync/inflateSync wrapped to record each call's options and outcome. */
function observeZlib(action: () => void): ZlibCall[] {
  const calls: ZlibCall[] = [];
  const original = { gunzipSync: zlibModule.gunzipSync, inflateSync: zlibModule.inflateSync };
  const wrap =
    (inflate: (buffer: zlib.InputType, options?: zlib.ZlibOptions) => Buffer) =>
    (buffer: zlib.InputType, options?: zlib.ZlibOptions): Buffer => {
      const call: ZlibCall = { maxOutputLength: options?.maxOutputLength, outcome: { threw: 'pending' } };
      calls.push(call);
      try {
        const result = inflate(buffer, options);
        call.outcome = { returned: result.length };
        return result;
      } catch (error) {
        call.outcome = { threw: (error as NodeJS.ErrnoException).code };
        throw error;
      }
    };
  zlibModule.gunzipSync = wrap(original.gunzipSync) as typeof zlib.gunzipSync;
  zlibModule.inflateSync = wrap(original.inflateSync) as typeof zlib.inflateSync;
  try {
    action();
  } finally {
    zlibModule.gunzipSync = original.gunzipSync;
    zlibModule.inflateSync = original.inflateSync;
  }
  return calls;
}

function thrownBy(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  expect.fail('expected an error');
}

describe('message compression', () => {
  const sample = Buffer.from('hello hello hello hello, compressible text '.repeat(50));

  describe('compress / decompress', () => {
    for (const encoding of ['gzip', 'deflate'] as const) {
      it(`${encoding} round-trips, producing a real ${encoding} stream`, () => {
        const compressed = compress(encoding, sample);
        expect(compressed.length).to.be.below(sample.length);
        // Independently readable by zlib: gzip has its 1f 8b magic, deflate is zlib-wrapped (RFC 1950).
        const inflated = encoding === 'gzip' ? zlib.gunzipSync(compressed) : zlib.inflateSync(compressed);
        expect(inflated).to.deep.equal(sample);
        expect(decompress(encoding, compressed, MiB)).to.deep.equal(sample);
      });

      it(`${encoding} round-trips an empty message`, () => {
        expect(decompress(encoding, compress(encoding, Buffer.alloc(0)), 0)).to.deep.equal(Buffer.alloc(0));
      });

      it(`${encoding} decompresses a message exactly at the limit and rejects one byte more`, () => {
        const data = Buffer.alloc(1000, 7);
        expect(decompress(encoding, compress(encoding, data), 1000)).to.deep.equal(data);
        const error = thrownBy(() => decompress(encoding, compress(encoding, Buffer.alloc(1001, 7)), 1000));
        expect(error).to.be.instanceOf(MessageTooLargeError);
        expect((error as MessageTooLargeError).limit).to.equal(1000);
      });

      it(`${encoding}: corrupt input throws an error that is not MessageTooLargeError`, () => {
        const corrupt = Buffer.from(compress(encoding, sample));
        corrupt[Math.floor(corrupt.length / 2)] ^= 0xff;
        for (const input of [Buffer.from('definitely not compressed'), corrupt, compress(encoding, sample).subarray(0, 10)]) {
          const error = thrownBy(() => decompress(encoding, input, MiB));
          expect(error).to.be.instanceOf(Error);
          expect(error).to.not.be.instanceOf(MessageTooLargeError);
        }
      });
    }

    it('identity passes data through untouched (same Buffer) both ways', () => {
      expect(compress('identity', sample)).to.equal(sample);
      expect(decompress('identity', sample, MiB)).to.equal(sample);
    });

    it('does not mix up the formats: gzip data is not inflated as deflate', () => {
      const error = thrownBy(() => decompress('deflate', compress('gzip', sample), MiB));
      expect(error).to.not.be.instanceOf(MessageTooLargeError);
    });
  });

  describe('decompression bombs', () => {
    const limit = 4 * MiB;
    const zeros = Buffer.alloc(10 * MiB);
    const bombs: Record<'gzip' | 'deflate', Buffer> = { gzip: zlib.gzipSync(zeros), deflate: zlib.deflateSync(zeros) };

    for (const encoding of ['gzip', 'deflate'] as const) {
      it(`${encoding}: a 10 MiB-of-zeros bomb with a 4 MiB limit throws MessageTooLargeError`, () => {
        expect(bombs[encoding].length).to.be.below(64 * 1024);
        const error = thrownBy(() => decompress(encoding, bombs[encoding], limit));
        expect(error).to.be.instanceOf(MessageTooLargeError);
        expect((error as MessageTooLargeError).limit).to.equal(limit);
      });

      it(`${encoding}: zlib is asked for at most limit+1 bytes and stops there instead of inflating everything`, () => {
        const calls = observeZlib(() => {
          expect(thrownBy(() => decompress(encoding, bombs[encoding], limit))).to.be.instanceOf(MessageTooLargeError);
        });
        expect(calls).to.have.length(1);
        expect(calls[0]!.maxOutputLength).to.be.a('number');
        expect(calls[0]!.maxOutputLength!).to.be.at.most(limit + 1);
        expect(calls[0]!.maxOutputLength!).to.be.at.least(limit);
        // zlib itself gave up (it never returned a 10 MiB buffer for us to measure afterwards).
        expect(calls[0]!.outcome).to.deep.equal({ threw: 'ERR_BUFFER_TOO_LARGE' });
      });
    }

    it('a limit of 0 still inflates an empty message and rejects any content', () => {
      expect(decompress('gzip', compress('gzip', Buffer.alloc(0)), 0).length).to.equal(0);
      expect(thrownBy(() => decompress('gzip', compress('gzip', Buffer.from('x')), 0))).to.be.instanceOf(MessageTooLargeError);
    });
  });

  describe('encodings', () => {
    it('supports identity, deflate and gzip and advertises exactly those', () => {
      expect([...SUPPORTED_ENCODINGS].sort()).to.deep.equal(['deflate', 'gzip', 'identity']);
      expect(ACCEPT_ENCODING_VALUE.split(',').sort()).to.deep.equal(['deflate', 'gzip', 'identity']);
      for (const name of ['identity', 'gzip', 'deflate']) expect(isSupportedEncoding(name), name).to.equal(true);
      for (const name of ['snappy', 'br', 'GZIP', '', 'gzip ']) expect(isSupportedEncoding(name), name).to.equal(false);
    });
  });

  describe('negotiateEncoding', () => {
    const cases: Array<[string | undefined, Encoding, Encoding]> = [
      ['gzip', 'gzip', 'gzip'],
      ['identity,deflate,gzip', 'gzip', 'gzip'],
      ['identity, deflate , gzip', 'deflate', 'deflate'],
      ['identity,deflate', 'gzip', 'identity'],
      ['', 'gzip', 'identity'],
      ['gzipx,xgzip', 'gzip', 'identity'],
      [undefined, 'gzip', 'identity'],
      ['gzip,deflate', 'identity', 'identity'],
    ];
    for (const [accept, preferred, expected] of cases) {
      it(`accept ${JSON.stringify(accept)}, preferring ${preferred} → ${expected}`, () => {
        expect(negotiateEncoding(accept, preferred)).to.equal(expected);
      });
    }
  });
});
