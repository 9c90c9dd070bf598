import { expect } from 'chai';
import { once } from 'node:events';
import { duplexPair } from '../../lib/transport/duplex-pair';
import { eventually } from '../support/waiting';

/** The in-memory socket pair the transport specs run connections over. */
describe('duplexPair (spec support)', () => {
  it('delivers what one side writes to the other, in order, never inside the write() call', async () => {
    const [left, right] = duplexPair();
    const received: string[] = [];
    right.on('data', (chunk: Buffer) => received.push(chunk.toString()));
    left.write('one');
    left.write('two');
    expect(received).to.deep.equal([]);
    await new Promise<void>((resolve) => left.write('three', () => resolve()));
    expect(received).to.deep.equal(['one', 'two', 'three']);
    left.resume(); // a side closes only once its readable side has ended, i.e. was read to the end
    const closed = Promise.all([once(left, 'close'), once(right, 'close')]);
    left.end();
    await closed;
  });

  it('backpressure: a writer to a paused reader gets write() false, and drain once the reader reads', async () => {
    const [left, right] = duplexPair({ highWaterMark: 1024 });
    right.pause();
    const chunk = Buffer.alloc(256, 7);
    let written = 0;
    while (left.write(chunk)) written += chunk.length;
    written += chunk.length;
    // Nothing can flow: wait until the reader's buffer is full and the writer holds the rest.
    await eventually(() => right.readableLength >= 1024);
    expect(right.readableLength).to.equal(1024);
    expect(left.writableLength).to.be.greaterThan(0);
    expect(written).to.be.at.most(2 * 1024 + chunk.length);
    let received = 0;
    right.on('data', (data: Buffer) => (received += data.length));
    right.resume();
    await once(left, 'drain');
    await new Promise<void>((resolve) => left.write(Buffer.alloc(0), () => resolve()));
    expect(received).to.equal(written);
    left.resume();
    const closed = Promise.all([once(left, 'close'), once(right, 'close')]);
    right.end();
    await closed;
  });

  it('end() on one side ends the other side, and both close (allowHalfOpen false)', async () => {
    const [left, right] = duplexPair();
    right.resume();
    left.resume();
    const ended = once(right, 'end');
    const closed = Promise.all([once(left, 'close'), once(right, 'close')]);
    left.end('last');
    await ended;
    await closed;
    expect(left.writableFinished && right.writableFinished).to.equal(true);
  });

  it('destroy() on one side ends the other and releases a write waiting on the destroyed side', async () => {
    const [left, right] = duplexPair({ highWaterMark: 16 });
    right.pause();
    let released = false;
    left.write(Buffer.alloc(64), () => (released = true)); // over the reader's mark: waits for _read
    await eventually(() => right.readableLength > 0);
    expect(released).to.equal(false);
    left.resume();
    const leftEnded = once(left, 'end');
    const closed = Promise.all([once(left, 'close'), once(right, 'close')]);
    right.destroy();
    await leftEnded;
    await closed;
    expect(released).to.equal(true);
  });
});
