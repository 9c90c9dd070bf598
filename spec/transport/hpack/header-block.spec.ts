import { expect } from 'chai';
import { ConnectionError, ErrorCode, UserError } from '../../../lib/transport/errors';
import { encodeStaticHeaderBlock, HeaderBlockDecoder, HeaderBlockEncoder, headerListSize, type HeaderList } from '../../../lib/transport/hpack/header-block';

const NO_LIMIT = 1 << 30;

function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

function flat(pairs: Array<[string, string]>): HeaderList {
  return pairs.flat();
}

/** An indexed header field (RFC 7541 §6.1) with its 7-bit prefixed integer (§5.1); indices below 255 only. */
function indexedField(index: number): Buffer {
  return index < 127 ? Buffer.from([0x80 | index]) : Buffer.from([0xff, index - 127]);
}

/** Reads the decoder's dynamic table (newest first) by decoding indexed references 62, 63, … (RFC 7541 §2.3.3). */
function dynamicTable(decoder: HeaderBlockDecoder, expectedCount: number): Array<[string, string]> {
  const indices = Array.from({ length: expectedCount }, (_, position) => indexedField(62 + position));
  const { headers } = decoder.decode(Buffer.concat(indices), NO_LIMIT);
  // The entry after the last one must not exist.
  expectCompressionError(() => decoder.decode(indexedField(62 + expectedCount), NO_LIMIT));
  const pairs: Array<[string, string]> = [];
  for (let index = 0; index < headers.length; index += 2) pairs.push([headers[index]!, headers[index + 1]!]);
  return pairs;
}

function expectCompressionError(action: () => unknown): ConnectionError {
  let thrown: unknown;
  try {
    action();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, 'expected a ConnectionError').to.be.instanceOf(ConnectionError);
  expect((thrown as ConnectionError).errorCode).to.equal(ErrorCode.COMPRESSION_ERROR);
  return thrown as ConnectionError;
}

interface Example {
  id: string;
  input: string;
  output: Array<[string, string]>;
  /** Dynamic table after the block, newest first. */
  table: Array<[string, string]>;
}

const requestHeaders = {
  first: [
    [':method', 'GET'],
    [':scheme', 'http'],
    [':path', '/'],
    [':authority', 'www.example.com'],
  ] as Array<[string, string]>,
  second: [
    [':method', 'GET'],
    [':scheme', 'http'],
    [':path', '/'],
    [':authority', 'www.example.com'],
    ['cache-control', 'no-cache'],
  ] as Array<[string, string]>,
  third: [
    [':method', 'GET'],
    [':scheme', 'https'],
    [':path', '/index.html'],
    [':authority', 'www.example.com'],
    ['custom-key', 'custom-value'],
  ] as Array<[string, string]>,
};
const requestTables = {
  first: [[':authority', 'www.example.com']] as Array<[string, string]>,
  second: [
    ['cache-control', 'no-cache'],
    [':authority', 'www.example.com'],
  ] as Array<[string, string]>,
  third: [
    ['custom-key', 'custom-value'],
    ['cache-control', 'no-cache'],
    [':authority', 'www.example.com'],
  ] as Array<[string, string]>,
};

const cookie = 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1';
const responseHeaders = {
  first: [
    [':status', '302'],
    ['cache-control', 'private'],
    ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'],
    ['location', 'https://www.example.com'],
  ] as Array<[string, string]>,
  second: [
    [':status', '307'],
    ['cache-control', 'private'],
    ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'],
    ['location', 'https://www.example.com'],
  ] as Array<[string, string]>,
  third: [
    [':status', '200'],
    ['cache-control', 'private'],
    ['date', 'Mon, 21 Oct 2013 20:13:22 GMT'],
    ['location', 'https://www.example.com'],
    ['content-encoding', 'gzip'],
    ['set-cookie', cookie],
  ] as Array<[string, string]>,
};
// C.5 / C.6 run with a 256-octet table, so these exercise eviction (RFC 7541 §4.4).
const responseTables = {
  first: [
    ['location', 'https://www.example.com'],
    ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'],
    ['cache-control', 'private'],
    [':status', '302'],
  ] as Array<[string, string]>,
  second: [
    [':status', '307'],
    ['location', 'https://www.example.com'],
    ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'],
    ['cache-control', 'private'],
  ] as Array<[string, string]>,
  third: [
    ['set-cookie', cookie],
    ['content-encoding', 'gzip'],
    ['date', 'Mon, 21 Oct 2013 20:13:22 GMT'],
  ] as Array<[string, string]>,
};

