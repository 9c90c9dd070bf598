import { expect } from 'chai';
import { CONTENT_TYPE, headerValue, isGrpcContentType, OK_TRAILERS, OK_TRAILERS_ONLY, RESPONSE_HEADERS } from '../../../lib/grpc/protocol/headers';
import { ConnectionError } from '../../../lib/transport/errors';
import { HeaderBlockDecoder, type HeaderTemplate } from '../../../lib/transport/hpack/header-block';

const NO_LIMIT = 1 << 30;

/** Literal with incremental indexing, new name (RFC 7541 §6.2.1): adds foo: bar to the dynamic table. */
const INSERT_FOO_BAR = Buffer.from([0x40, 0x03, ...Buffer.from('foo'), 0x03, ...Buffer.from('bar')]);
/** Indexed field 62 (RFC 7541 §6.1): the newest dynamic table entry. */
const DYNAMIC_INDEX_62 = Buffer.from([0x80 | 62]);

const cachedBlocks: Array<[string, Buffer, string[]]> = [
  [
    'RESPONSE_HEADERS',
    (RESPONSE_HEADERS as HeaderTemplate).staticBlock,
    [':status', '200', 'content-type', 'application/grpc', 'grpc-accept-encoding', 'identity,deflate,gzip'],
  ],
  ['OK_TRAILERS', (OK_TRAILERS as HeaderTemplate).staticBlock, ['grpc-status', '0', 'grpc-message', 'OK']],
  [
    'OK_TRAILERS_ONLY',
    (OK_TRAILERS_ONLY as HeaderTemplate).staticBlock,
    [':status', '200', 'content-type', 'application/grpc', 'grpc-status', '0', 'grpc-message', 'OK'],
  ],
];

describe('gRPC protocol headers', () => {
  describe('isGrpcContentType', () => {
    it('accepts application/grpc with or without a +subtype or parameters', () => {
      for (const value of [
        'application/grpc',
        'application/grpc+proto',
        'application/grpc+json',
        'application/grpc;charset=utf-8',
        'application/grpc+proto; charset=utf-8',
      ]) {
        expect(isGrpcContentType(value), value).to.equal(true);
      }
    });

    it('rejects other types, prefixes of application/grpc and a missing header', () => {
      for (const value of [
        'application/grpcx',
        'application/grpc-web',
        'application/grp',
        'application/json',
        'text/plain',
        '',
        ' application/grpc',
        'xapplication/grpc',
      ]) {
        expect(isGrpcContentType(value), JSON.stringify(value)).to.equal(false);
      }
      expect(isGrpcContentType(undefined)).to.equal(false);
    });

    it('uses the canonical content-type constant', () => {
      expect(CONTENT_TYPE).to.equal('application/grpc');
    });
  });

  describe('headerValue', () => {
    it('finds the first value of a name in a flat list, by name position only', () => {
      const headers = ['a', 'b', 'b', 'first', 'b', 'second'];
      expect(headerValue(headers, 'b')).to.equal('first');
      expect(headerValue(headers, 'a')).to.equal('b');
      expect(headerValue(headers, 'missing')).to.equal(undefined);
      expect(headerValue([], 'a')).to.equal(undefined);
    });
  });

  describe('cached header blocks', () => {
    for (const [name, block, expected] of cachedBlocks) {
      it(`${name} decodes to exactly ${JSON.stringify(expected)}`, () => {
        const { headers, oversized } = new HeaderBlockDecoder().decode(block, NO_LIMIT);
        expect(headers).to.deep.equal(expected);
        expect(oversized).to.equal(false);
      });

      it(`${name} decodes the same whatever the decoder's dynamic table holds`, () => {
        const populated = new HeaderBlockDecoder();
        populated.decode(INSERT_FOO_BAR, NO_LIMIT);
        expect(populated.decode(block, NO_LIMIT).headers).to.deep.equal(expected);
        const zeroTable = new HeaderBlockDecoder(0);
        expect(zeroTable.decode(block, NO_LIMIT).headers).to.deep.equal(expected);
      });

      it(`${name} neither inserts into the dynamic table nor depends on table state (reusable on every connection)`, () => {
        const decoder = new HeaderBlockDecoder();
        decoder.decode(block, NO_LIMIT);
        decoder.decode(block, NO_LIMIT);
        // The table is still empty: index 62 does not exist.
        expect(() => decoder.decode(DYNAMIC_INDEX_62, NO_LIMIT)).to.throw(ConnectionError);
        // No dynamic table size update at the start (that would be owed per connection).
        expect(block[0]! & 0xe0).to.not.equal(0x20);
      });
    }
  });
});
