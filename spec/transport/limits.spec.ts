import { expect } from 'chai';
import { DEFAULT_CONNECTION_LIMITS, TokenBucket } from '../../lib/transport/limits';

describe('limits', () => {
  it('defaults follow nghttp2/Node: 1000 resets in a burst, 33 per second after; 8 CONTINUATIONs per block', () => {
    expect(DEFAULT_CONNECTION_LIMITS).to.include({ resetBurst: 1000, resetsPerSecond: 33, invalidFrameBurst: 1000, maxContinuationFrames: 8 });
  });

  describe('TokenBucket', () => {
    it('gives the burst at once, then refills at the rate, never beyond the burst', () => {
      let now = 0;
      const bucket = new TokenBucket(2, 10, () => now);
      expect(bucket.take()).to.equal(true);
      expect(bucket.take()).to.equal(true);
      expect(bucket.take()).to.equal(false);
      now += 99; // 10 per second: not quite one token yet
      expect(bucket.take()).to.equal(false);
      now += 1;
      expect(bucket.take()).to.equal(true);
      expect(bucket.take()).to.equal(false);
      now += 10_000;
      expect(bucket.available).to.equal(2);
    });

    it('a steady rate below the refill rate never runs out', () => {
      let now = 0;
      const bucket = new TokenBucket(5, 33, () => now);
      for (let index = 0; index < 10_000; index++) {
        now += 1000 / 30;
        expect(bucket.take(), `take ${index}`).to.equal(true);
      }
    });

    it('a steady rate above it runs out after about the burst', () => {
      let now = 0;
      const bucket = new TokenBucket(1000, 33, () => now);
      let taken = 0;
      while (bucket.take() && taken < 100_000) {
        taken++;
        now += 1; // 1000 per second
      }
      // 1000 + 33/s over the ~1.03 s it took.
      expect(taken).to.be.within(1000, 1040);
    });
  });
});