const sequences: Array<{ title: string; tableSize: number; examples: Example[] }> = [
  {
    title: 'C.3 requests without Huffman coding',
    tableSize: 4096,
    examples: [
      { id: 'C.3.1', input: '8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d', output: requestHeaders.first, table: requestTables.first },
      { id: 'C.3.2', input: '8286 84be 5808 6e6f 2d63 6163 6865', output: requestHeaders.second, table: requestTables.second },
      {
        id: 'C.3.3',
        input: '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65',
        output: requestHeaders.third,
        table: requestTables.third,
      },
    ],
  },
  {
    title: 'C.4 requests with Huffman coding',
    tableSize: 4096,
    examples: [
      { id: 'C.4.1', input: '8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff', output: requestHeaders.first, table: requestTables.first },
      { id: 'C.4.2', input: '8286 84be 5886 a8eb 1064 9cbf', output: requestHeaders.second, table: requestTables.second },
      {
        id: 'C.4.3',
        input: '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf',
        output: requestHeaders.third,
        table: requestTables.third,
      },
    ],
  },
  {
    title: 'C.5 responses without Huffman coding',
    tableSize: 256,
    examples: [
      {
        id: 'C.5.1',
        input:
          '4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133' +
          '2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
        output: responseHeaders.first,
        table: responseTables.first,
      },
      { id: 'C.5.2', input: '4803 3330 37c1 c0bf', output: responseHeaders.second, table: responseTables.second },
      {
        id: 'C.5.3',
        input:
          '88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d' +
          '54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049' +
          '5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31',
        output: responseHeaders.third,
        table: responseTables.third,
      },
    ],
  },
  {
    title: 'C.6 responses with Huffman coding',
    tableSize: 256,
    examples: [
      {
        id: 'C.6.1',
        input: '4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6' + '2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3',
        output: responseHeaders.first,
        table: responseTables.first,
      },
      { id: 'C.6.2', input: '4883 640e ffc1 c0bf', output: responseHeaders.second, table: responseTables.second },
      {
        id: 'C.6.3',
        input:
          '88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab' +
          '77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f' +
          '9587 3160 65c0 03ed 4ee5 b106 3d50 07',
        output: responseHeaders.third,
        table: responseTables.third,
      },
    ],
  },
];

