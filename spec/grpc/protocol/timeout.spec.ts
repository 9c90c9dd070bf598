import { expect } from 'chai';
import fc from 'fast-check';
import { formatTimeout, parseTimeout } from '../../../lib/grpc/protocol/timeout';

/** PROTOCOL-HTTP2.md: Timeout → TimeoutValue TimeoutUnit; at most 8 ASCII digits; unit one of H M S m u n. */
const TIMEOUT_GRAMMAR = /^\d{1,8}[HMSmun]$/;

describe('grpc-timeout', () => {
  describe('parseTimeout', () => {
    it('reads every unit and returns milliseconds', () => {
      expect(parseTimeout('2H')).to.equal(2 * 3_600_000);
      expect(parseTimeout('3M')).to.equal(3 * 60_000);
      expect(parseTimeout('4S')).to.equal(4000);
      expect(parseTimeout('5m')).to.equal(5);
      expect(parseTimeout('1500u')).to.equal(1.5);
      expect(parseTimeout('2500000n')).to.equal(2.5);
    });

    it('keeps sub-millisecond values as fractions rather than rounding them to 0', () => {
      expect(parseTimeout('1u')).to.equal(0.001);
      expect(parseTimeout('1n')).to.equal(0.000001);
    });

    it('accepts 0 and leading zeros', () => {
      expect(parseTimeout('0m')).to.equal(0);
      expect(parseTimeout('0001S')).to.equal(1000);
    });

    it('accepts the 8-digit maximum for every unit', () => {
      expect(parseTimeout('99999999H')).to.equal(99_999_999 * 3_600_000);
      expect(parseTimeout('99999999M')).to.equal(99_999_999 * 60_000);
      expect(parseTimeout('99999999S')).to.equal(99_999_999_000);
      expect(parseTimeout('99999999m')).to.equal(99_999_999);
      expect(parseTimeout('99999999u')).to.equal(99_999.999);
      expect(parseTimeout('99999999n')).to.be.closeTo(99.999999, 1e-9);
    });

    it('rejects 9 digits, even with leading zeros', () => {
      expect(parseTimeout('100000000m')).to.equal(null);
      expect(parseTimeout('000000001S')).to.equal(null);
    });

    it('rejects a missing value or unit', () => {
      expect(parseTimeout('')).to.equal(null);
      expect(parseTimeout('S')).to.equal(null);
      expect(parseTimeout('10')).to.equal(null);
    });

    it('rejects unknown units, including the wrong case and multi-letter units', () => {
      for (const value of ['1s', '1h', '1U', '1N', '1ms', '1x', '1mm', '1Sm']) {
        expect(parseTimeout(value), value).to.equal(null);
      }
    });

    it('rejects signs, decimals, exponents and whitespace', () => {
      for (const value of ['-1S', '+1S', '1.5S', '1e3m', ' 1S', '1S ', '1 S', '1\tS', '1S\n', '0x10m']) {
        expect(parseTimeout(value), JSON.stringify(value)).to.equal(null);
      }
    });

    it('rejects non-ASCII digits', () => {
      // U+0661 ARABIC-INDIC DIGIT ONE is a \d only with the u flag; must not be accepted.
      expect(parseTimeout('\u0661S')).to.equal(null);
    });
  });

  describe('formatTimeout', () => {
    it('uses milliseconds while they fit in 8 digits', () => {
      expect(formatTimeout(0)).to.equal('0m');
      expect(formatTimeout(1)).to.equal('1m');
      expect(formatTimeout(99_999_999)).to.equal('99999999m');
    });

    it('rounds fractions of a millisecond up, never down to an earlier deadline', () => {
      expect(formatTimeout(0.2)).to.equal('1m');
      expect(formatTimeout(1.0001)).to.equal('2m');
    });

    it('clamps negative values to 0', () => {
      expect(formatTimeout(-5)).to.equal('0m');
    });

    it('switches to seconds, minutes and hours as values grow, staying within 8 digits', () => {
      expect(formatTimeout(100_000_000)).to.equal('100000S');
      expect(formatTimeout(100_000_001)).to.equal('100001S');
      expect(formatTimeout(99_999_999_000)).to.equal('99999999S');
      expect(formatTimeout(99_999_999_001)).to.equal('1666667M');
      expect(formatTimeout(100_000_000 * 60_000)).to.equal('1666667H');
      expect(formatTimeout(99_999_999 * 3_600_000)).to.equal('99999999H');
    });

    it('caps values beyond 99999999 hours, including Infinity, at the largest encodable timeout', () => {
      expect(formatTimeout(1e20)).to.equal('99999999H');
      expect(formatTimeout(Number.POSITIVE_INFINITY)).to.equal('99999999H');
    });

    it('never produces a header outside the grammar, even for NaN (it may throw instead)', () => {
      // A deadline computed from an invalid Date gives NaN; the header must still be well formed
      // (or the call rejected), never "NaNm".
      let formatted: string | undefined;
      try {
        formatted = formatTimeout(Number.NaN);
      } catch (error) {
        expect(error).to.be.instanceOf(Error);
        return;
      }
      expect(formatted).to.match(TIMEOUT_GRAMMAR);
    });

    it('property: output matches the grammar for any non-negative or negative finite number', () => {
      fc.assert(
        fc.property(fc.double({ noNaN: true }), (milliseconds) => {
          expect(formatTimeout(milliseconds)).to.match(TIMEOUT_GRAMMAR);
        }),
        { numRuns: 1000 },
      );
    });

    it('property: parse(format(x)) is never earlier than x and is close to it', () => {
      const milliseconds = fc.oneof(
        fc.double({ min: 0, max: 1e8, noNaN: true }),
        fc.double({ min: 0, max: 99_999_999 * 3_600_000, noNaN: true }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.constantFrom(99_999_999, 100_000_000, 99_999_999_000, 99_999_999_001, 5_999_999_940_000, 5_999_999_940_001),
      );
      fc.assert(
        fc.property(milliseconds, (x) => {
          const formatted = formatTimeout(x);
          const parsed = parseTimeout(formatted);
          expect(parsed, formatted).to.not.equal(null);
          expect(parsed!, formatted).to.be.at.least(x);
          // The error is at most one unit of the chosen resolution: 1 ms (exactly 1 only through
          // float rounding, e.g. x = 5e-324) for values that fit in milliseconds, otherwise a
          // relative error far below 0.01 %.
          if (x < 1e8) expect(parsed! - x, formatted).to.be.at.most(1);
          else expect((parsed! - x) / x, formatted).to.be.below(1e-4);
        }),
        { numRuns: 2000 },
      );
    });
  });
});
