import { expect } from 'chai';
import { ConnectionBackoff } from '../../../lib/grpc/client/backoff';

describe('ConnectionBackoff (gRPC connection-backoff)', () => {
  const options = { initialBackoffMs: 1000, maxBackoffMs: 120_000, minConnectTimeoutMs: 20_000 };

  it('each attempt gets at least MIN_CONNECT_TIMEOUT; waits grow ×1.6 up to MAX_BACKOFF (no jitter at random 0.5)', () => {
    const backoff = new ConnectionBackoff(options, () => 0.5);
    let now = 0;
    expect(backoff.startAttempt(now)).to.equal(20_000);
    // Fails at once: wait until the first deadline (1 s), then 1.6 s, 2.56 s, ...
    expect(backoff.failed(now)).to.equal(1000);
    now = 1000;
    backoff.startAttempt(now);
    expect(backoff.failed(now)).to.be.closeTo(1600, 1e-6);
    now += 1600;
    backoff.startAttempt(now);
    expect(backoff.failed(now)).to.be.closeTo(2560, 1e-6);
    for (let index = 0; index < 30; index++) {
      now += backoff.failed(now);
    }
    expect(backoff.failed(now)).to.be.at.most(120_000);
  });

  it('jitter stays within ±20 %', () => {
    for (const random of [0, 1]) {
      const backoff = new ConnectionBackoff(options, () => random);
      backoff.startAttempt(0);
      backoff.failed(0);
      const wait = backoff.failed(1000);
      expect(wait).to.be.closeTo(random === 0 ? 1600 * 0.8 : 1600 * 1.2, 1e-6);
    }
  });

  it('reset() starts again from the initial backoff', () => {
    const backoff = new ConnectionBackoff(options, () => 0.5);
    backoff.startAttempt(0);
    backoff.failed(0);
    backoff.failed(1000);
    backoff.reset();
    backoff.startAttempt(5000);
    expect(backoff.failed(5000)).to.equal(1000);
  });
});