describe('hpack header blocks (RFC 7541)', () => {
  describe('decoder: RFC 7541 Appendix C examples', () => {
    it('C.2.1 literal with indexing adds to the dynamic table', () => {
      const decoder = new HeaderBlockDecoder();
      const block = hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572');
      expect(decoder.decode(block, NO_LIMIT)).to.deep.equal({ headers: ['custom-key', 'custom-header'], oversized: false });
      expect(dynamicTable(decoder, 1)).to.deep.equal([['custom-key', 'custom-header']]);
    });

    it('C.2.2 literal without indexing leaves the table empty', () => {
      const decoder = new HeaderBlockDecoder();
      expect(decoder.decode(hex('040c 2f73 616d 706c 652f 7061 7468'), NO_LIMIT).headers).to.deep.equal([':path', '/sample/path']);
      expect(dynamicTable(decoder, 0)).to.deep.equal([]);
    });

    it('C.2.3 literal never indexed leaves the table empty', () => {
      const decoder = new HeaderBlockDecoder();
      expect(decoder.decode(hex('1008 7061 7373 776f 7264 0673 6563 7265 74'), NO_LIMIT).headers).to.deep.equal(['password', 'secret']);
      expect(dynamicTable(decoder, 0)).to.deep.equal([]);
    });

    it('C.2.4 indexed field from the static table', () => {
      const decoder = new HeaderBlockDecoder();
      expect(decoder.decode(hex('82'), NO_LIMIT).headers).to.deep.equal([':method', 'GET']);
      expect(dynamicTable(decoder, 0)).to.deep.equal([]);
    });

    for (const sequence of sequences) {
      it(`${sequence.title}, one decoder for the whole sequence`, () => {
        const decoder = new HeaderBlockDecoder();
        decoder.setMaxTableSize(sequence.tableSize);
        for (const example of sequence.examples) {
          const decoded = decoder.decode(hex(example.input), NO_LIMIT);
          expect(decoded.headers, example.id).to.deep.equal(flat(example.output));
          expect(decoded.oversized, example.id).to.equal(false);
          expect(dynamicTable(decoder, example.table.length), example.id).to.deep.equal(example.table);
        }
      });
    }
  });

  describe('decoder: malformed input is a COMPRESSION_ERROR', () => {
    // [title, block, expected reason]: the reason makes sure each block fails for the intended check.
    const cases: Array<[string, string, RegExp]> = [
      ['integer prefix full but no continuation byte', 'ff', /truncated inside an integer/],
      ['integer continuation flag set at the end of the block', 'ff 80', /truncated inside an integer/],
      ['integer larger than 2^31 - 1', 'ff ff ff ff ff 0f', /larger than 2\^31/],
      ['integer with more than 5 continuation bytes', 'ff 80 80 80 80 80 00', /larger than 2\^31/],
      ['string length past the end of the block', '40 0a 63 75', /truncated inside a string/],
      ['string literal missing entirely', '00', /truncated inside an integer/],
      ['value missing after a literal name', '00 01 61', /truncated inside an integer/],
      ['indexed field with index 0', '80', /index 0/],
      ['indexed field past the empty dynamic table', 'be', /index 62 is past the end/],
      ['indexed field far past the tables', 'ff 80 01', /index 255 is past the end/],
      ['literal name index past the tables', '0f 30 01 61', /index 63 is past the end/],
      ['literal with indexing, name index past the tables', '7f 01 01 61', /index 64 is past the end/],
      ['Huffman string containing EOS', '04 84 ff ff ff ff', /EOS/],
      ['Huffman padding longer than 7 bits', '04 81 ff', /padding/],
      ['Huffman padding not all ones', '04 81 18', /padding/],
      ['dynamic table size update above the limit', '3f e2 1f', /4097 exceeds the limit 4096/],
      ['dynamic table size update after a field', '82 20', /after a header field/],
    ];
    for (const [title, input, reason] of cases) {
      it(title, () => {
        const error = expectCompressionError(() => new HeaderBlockDecoder().decode(hex(input), NO_LIMIT));
        expect(error.message).to.match(reason);
      });
    }

    it('accepts an integer with 5 continuation bytes (zero-padded) when it fits in 31 bits', () => {
      // Size update to 31 + 1 = 32, written with four redundant zero groups.
      expect(new HeaderBlockDecoder().decode(hex('3f 81 80 80 80 00 82'), NO_LIMIT).headers).to.deep.equal([':method', 'GET']);
      const error = expectCompressionError(() => new HeaderBlockDecoder().decode(hex('ff 80 80 80 80 07'), NO_LIMIT));
      expect(error.message).to.match(/index 1879048319 is past the end/);
    });

    it('accepts the same Huffman string with correct padding', () => {
      // 'a' is 00011 (RFC 7541 Appendix B), padded with 111.
      expect(new HeaderBlockDecoder().decode(hex('04 81 1f'), NO_LIMIT).headers).to.deep.equal([':path', 'a']);
    });

    it('accepts size updates up to the limit at the start of a block, and the table follows them', () => {
      const decoder = new HeaderBlockDecoder();
      decoder.decode(hex('40 01 61 01 62'), NO_LIMIT); // a: b, 34 octets
      expect(decoder.decode(hex('3f e1 1f 20 3f e1 1f 82'), NO_LIMIT).headers).to.deep.equal([':method', 'GET']);
      expect(dynamicTable(decoder, 0)).to.deep.equal([]);
    });

    it('an entry larger than the whole table empties it and is not added (RFC 7541 §4.4)', () => {
      const decoder = new HeaderBlockDecoder(64);
      decoder.decode(hex('40 01 61 01 62'), NO_LIMIT); // a: b, 34 octets
      expect(dynamicTable(decoder, 1)).to.deep.equal([['a', 'b']]);
      // c: 31 x "d" = 1 + 31 + 32 = 64 octets: fits exactly, evicting a: b.
      decoder.decode(Buffer.concat([hex('40 01 63 1f'), Buffer.alloc(31, 'd')]), NO_LIMIT);
      expect(dynamicTable(decoder, 1)).to.deep.equal([['c', 'd'.repeat(31)]]);
      // 65 octets: larger than the table.
      const decoded = decoder.decode(Buffer.concat([hex('40 01 63 20'), Buffer.alloc(32, 'd')]), NO_LIMIT);
      expect(decoded.headers).to.deep.equal(['c', 'd'.repeat(32)]);
      expect(dynamicTable(decoder, 0)).to.deep.equal([]);
    });

    it('checks size updates against the limit set by setMaxTableSize', () => {
      const decoder = new HeaderBlockDecoder();
      decoder.setMaxTableSize(100);
      expectCompressionError(() => decoder.decode(hex('3f 46'), NO_LIMIT)); // 101
      decoder.decode(hex('3f 45'), NO_LIMIT); // 100
      decoder.setMaxTableSize(8192);
      decoder.decode(hex('3f e1 3f'), NO_LIMIT); // 8192
    });
    it('literal cache: strings that share length and sampled octets still decode to their own text', () => {
      const decoder = new HeaderBlockDecoder();
      // Same length, same first, middle and last octets: the cache's hash cannot tell them apart.
      const prefix = hex('00 01 78 05');
      for (let round = 0; round < 3; round++) {
        for (const text of ['aXbYc', 'aZbWc']) {
          const block = Buffer.concat([prefix, Buffer.from(text, 'latin1')]);
          expect(decoder.decode(block, NO_LIMIT).headers).to.deep.equal(['x', text]);
        }
      }
      // The same octets with and without the Huffman flag are different strings.
      expect(decoder.decode(hex('00 01 78 01 1f'), NO_LIMIT).headers).to.deep.equal(['x', '\u001f']);
      expect(decoder.decode(hex('00 01 78 81 1f'), NO_LIMIT).headers).to.deep.equal(['x', 'a']);
      expect(decoder.decode(hex('00 01 78 01 1f'), NO_LIMIT).headers).to.deep.equal(['x', '\u001f']);
    });
  });

  describe('decoder: header list size limit (HPACK bomb)', () => {
    it('stops collecting past maxHeaderListSize but keeps the dynamic table in sync', () => {
      const decoder = new HeaderBlockDecoder();
      const bigValue = 'v'.repeat(4000);
      const parts: Buffer[] = [
        // literal with incremental indexing, new name "x", raw value of 4000 octets
        hex('40 01 78 7f a1 1e'),
        Buffer.from(bigValue, 'latin1'),
        Buffer.alloc(1000, 0xbe), // index 62, 1000 times
        hex('40 01 79 01 7a'), // y: z, added to the table past the limit
      ];
      const limit = 16 * 1024;
      const decoded = decoder.decode(Buffer.concat(parts), limit);
      expect(decoded.oversized).to.equal(true);
      let size = 0;
      for (let index = 0; index < decoded.headers.length; index += 2) {
        size += decoded.headers[index]!.length + decoded.headers[index + 1]!.length + 32;
      }
      expect(size).to.be.at.most(limit);
      // 4033 octets per field: three index hits after the literal itself fit in 16384.
      expect(decoded.headers.length).to.equal(8);
      expect(decoded.headers[1]).to.equal(bigValue);
      expect(dynamicTable(decoder, 2)).to.deep.equal([
        ['y', 'z'],
        ['x', bigValue],
      ]);
    });

    it('counts name + value + 32 per field exactly at the boundary', () => {
      const decoder = new HeaderBlockDecoder();
      // :method GET (42) twice = 84
      expect(decoder.decode(hex('82 82'), 84)).to.deep.equal({ headers: [':method', 'GET', ':method', 'GET'], oversized: false });
      expect(decoder.decode(hex('82 82'), 83)).to.deep.equal({ headers: [':method', 'GET'], oversized: true });
    });
  });

  describe('encoder', () => {
    const grpcRequest = [
      ':method',
      'POST',
      ':scheme',
      'http',
      ':path',
      '/grpc.examples.echo.Echo/UnaryEcho',
      ':authority',
      '127.0.0.1:50051',
      'content-type',
      'application/grpc',
      'te',
      'trailers',
      'user-agent',
      'grpc-node-js/1.14.7',
      'grpc-accept-encoding',
      'identity,deflate,gzip',
      'accept-encoding',
      'identity',
    ];

    it('round-trips a gRPC request and never adds to the peer dynamic table', () => {
      const encoder = new HeaderBlockEncoder();
      const decoder = new HeaderBlockDecoder();
      for (let round = 0; round < 3; round++) {
        expect(decoder.decode(encoder.encode(grpcRequest), NO_LIMIT).headers).to.deep.equal(grpcRequest);
      }
      expect(dynamicTable(decoder, 0)).to.deep.equal([]);
    });

    it('indexes static (name, value) pairs and uses static name indices for literals', () => {
      const encoder = new HeaderBlockEncoder();
      expect(encoder.encode([':method', 'POST', ':status', '200'])).to.deep.equal(hex('83 88'));
      // :path has static index 4 → literal without indexing 0x04; "/" would be indexed, "/a" is not.
      expect(encoder.encode([':path', '/a'])).to.deep.equal(hex('04 02 2f 61'));
    });

    it('writes raw string literals (Huffman coding costs more CPU than its octets are worth per block)', () => {
      const encoder = new HeaderBlockEncoder();
      expect(encoder.encode([':authority', 'www.example.com'])).to.deep.equal(hex('01 0f 7777 772e 6578 616d 706c 652e 636f 6d'));
      expect(encoder.encode(['x', '\u0000\u00ff'])).to.deep.equal(hex('00 01 78 02 00 ff'));
    });

    it('sends authorization as never indexed (RFC 7541 §6.2.3)', () => {
      const block = new HeaderBlockEncoder().encode(['authorization', 'Bearer abc']);
      expect(block[0]).to.equal(0x1f); // 0001 + index 23 (15 + 8)
      expect(block[1]).to.equal(0x08);
      expect(new HeaderBlockDecoder().decode(block, NO_LIMIT).headers).to.deep.equal(['authorization', 'Bearer abc']);
    });

    it('handles names that are Object.prototype properties', () => {
      const headers = ['constructor', 'x', '__proto__', 'y', 'tostring', 'z', 'hasOwnProperty'.toLowerCase(), 'w'];
      expect(new HeaderBlockDecoder().decode(new HeaderBlockEncoder().encode(headers), NO_LIMIT).headers).to.deep.equal(headers);
    });

    it('emits a dynamic table size update exactly once after setPeerMaxTableSize', () => {
      const encoder = new HeaderBlockEncoder();
      const decoder = new HeaderBlockDecoder();
      expect(encoder.encode([':method', 'POST'])).to.deep.equal(hex('83'));
      encoder.setPeerMaxTableSize(1024);
      const first = encoder.encode([':method', 'POST']);
      expect(first).to.deep.equal(hex('3f e1 07 83')); // 1024 = 31 + 993
      expect(encoder.encode([':method', 'POST'])).to.deep.equal(hex('83'));
      decoder.setMaxTableSize(1024);
      expect(decoder.decode(first, NO_LIMIT).headers).to.deep.equal([':method', 'POST']);
    });

    it('caps the size update at 4096', () => {
      const encoder = new HeaderBlockEncoder();
      encoder.setPeerMaxTableSize(65536);
      expect(encoder.encode([':method', 'POST'])).to.deep.equal(hex('3f e1 1f 83'));
    });

    it('signals the smallest size first when the size changed several times (RFC 7541 §4.2)', () => {
      const encoder = new HeaderBlockEncoder();
      encoder.setPeerMaxTableSize(0);
      encoder.setPeerMaxTableSize(4096);
      const block = encoder.encode([':method', 'POST']);
      expect(block).to.deep.equal(hex('20 3f e1 1f 83'));
      expect(new HeaderBlockDecoder().decode(block, NO_LIMIT).headers).to.deep.equal([':method', 'POST']);
      encoder.setPeerMaxTableSize(0);
      expect(encoder.encode([])).to.deep.equal(hex('20'));
    });

    it('encodeInto appends when it fits and keeps a pending size update when it does not', () => {
      const encoder = new HeaderBlockEncoder();
      encoder.setPeerMaxTableSize(0);
      const tooSmall = Buffer.alloc(8);
      expect(encoder.encodeInto(grpcRequest, tooSmall, 2)).to.equal(-1);
      const out = Buffer.alloc(512, 0xaa);
      const end = encoder.encodeInto(grpcRequest, out, 3);
      expect(out.subarray(0, 3)).to.deep.equal(hex('aa aa aa'));
      expect(out[3]).to.equal(0x20);
      const decoder = new HeaderBlockDecoder();
      expect(decoder.decode(out.subarray(3, end), NO_LIMIT).headers).to.deep.equal(grpcRequest);
      // Exact size known: a buffer with room for the exact (Huffman-shortened) size but not the bound.
      const exact = new HeaderBlockEncoder().encode(grpcRequest);
      const tight = Buffer.alloc(exact.length);
      expect(new HeaderBlockEncoder().encodeInto(grpcRequest, tight, 0)).to.equal(exact.length);
      expect(tight).to.deep.equal(exact);
    });

    it('encodes long values and large integers', () => {
      const headers = ['x-long', 'abc'.repeat(50_000), 'x-bytes', '\u0000\u0001\u00fe'.repeat(100)];
      const encoder = new HeaderBlockEncoder();
      expect(new HeaderBlockDecoder().decode(encoder.encode(headers), NO_LIMIT).headers).to.deep.equal(headers);
    });
  });

  describe('encodeStaticHeaderBlock', () => {
    const response = [':status', '200', 'content-type', 'application/grpc', 'grpc-encoding', 'identity'];

    it('uses only static references and literals without indexing, no size update', () => {
      const block = encodeStaticHeaderBlock(response);
      expect(block[0]).to.equal(0x88);
      expect(new HeaderBlockDecoder().decode(block, NO_LIMIT)).to.deep.equal({ headers: response, oversized: false });
    });

    it('uses Huffman coding where it is shorter, since the bytes are encoded once and reused', () => {
      // RFC 7541 C.4.1: "www.example.com" is 12 octets in Huffman, 15 raw.
      expect(encodeStaticHeaderBlock([':authority', 'www.example.com'])).to.deep.equal(hex('01 8c f1e3 c2e5 f23a 6ba0 ab90 f4ff'));
      // Huffman("/a") = 011000 00011 needs 2 octets, not shorter than raw: stays raw.
      expect(encodeStaticHeaderBlock([':path', '/a'])).to.deep.equal(hex('04 02 2f 61'));
      // Bytes with long codes stay raw.
      expect(encodeStaticHeaderBlock(['x', '\u0000\u00ff'])).to.deep.equal(hex('00 01 78 02 00 ff'));
    });

    it('Huffman-codes every byte value, including the 25..30-bit codes', () => {
      const decoder = new HeaderBlockDecoder();
      for (let byte = 0; byte < 256; byte++) {
        // Padding with "e" (5 bits) makes Huffman shorter than raw even around a 30-bit code; the
        // varying lead puts the code at every bit offset within an octet.
        const value = 'e'.repeat(40 + (byte % 8)) + String.fromCharCode(byte) + 'e'.repeat(3);
        const block = encodeStaticHeaderBlock(['x-byte', value]);
        // Huffman on the name alone saves 1 octet; on the value at least 7.
        const rawBlock = new HeaderBlockEncoder().encode(['x-byte', value]);
        expect(block.length, `byte ${byte} is Huffman-coded`).to.be.below(rawBlock.length - 2);
        expect(decoder.decode(block, NO_LIMIT).headers).to.deep.equal(['x-byte', value]);
      }
    });

    it('decodes the same with a decoder whose dynamic table is full', () => {
      const block = encodeStaticHeaderBlock(response);
      const encoder = new HeaderBlockEncoder();
      encoder.setPeerMaxTableSize(0); // a pending update must not leak into the static block
      const decoder = new HeaderBlockDecoder();
      // Fill the 4096-octet table with 100 entries of 41 octets ("k", "NNNNNNNN"); 99 fit.
      const fill: Buffer[] = [];
      for (let index = 0; index < 100; index++) fill.push(hex('40 01 6b 08'), Buffer.from(String(index).padStart(8, '0'), 'latin1'));
      decoder.decode(Buffer.concat(fill), NO_LIMIT);
      const before = dynamicTable(decoder, 99);
      expect(decoder.decode(block, NO_LIMIT)).to.deep.equal({ headers: response, oversized: false });
      expect(dynamicTable(decoder, 99)).to.deep.equal(before);
      expect(encodeStaticHeaderBlock(response)).to.deep.equal(block);
    });
  });
});

describe('headerListSize (every outgoing header list is measured before it is queued)', () => {
  it('is the RFC 9113 §6.5.2 size: name + value + 32 per field', () => {
    expect(headerListSize([':status', '200', 'a', 'bc'])).to.equal(7 + 3 + 32 + 1 + 2 + 32);
  });

  it('throws a UserError for lists that are not flat string pairs, instead of failing the connection later', () => {
    const bad: unknown[] = [[[':status', '200']], [':status'], ['content-length', 5], [':status', undefined], 'not a list'];
    for (const list of bad) expect(() => headerListSize(list as HeaderList), JSON.stringify(list)).to.throw(UserError, /header list/);
  });
});
