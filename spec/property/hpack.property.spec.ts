import { expect } from 'chai';
import fc from 'fast-check';
import { ConnectionError, ErrorCode } from '../../lib/transport/errors';
import { encodeStaticHeaderBlock, HeaderBlockDecoder, HeaderBlockEncoder, type HeaderList } from '../../lib/transport/hpack/header-block';

// hpack.js (no types) serves as an independent implementation to cross-check against.
interface HpackStream {
  write(chunk: unknown): void;
  read(): unknown;
  execute(): void;
  on(event: 'error', listener: (error: Error) => void): void;
}
const hpack = require('hpack.js') as {
  compressor: { create(options: { table: { maxSize: number } }): HpackStream };
  decompressor: { create(options: { table: { maxSize: number } }): HpackStream };
};

const NO_LIMIT = 1 << 30;
const RUNS = 200;

const tokenCharacters = "abcdefghijklmnopqrstuvwxyz0123456789-_.!#$%&'*+^`|~".split('');
const randomName = fc.string({ unit: fc.constantFrom(...tokenCharacters), minLength: 1, maxLength: 24 });
// Names and pairs from the static table, so the indexed and name-reference paths are hit often.
const staticName = fc.constantFrom(':method', ':path', ':status', 'content-type', 'authorization', 'accept-encoding', 'user-agent', 'cookie');
const name = fc.oneof(randomName, staticName);
const printableValue = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)), maxLength: 80 });
const byteValue = fc.string({ unit: fc.integer({ min: 0x00, max: 0xff }).map((code) => String.fromCharCode(code)), maxLength: 40 });
const staticValue = fc.constantFrom('', 'GET', 'POST', '/', '200', '404', 'gzip, deflate');
const value = fc.oneof(printableValue, byteValue, staticValue);
const headerList: fc.Arbitrary<HeaderList> = fc.array(fc.tuple(name, value), { maxLength: 12 }).map((pairs) => pairs.flat());

type Step = { kind: 'block'; headers: HeaderList } | { kind: 'table size'; size: number };
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: headerList.map((headers): Step => ({ kind: 'block', headers })) },
  { weight: 1, arbitrary: fc.oneof(fc.integer({ min: 0, max: 70_000 }), fc.constantFrom(0, 4096)).map((size): Step => ({ kind: 'table size', size })) },
);

function isPrototypeKey(text: string): boolean {
  return text in Object.prototype || text === '__proto__';
}

