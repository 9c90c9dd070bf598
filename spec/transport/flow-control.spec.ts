import { expect } from 'chai';
import fc from 'fast-check';
import { ReceiveWindow, increaseSendWindow } from '../../lib/transport/flow-control';
import { DEFAULT_WINDOW_SIZE, MAX_WINDOW_SIZE } from '../../lib/transport/settings';

describe('flow control', () => {
  describe('ReceiveWindow', () => {
    it('starts with the whole window available', () => {
      const window = new ReceiveWindow(DEFAULT_WINDOW_SIZE);
      expect(window.windowSize).to.equal(65535);
      expect(window.remaining).to.equal(65535);
    });

    it('onData charges received bytes and rejects data beyond the window', () => {
      const window = new ReceiveWindow(1000);
      expect(window.onData(600)).to.equal(true);
      expect(window.remaining).to.equal(400);
      expect(window.onData(401)).to.equal(false);
      // A rejected frame charges nothing.
      expect(window.remaining).to.equal(400);
      expect(window.onData(400)).to.equal(true);
      expect(window.remaining).to.equal(0);
      expect(window.onData(1)).to.equal(false);
      // An empty DATA frame is always fine.
      expect(window.onData(0)).to.equal(true);
      expect(window.remaining).to.equal(0);
    });

    it('onConsumed returns 0 until a quarter of the window is consumed, then the accumulated increment', () => {
      const window = new ReceiveWindow(65535);
      expect(window.onData(65535)).to.equal(true);
      // A quarter of 65535 is 16383.75.
      expect(window.onConsumed(10000)).to.equal(0);
      expect(window.onConsumed(6383)).to.equal(0);
      expect(window.remaining).to.equal(0);
      expect(window.onConsumed(1)).to.equal(16384);
      // Nothing is credited until the WINDOW_UPDATE is written.
      expect(window.remaining).to.equal(0);
      window.credit(16384);
      expect(window.remaining).to.equal(16384);
      // The count starts over after an update.
      expect(window.onConsumed(16383)).to.equal(0);
      expect(window.onConsumed(30000)).to.equal(46383);
      window.credit(46383);
      expect(window.remaining).to.equal(62767);
    });

    it('a peer that keeps sending while our WINDOW_UPDATE waits unwritten exceeds the window', () => {
      const window = new ReceiveWindow(1000);
      expect(window.onData(1000)).to.equal(true);
      expect(window.onConsumed(1000)).to.equal(1000);
      // The update is queued behind a blocked writer: the peer has not been told, so more is an overflow.
      expect(window.onData(1)).to.equal(false);
    });

    it('announces at exactly a quarter', () => {
      const window = new ReceiveWindow(1000);
      window.onData(1000);
      expect(window.onConsumed(249)).to.equal(0);
      expect(window.onConsumed(1)).to.equal(250);
    });

    it('growTo raises the window and returns the increment to announce', () => {
      const window = new ReceiveWindow(65535);
      window.onData(1000);
      expect(window.growTo(1 << 20)).to.equal((1 << 20) - 65535);
      expect(window.windowSize).to.equal(1 << 20);
      expect(window.remaining).to.equal((1 << 20) - 1000);
    });

    it('growTo never shrinks, and caps at 2^31-1', () => {
      const window = new ReceiveWindow(1 << 20);
      expect(window.growTo(65535)).to.equal(0);
      expect(window.growTo(1 << 20)).to.equal(0);
      expect(window.windowSize).to.equal(1 << 20);
      expect(window.growTo(2 ** 32)).to.equal(MAX_WINDOW_SIZE - (1 << 20));
      expect(window.windowSize).to.equal(MAX_WINDOW_SIZE);
      expect(window.remaining).to.equal(MAX_WINDOW_SIZE);
      expect(window.growTo(MAX_WINDOW_SIZE + 1)).to.equal(0);
    });

    it('growTo changes the update threshold to a quarter of the new window', () => {
      const window = new ReceiveWindow(1000);
      window.growTo(4000);
      window.onData(2000);
      expect(window.onConsumed(999)).to.equal(0);
      expect(window.onConsumed(1)).to.equal(1000);
    });

    it('resize applies the difference to what the peer may send, possibly going negative (RFC 9113 §6.9.2)', () => {
      const window = new ReceiveWindow(65535);
      window.onData(60000);
      window.resize(1000);
      expect(window.windowSize).to.equal(1000);
      expect(window.remaining).to.equal(65535 - 60000 - 64535);
      expect(window.remaining).to.equal(-59000);
      expect(window.onData(1)).to.equal(false);
      window.resize(100000);
      expect(window.windowSize).to.equal(100000);
      expect(window.remaining).to.equal(40000);
      expect(window.onData(40000)).to.equal(true);
      expect(window.onData(1)).to.equal(false);
    });

    it('after a resize, consumed bytes are announced against the new window size', () => {
      const window = new ReceiveWindow(65535);
      window.onData(8000);
      window.resize(16000);
      expect(window.remaining).to.equal(8000);
      expect(window.onConsumed(3999)).to.equal(0);
      expect(window.onConsumed(1)).to.equal(4000);
      window.credit(4000);
      expect(window.remaining).to.equal(12000);
    });
  });

  describe('increaseSendWindow', () => {
    it('adds the increment', () => {
      expect(increaseSendWindow(65535, 1000)).to.equal(66535);
      expect(increaseSendWindow(0, 1)).to.equal(1);
    });

    it('allows exactly 2^31-1 and rejects anything above (RFC 9113 §6.9.1)', () => {
      expect(increaseSendWindow(MAX_WINDOW_SIZE - 1, 1)).to.equal(MAX_WINDOW_SIZE);
      expect(increaseSendWindow(0, MAX_WINDOW_SIZE)).to.equal(MAX_WINDOW_SIZE);
      expect(increaseSendWindow(MAX_WINDOW_SIZE, 1)).to.equal(null);
      expect(increaseSendWindow(1, MAX_WINDOW_SIZE)).to.equal(null);
      expect(increaseSendWindow(65535, MAX_WINDOW_SIZE)).to.equal(null);
    });

    it('works from a negative window and with negative deltas (SETTINGS changes)', () => {
      expect(increaseSendWindow(-9000, 8000)).to.equal(-1000);
      expect(increaseSendWindow(100, -64535)).to.equal(-64435);
      expect(increaseSendWindow(-1, MAX_WINDOW_SIZE)).to.equal(MAX_WINDOW_SIZE - 1);
    });

    it('property: returns window + increment exactly when that is at most 2^31-1', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: -MAX_WINDOW_SIZE, max: MAX_WINDOW_SIZE }),
          fc.integer({ min: -MAX_WINDOW_SIZE, max: MAX_WINDOW_SIZE }),
          (window, increment) => {
            const next = increaseSendWindow(window, increment);
            if (window + increment > MAX_WINDOW_SIZE) expect(next).to.equal(null);
            else expect(next).to.equal(window + increment);
          },
        ),
      );
    });
  });

  describe('ReceiveWindow (property)', () => {
    type Op = { op: 'receive'; fraction: number } | { op: 'consume'; fraction: number } | { op: 'grow'; extra: number };

    const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
      { weight: 4, arbitrary: fc.record({ op: fc.constant('receive' as const), fraction: fc.double({ min: 0, max: 1, noNaN: true }) }) },
      { weight: 4, arbitrary: fc.record({ op: fc.constant('consume' as const), fraction: fc.double({ min: 0, max: 1, noNaN: true }) }) },
      { weight: 1, arbitrary: fc.record({ op: fc.constant('grow' as const), extra: fc.integer({ min: 0, max: 1 << 20 }) }) },
    );

    it("keeps the peer's view (limit − sent + returned increments) within [0, limit]", () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 1 << 22 }), fc.array(opArbitrary, { maxLength: 200 }), (initial, ops) => {
          const window = new ReceiveWindow(initial);
          // The peer's bookkeeping: what it was allowed (initial + growths + WINDOW_UPDATEs) minus what it sent.
          let limit = initial;
          let peerView = initial;
          let received = 0;
          let consumed = 0;
          for (const op of ops) {
            if (op.op === 'receive') {
              // A well-behaved peer sends at most what its view allows.
              const length = Math.floor(op.fraction * peerView);
              expect(window.onData(length), 'data within the window is accepted').to.equal(true);
              peerView -= length;
              received += length;
            } else if (op.op === 'consume') {
              // Only received bytes can be consumed.
              const length = Math.floor(op.fraction * (received - consumed));
              const increment = window.onConsumed(length);
              window.credit(increment);
              consumed += length;
              expect(increment).to.be.at.least(0);
              if (increment > 0) expect(increment).to.be.at.least(limit / 4);
              peerView += increment;
            } else {
              const increment = window.growTo(limit + op.extra);
              expect(increment).to.equal(Math.min(limit + op.extra, MAX_WINDOW_SIZE) - limit);
              limit += increment;
              peerView += increment;
            }
            expect(peerView, 'peer view').to.be.at.least(0);
            expect(peerView, 'peer view').to.be.at.most(limit);
            expect(window.remaining, 'our view matches the peer view').to.equal(peerView);
            expect(window.windowSize).to.equal(limit);
            // Window is withheld only for bytes not yet consumed, plus less than a quarter of the window.
            const withheld = limit - peerView;
            expect(withheld).to.be.at.least(received - consumed);
            expect(withheld - (received - consumed)).to.be.below(Math.max(limit / 4, 1));
            // One more byte than the view allows is always rejected (and charges nothing).
            expect(window.onData(peerView + 1)).to.equal(false);
          }
        }),
        { numRuns: 300 },
      );
    });
  });
});
