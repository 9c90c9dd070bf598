import { expect } from 'chai';
import * as zlib from 'node:zlib';
import { Code, ConnectError } from '@connectrpc/connect';
import { compressionBrotli, compressionGzip } from '../../lib/connect';

describe('connect/compression', () => {
  for (const compression of [compressionGzip, compressionBrotli]) {
    describe(compression.name, () => {
      it('round-trips, into a Uint8Array over its own ArrayBuffer', async () => {
        const input = Buffer.from('abc'.repeat(1000));
        const packed = await compression.compress(input);
        expect(packed.length).to.be.lessThan(input.length);
        const unpacked = await compression.decompress(packed, 1 << 20);
        expect(unpacked.buffer).to.be.instanceOf(ArrayBuffer);
        expect(Buffer.from(unpacked).equals(input)).to.equal(true);
      });

      it('an empty input decompresses to nothing', async () => {
        expect((await compression.decompress(new Uint8Array(0), 10)).length).to.equal(0);
      });

      it('stops at readMaxBytes: ResourceExhausted', async () => {
        const packed = await compression.compress(Buffer.alloc(100_000));
        const error = await compression.decompress(packed, 1000).then(
          () => null,
          (failure: unknown) => failure,
        );
        expect(error).to.be.instanceOf(ConnectError);
        expect((error as ConnectError).code).to.equal(Code.ResourceExhausted);
      });

      it('corrupt input: InvalidArgument, never a crash', async () => {
        const error = await compression.decompress(Buffer.from('definitely not compressed data'), 1000).then(
          () => null,
          (failure: unknown) => failure,
        );
        expect(error).to.be.instanceOf(ConnectError);
        expect((error as ConnectError).code).to.equal(Code.InvalidArgument);
      });
    });
  }

  it('gzip output is plain gzip', async () => {
    const packed = await compressionGzip.compress(Buffer.from('hello'));
    expect(zlib.gunzipSync(packed).toString()).to.equal('hello');
  });
});
