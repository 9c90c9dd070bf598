import { expect } from 'chai';
import fc from 'fast-check';
import { decodeStatusMessage, encodeStatusMessage } from '../../../lib/grpc/protocol/status-message';

/** PROTOCOL-HTTP2.md: Percent-Encoded → 1*(%x20-24 / %x26-7E / "%" 2HEXDIGIT), HEXDIGIT being 0-9 A-F. */
const PERCENT_ENCODED = /^(?:[\x20-\x24\x26-\x7e]|%[0-9A-F]{2})*$/;

/** The interop "special_status_message" test case's message (grpc/doc/interop-test-descriptions.md). */
const INTEROP_SPECIAL_MESSAGE = '\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n';

describe('grpc-message percent-encoding', () => {
  describe('encodeStatusMessage', () => {
    it('leaves printable ASCII other than % unchanged', () => {
      const ascii = Array.from({ length: 0x7f - 0x20 }, (_, index) => String.fromCharCode(0x20 + index))
        .filter((char) => char !== '%')
        .join('');
      expect(encodeStatusMessage(ascii)).to.equal(ascii);
      expect(encodeStatusMessage('')).to.equal('');
      expect(encodeStatusMessage('not found')).to.equal('not found');
    });

    it("encodes '%' as %25", () => {
      expect(encodeStatusMessage('%')).to.equal('%25');
      expect(encodeStatusMessage('100% done')).to.equal('100%25 done');
      expect(encodeStatusMessage('%25')).to.equal('%2525');
    });

    it('encodes control characters and DEL', () => {
      expect(encodeStatusMessage('a\tb\nc\rd\x00e\x7f')).to.equal('a%09b%0Ac%0Dd%00e%7F');
    });

    it('encodes non-ASCII characters as percent-encoded UTF-8 with uppercase hex', () => {
      expect(encodeStatusMessage('nöt found ✓')).to.equal('n%C3%B6t found %E2%9C%93');
    });

    it('encodes the interop special status message as its UTF-8 bytes', () => {
      expect(encodeStatusMessage(INTEROP_SPECIAL_MESSAGE)).to.equal('%09%0Atest with whitespace%0D%0Aand Unicode BMP %E2%98%BA and non-BMP %F0%9F%98%88%09%0A');
    });
  });

  describe('decodeStatusMessage', () => {
    it('returns strings without % unchanged', () => {
      expect(decodeStatusMessage('plain message')).to.equal('plain message');
      expect(decodeStatusMessage('')).to.equal('');
    });

    it('decodes percent-encoded UTF-8, upper and lower case hex', () => {
      expect(decodeStatusMessage('n%C3%B6t found %E2%9C%93')).to.equal('nöt found ✓');
      expect(decodeStatusMessage('n%c3%b6t')).to.equal('nöt');
      expect(decodeStatusMessage('100%25 done')).to.equal('100% done');
    });

    it('decodes the interop special status message', () => {
      expect(decodeStatusMessage('%09%0Atest with whitespace%0D%0Aand Unicode BMP %E2%98%BA and non-BMP %F0%9F%98%88%09%0A')).to.equal(INTEROP_SPECIAL_MESSAGE);
    });

    it('keeps a % not followed by two hex digits literally, without throwing', () => {
      expect(decodeStatusMessage('%')).to.equal('%');
      expect(decodeStatusMessage('%4')).to.equal('%4');
      expect(decodeStatusMessage('%zz')).to.equal('%zz');
      expect(decodeStatusMessage('50%')).to.equal('50%');
      expect(decodeStatusMessage('%%41')).to.equal('%A');
      expect(decodeStatusMessage('%4%41')).to.equal('%4A');
      expect(decodeStatusMessage('%G1 ok %41')).to.equal('%G1 ok A');
    });

    it('does not throw on truncated or invalid UTF-8 and keeps the valid parts', () => {
      const truncated = decodeStatusMessage('%E2%82');
      expect(truncated).to.be.a('string');
      expect(truncated).to.not.contain('%');
      const mixed = decodeStatusMessage('before %E2%82 after %C3%B6');
      expect(mixed.startsWith('before ')).to.equal(true);
      expect(mixed.endsWith(' after ö')).to.equal(true);
      expect(() => decodeStatusMessage('%FF%FE%80')).to.not.throw();
    });
  });

  describe('properties', () => {
    const anyUnicode = fc.string({ unit: 'binary', maxLength: 60 });
    const mostlyTricky = fc.string({
      unit: fc.constantFrom('%', '2', '5', 'A', 'f', ' ', '\n', '\x00', '\x7f', 'ö', '✓', '😈', '\u{10ffff}', '\ufeff'),
      maxLength: 30,
    });

    it('decode(encode(s)) === s for any Unicode string', () => {
      fc.assert(
        fc.property(fc.oneof(anyUnicode, mostlyTricky), (message) => {
          expect(decodeStatusMessage(encodeStatusMessage(message))).to.equal(message);
        }),
        { numRuns: 2000 },
      );
    });

    it('encode output is always printable ASCII in the Percent-Encoded grammar', () => {
      fc.assert(
        fc.property(fc.oneof(anyUnicode, mostlyTricky), (message) => {
          expect(encodeStatusMessage(message)).to.match(PERCENT_ENCODED);
        }),
        { numRuns: 2000 },
      );
    });

    it('decode never throws on arbitrary header values (latin1 strings)', () => {
      const latin1 = fc.string({ unit: fc.integer({ min: 0, max: 0xff }).map((code) => String.fromCharCode(code)), maxLength: 40 });
      fc.assert(
        fc.property(fc.oneof(latin1, mostlyTricky), (value) => {
          expect(decodeStatusMessage(value)).to.be.a('string');
        }),
        { numRuns: 1000 },
      );
    });
  });
});