describe('hpack properties', () => {
  it('encode → decode round-trips across block sequences with peer table size changes', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 8 }), fc.boolean(), (steps, useEncodeInto) => {
        const encoder = new HeaderBlockEncoder();
        const decoder = new HeaderBlockDecoder();
        const out = Buffer.alloc(600);
        for (const current of steps) {
          if (current.kind === 'table size') {
            // Our decoder's setting is the peer's SETTINGS_HEADER_TABLE_SIZE as seen by the encoder.
            decoder.setMaxTableSize(current.size);
            encoder.setPeerMaxTableSize(current.size);
            continue;
          }
          let block: Buffer;
          const end = useEncodeInto ? encoder.encodeInto(current.headers, out, 7) : -1;
          if (end === -1) block = encoder.encode(current.headers);
          else block = out.subarray(7, end);
          expect(decoder.decode(block, NO_LIMIT)).to.deep.equal({ headers: current.headers, oversized: false });
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('our encoder output (raw and static/Huffman forms) decodes the same with hpack.js', () => {
    fc.assert(
      fc.property(headerList, (headers) => {
        fc.pre(!headers.some(isPrototypeKey)); // hpack.js looks names up in a plain object
        for (const block of [new HeaderBlockEncoder().encode(headers), encodeStaticHeaderBlock(headers)]) {
          const decompressor = hpack.decompressor.create({ table: { maxSize: 4096 } });
          decompressor.write(block);
          decompressor.execute();
          const decoded: string[] = [];
          for (let field = decompressor.read() as { name: string; value: string } | null; field !== null; field = decompressor.read() as typeof field) {
            decoded.push(field.name, field.value);
          }
          expect(decoded).to.deep.equal(headers);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('decodes hpack.js compressor output (incremental indexing, eviction) across a sequence', () => {
    fc.assert(
      fc.property(fc.array(headerList, { minLength: 1, maxLength: 6 }), fc.constantFrom(64, 256, 4096), (blocks, tableSize) => {
        fc.pre(!blocks.some((headers) => headers.some(isPrototypeKey)));
        const compressor = hpack.compressor.create({ table: { maxSize: tableSize } });
        const decoder = new HeaderBlockDecoder(tableSize);
        for (const headers of blocks) {
          const fields: Array<{ name: string; value: string }> = [];
          for (let index = 0; index < headers.length; index += 2) fields.push({ name: headers[index]!, value: headers[index + 1]! });
          compressor.write(fields);
          const block = (compressor.read() as Buffer | null) ?? Buffer.alloc(0);
          expect(decoder.decode(block, NO_LIMIT).headers).to.deep.equal(headers);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('encodeStaticHeaderBlock output decodes the same on any decoder state', () => {
    fc.assert(
      fc.property(headerList, headerList, (filler, headers) => {
        const decoder = new HeaderBlockDecoder();
        const indexingEncoder = hpack.compressor.create({ table: { maxSize: 4096 } });
        fc.pre(!filler.some(isPrototypeKey));
        const fields: Array<{ name: string; value: string }> = [];
        for (let index = 0; index < filler.length; index += 2) fields.push({ name: filler[index]!, value: filler[index + 1]! });
        indexingEncoder.write(fields);
        decoder.decode((indexingEncoder.read() as Buffer | null) ?? Buffer.alloc(0), NO_LIMIT);
        expect(decoder.decode(encodeStaticHeaderBlock(headers), NO_LIMIT).headers).to.deep.equal(headers);
      }),
      { numRuns: RUNS },
    );
  });

  it('the header list limit bounds what is kept, and a prefix of the list is returned', () => {
    fc.assert(
      fc.property(headerList, fc.integer({ min: 0, max: 1500 }), (headers, limit) => {
        const decoded = new HeaderBlockDecoder().decode(new HeaderBlockEncoder().encode(headers), limit);
        let size = 0;
        for (let index = 0; index < headers.length; index += 2) size += headers[index]!.length + headers[index + 1]!.length + 32;
        expect(decoded.oversized).to.equal(size > limit);
        expect(headers.slice(0, decoded.headers.length)).to.deep.equal(decoded.headers);
        let keptSize = 0;
        for (let index = 0; index < decoded.headers.length; index += 2) keptSize += decoded.headers[index]!.length + decoded.headers[index + 1]!.length + 32;
        expect(keptSize).to.be.at.most(limit);
      }),
      { numRuns: RUNS },
    );
  });

  it('decoding random bytes either succeeds or throws a COMPRESSION_ERROR ConnectionError', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 48 }), { minLength: 1, maxLength: 4 }), fc.constantFrom(0, 256, 4096), (blocks, tableSize) => {
        // One decoder across blocks so earlier random literals populate the dynamic table.
        const decoder = new HeaderBlockDecoder(tableSize);
        for (const bytes of blocks) {
          try {
            const decoded = decoder.decode(Buffer.from(bytes), 4096);
            expect(decoded.headers.length % 2).to.equal(0);
          } catch (error) {
            expect(error).to.be.instanceOf(ConnectionError);
            expect((error as ConnectionError).errorCode).to.equal(ErrorCode.COMPRESSION_ERROR);
          }
        }
      }),
      { numRuns: RUNS * 5 },
    );
  });

  it('decoding a corrupted valid block (truncated or one byte changed) never throws anything but a COMPRESSION_ERROR', () => {
    fc.assert(
      fc.property(
        fc.array(headerList, { minLength: 1, maxLength: 3 }),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        fc.boolean(),
        (blocks, where, replacement, truncate) => {
          fc.pre(!blocks.some((headers) => headers.some(isPrototypeKey)));
          // hpack.js indexes every literal, so corrupting later blocks hits dynamic-table references.
          const compressor = hpack.compressor.create({ table: { maxSize: 256 } });
          const decoder = new HeaderBlockDecoder(256);
          for (const headers of blocks) {
            const fields: Array<{ name: string; value: string }> = [];
            for (let index = 0; index < headers.length; index += 2) fields.push({ name: headers[index]!, value: headers[index + 1]! });
            compressor.write(fields);
            let block = Buffer.from((compressor.read() as Buffer | null) ?? Buffer.alloc(0));
            if (block.length > 0) {
              if (truncate) block = block.subarray(0, where % block.length);
              else block[where % block.length] = replacement;
            }
            try {
              decoder.decode(block, NO_LIMIT);
            } catch (error) {
              expect(error).to.be.instanceOf(ConnectionError);
              expect((error as ConnectionError).errorCode).to.equal(ErrorCode.COMPRESSION_ERROR);
              return;
            }
          }
        },
      ),
      { numRuns: RUNS },
    );
  });
});
