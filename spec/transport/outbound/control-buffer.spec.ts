import { expect } from 'chai';
import { ControlBuffer, DEFAULT_THROTTLE_THRESHOLD } from '../../../lib/transport/outbound/control-buffer';
import type { ControlItem } from '../../../lib/transport/outbound/control-item';
import { isTransportResponse } from '../../../lib/transport/outbound/control-item';
// The buffer never calls an item's stream events; a stand-in object is enough.
const EVENTS = { isAborted: false, onBytesWritten() {}, onEndWritten() {} };
const PING_DATA = Buffer.from('12345678');

// Items are linked through their own `next` field, so every put needs a fresh object.
const pingAck = (): ControlItem => ({ kind: 'ping', ack: true, data: PING_DATA });
const ping = (): ControlItem => ({ kind: 'ping', ack: false, data: PING_DATA });
const settingsIn = (): ControlItem => ({ kind: 'incomingSettings', entries: [] });
const resetResponse = (streamId = 1): ControlItem => ({ kind: 'cleanupStream', streamId, rstCode: 1, responseToPeer: true });
const resetOwn = (streamId = 1): ControlItem => ({ kind: 'cleanupStream', streamId, rstCode: 8, responseToPeer: false });
const cleanupQuiet = (streamId = 1): ControlItem => ({ kind: 'cleanupStream', streamId, rstCode: null, responseToPeer: true });
const data = (): ControlItem => ({ kind: 'data', streamId: 1, data: Buffer.from('x'), endStream: false });
const headers = (): ControlItem => ({ kind: 'headers', streamId: 1, events: EVENTS, template: null, headers: [], endStream: false });
/** An outgoing WINDOW_UPDATE on stream `increment` (distinct streams, so they queue rather than merge). */
const windowUpdate = (increment: number): ControlItem => ({ kind: 'outgoingWindowUpdate', streamId: increment, increment });
const incomingUpdate = (streamId: number, increment: number): ControlItem => ({ kind: 'incomingWindowUpdate', streamId, increment });

/** A buffer that records every onThrottle call. */
function recording(threshold?: number): { buffer: ControlBuffer; calls: boolean[] } {
  const calls: boolean[] = [];
  const buffer = new ControlBuffer({ onThrottle: (on) => calls.push(on), throttleThreshold: threshold });
  return { buffer, calls };
}

function drain(buffer: ControlBuffer): ControlItem[] {
  const out: ControlItem[] = [];
  for (let item = buffer.get(); item !== null; item = buffer.get()) out.push(item);
  return out;
}

describe('ControlBuffer', () => {
  describe('queue', () => {
    it('returns items in FIFO order', () => {
      const buffer = new ControlBuffer();
      const items = [1, 2, 3, 4, 5].map(windowUpdate);
      for (const item of items) expect(buffer.put(item)).to.equal(true);
      expect(buffer.size).to.equal(5);
      const taken = drain(buffer);
      expect(taken).to.have.length(5);
      taken.forEach((item, index) => expect(item).to.equal(items[index]));
      expect(buffer.size).to.equal(0);
    });

    it('keeps FIFO order across interleaved puts and gets (and clears the link field)', () => {
      const buffer = new ControlBuffer();
      const taken: number[] = [];
      let next = 1;
      for (let round = 0; round < 20; round++) {
        for (let index = 0; index < (round % 4) + 1; index++) buffer.put(windowUpdate(next++));
        for (let index = 0; index < (round % 3) + 1; index++) {
          const item = buffer.get();
          if (item === null) break;
          expect(item.next ?? null).to.equal(null);
          taken.push((item as { increment: number }).increment);
        }
      }
      for (const item of drain(buffer)) taken.push((item as { increment: number }).increment);
      expect(taken).to.deep.equal(Array.from({ length: next - 1 }, (_, index) => index + 1));
    });

    it('get() on an empty buffer returns null, also after it has been emptied', () => {
      const buffer = new ControlBuffer();
      expect(buffer.get()).to.equal(null);
      buffer.put(ping());
      expect(buffer.get()).to.not.equal(null);
      expect(buffer.get()).to.equal(null);
      expect(buffer.size).to.equal(0);
      // Still usable: the tail was reset along with the head.
      const item = ping();
      buffer.put(item);
      expect(buffer.get()).to.equal(item);
    });
  });

  describe('getBlocking', () => {
    it('resolves at once with a queued item', async () => {
      const buffer = new ControlBuffer();
      const item = ping();
      buffer.put(item);
      expect(await buffer.getBlocking()).to.equal(item);
      expect(buffer.size).to.equal(0);
    });

    it('resolves with an item put later, handed over without being queued', async () => {
      const buffer = new ControlBuffer();
      let settled = false;
      const pending = buffer.getBlocking().then((item) => {
        settled = true;
        return item;
      });
      await Promise.resolve();
      expect(settled).to.equal(false);
      const item = headers();
      expect(buffer.put(item)).to.equal(true);
      expect(await pending).to.equal(item);
      expect(buffer.size).to.equal(0);
      expect(buffer.get()).to.equal(null);
    });

    it('a handed-over transport response does not stay counted', async () => {
      const buffer = new ControlBuffer();
      const pending = buffer.getBlocking();
      buffer.put(pingAck());
      await pending;
      expect(buffer.queuedTransportResponses).to.equal(0);
    });

    it('resolves with null after finish()', async () => {
      const buffer = new ControlBuffer();
      const pending = buffer.getBlocking();
      buffer.finish();
      expect(await pending).to.equal(null);
      expect(await buffer.getBlocking()).to.equal(null);
    });

    it('rejects a second concurrent waiter, and the first still gets the next item', async () => {
      const buffer = new ControlBuffer();
      const first = buffer.getBlocking();
      let error: unknown = null;
      await buffer.getBlocking().then(
        () => expect.fail('the second waiter must be rejected'),
        (caught: unknown) => {
          error = caught;
        },
      );
      expect(error).to.be.instanceOf(Error);
      expect((error as Error).message).to.match(/only one reader/);
      const item = data();
      buffer.put(item);
      expect(await first).to.equal(item);
    });
  });

  describe('executeAndPut', () => {
    it('queues only when the check returns true, and runs the check exactly once', () => {
      const buffer = new ControlBuffer();
      let runs = 0;
      const accepted = data();
      expect(
        buffer.executeAndPut(() => {
          runs++;
          return false;
        }, data()),
      ).to.equal(false);
      expect(runs).to.equal(1);
      expect(buffer.size).to.equal(0);
      expect(
        buffer.executeAndPut(() => {
          runs++;
          return true;
        }, accepted),
      ).to.equal(true);
      expect(runs).to.equal(2);
      expect(buffer.size).to.equal(1);
      expect(buffer.get()).to.equal(accepted);
    });

    it('neither runs the check nor queues after finish()', () => {
      const buffer = new ControlBuffer();
      buffer.finish();
      let runs = 0;
      expect(
        buffer.executeAndPut(() => {
          runs++;
          return true;
        }, data()),
      ).to.equal(false);
      expect(runs).to.equal(0);
      expect(buffer.size).to.equal(0);
    });
  });

  describe('finish', () => {
    it('makes put return false and drops the item', () => {
      const buffer = new ControlBuffer();
      buffer.finish();
      expect(buffer.isFinished).to.equal(true);
      expect(buffer.put(ping())).to.equal(false);
      expect(buffer.put(pingAck())).to.equal(false);
      expect(buffer.size).to.equal(0);
      expect(buffer.queuedTransportResponses).to.equal(0);
      expect(buffer.get()).to.equal(null);
    });

    it('discards queued items', () => {
      const buffer = new ControlBuffer();
      buffer.put(ping());
      buffer.put(pingAck());
      buffer.finish();
      expect(buffer.size).to.equal(0);
      expect(buffer.get()).to.equal(null);
    });

    it('is idempotent', () => {
      const { buffer, calls } = recording(1);
      buffer.put(pingAck());
      buffer.finish();
      buffer.finish();
      expect(calls).to.deep.equal([true, false]);
    });
  });

  describe('transport responses', () => {
    it('are PING ACKs, incoming SETTINGS, window updates, and resets the peer sent or caused', () => {
      expect(isTransportResponse(pingAck())).to.equal(true);
      expect(isTransportResponse(settingsIn())).to.equal(true);
      expect(isTransportResponse(resetResponse())).to.equal(true);
      expect(isTransportResponse(ping())).to.equal(false);
      expect(isTransportResponse(resetOwn())).to.equal(false);
      expect(isTransportResponse(data())).to.equal(false);
      expect(isTransportResponse(headers())).to.equal(false);
      expect(isTransportResponse(windowUpdate(1))).to.equal(true);
      expect(isTransportResponse(incomingUpdate(1, 1))).to.equal(true);
      expect(isTransportResponse(cleanupQuiet())).to.equal(true);
      expect(isTransportResponse({ kind: 'outgoingSettings', entries: [] })).to.equal(false);
    });
  });

  describe('throttle', () => {
    let nextStream = 1;
    it('uses a default threshold of 50', () => {
      expect(DEFAULT_THROTTLE_THRESHOLD).to.equal(50);
    });

    for (const [name, make] of [
      ['ping ack', pingAck],
      ['incomingSettings', settingsIn],
      ['cleanupStream with rstCode and responseToPeer', resetResponse],
      ['cleanupStream for a peer reset (no rstCode)', cleanupQuiet],
      ['incoming WINDOW_UPDATE (distinct streams)', () => incomingUpdate(nextStream++, 1)],
    ] as const) {
      it(`fires onThrottle(true) exactly when the 50th ${name} is queued`, () => {
        const { buffer, calls } = recording();
        for (let index = 1; index < 50; index++) {
          buffer.put(make());
          expect(calls, `after ${index} items`).to.deep.equal([]);
        }
        expect(buffer.isThrottled).to.equal(false);
        buffer.put(make());
        expect(calls).to.deep.equal([true]);
        expect(buffer.isThrottled).to.equal(true);
        expect(buffer.queuedTransportResponses).to.equal(50);
        // More responses do not fire it again.
        buffer.put(make());
        expect(calls).to.deep.equal([true]);
      });
    }

    it('counts a mix of the three kinds of response', () => {
      const { buffer, calls } = recording();
      const makers = [pingAck, settingsIn, resetResponse];
      for (let index = 0; index < 49; index++) buffer.put(makers[index % 3]());
      expect(calls).to.deep.equal([]);
      buffer.put(settingsIn());
      expect(calls).to.deep.equal([true]);
    });

    it('is not fired by items that are not transport responses', () => {
      const { buffer, calls } = recording();
      const makers = [ping, data, headers, resetOwn];
      for (let index = 0; index < 600; index++) buffer.put(makers[index % makers.length]());
      expect(buffer.size).to.equal(600);
      expect(calls).to.deep.equal([]);
      expect(buffer.queuedTransportResponses).to.equal(0);
      // 49 responses among them still do not reach the threshold.
      for (let index = 0; index < 49; index++) buffer.put(pingAck());
      expect(calls).to.deep.equal([]);
      buffer.put(pingAck());
      expect(calls).to.deep.equal([true]);
    });

    it('fires onThrottle(false) when get() takes it below 50', () => {
      const { buffer, calls } = recording();
      for (let index = 0; index < 51; index++) buffer.put(pingAck());
      expect(calls).to.deep.equal([true]);
      buffer.get(); // 50 left
      expect(calls).to.deep.equal([true]);
      expect(buffer.isThrottled).to.equal(true);
      buffer.get(); // 49 left
      expect(calls).to.deep.equal([true, false]);
      expect(buffer.isThrottled).to.equal(false);
      drain(buffer);
      expect(calls).to.deep.equal([true, false]);
    });

    it('taking non-response items does not release it', () => {
      const { buffer, calls } = recording();
      buffer.put(data());
      buffer.put(ping());
      for (let index = 0; index < 50; index++) buffer.put(pingAck());
      expect(calls).to.deep.equal([true]);
      buffer.get();
      buffer.get();
      expect(calls).to.deep.equal([true]);
      expect(buffer.queuedTransportResponses).to.equal(50);
      buffer.get();
      expect(calls).to.deep.equal([true, false]);
    });

    it('fires again when the threshold is reached a second time', () => {
      const { buffer, calls } = recording();
      for (let index = 0; index < 50; index++) buffer.put(pingAck());
      buffer.get();
      buffer.put(pingAck());
      expect(calls).to.deep.equal([true, false, true]);
    });

    it('honours a custom threshold', () => {
      const { buffer, calls } = recording(3);
      buffer.put(pingAck());
      buffer.put(data());
      buffer.put(settingsIn());
      expect(calls).to.deep.equal([]);
      buffer.put(resetResponse());
      expect(calls).to.deep.equal([true]);
      expect(buffer.get()!.kind).to.equal('ping');
      expect(calls).to.deep.equal([true, false]);
    });

    it('finish() releases the throttle', () => {
      const { buffer, calls } = recording(2);
      buffer.put(pingAck());
      buffer.put(pingAck());
      expect(calls).to.deep.equal([true]);
      buffer.finish();
      expect(calls).to.deep.equal([true, false]);
      expect(buffer.isThrottled).to.equal(false);
      expect(buffer.queuedTransportResponses).to.equal(0);
    });

    it('finish() does not report a release when it was not throttled', () => {
      const { buffer, calls } = recording(2);
      buffer.put(pingAck());
      buffer.finish();
      expect(calls).to.deep.equal([]);
    });
  });

  describe('window update merging', () => {
    it("does not merge a stream's update across a peer SETTINGS (its INITIAL_WINDOW_SIZE applies in between)", () => {
      const buffer = new ControlBuffer();
      buffer.put(incomingUpdate(3, 10));
      buffer.put({ kind: 'incomingSettings', entries: [{ id: 4, value: 0 }] });
      buffer.put(incomingUpdate(3, 20));
      expect(drain(buffer).map((item) => item.kind)).to.deep.equal(['incomingWindowUpdate', 'incomingSettings', 'incomingWindowUpdate']);
    });

    it('merges a WINDOW_UPDATE flood on one stream into the queued item', () => {
      const { buffer } = recording();
      buffer.put(data());
      for (let index = 0; index < 100_000; index++) buffer.put(incomingUpdate(0, 1));
      expect(buffer.size).to.equal(2);
      expect(buffer.queuedTransportResponses).to.equal(1);
      const items = drain(buffer);
      expect(items[1]).to.include({ kind: 'incomingWindowUpdate', streamId: 0, increment: 100_000 });
    });

    it('keeps incoming and outgoing updates, and different streams, apart', () => {
      const buffer = new ControlBuffer();
      buffer.put(incomingUpdate(3, 1));
      buffer.put({ kind: 'outgoingWindowUpdate', streamId: 3, increment: 10 });
      buffer.put(incomingUpdate(5, 1));
      buffer.put(incomingUpdate(3, 2));
      buffer.put({ kind: 'outgoingWindowUpdate', streamId: 3, increment: 20 });
      const items = drain(buffer).map((item) => ({ ...item, next: undefined }));
      expect(items).to.deep.equal([
        { kind: 'incomingWindowUpdate', streamId: 3, increment: 3, next: undefined },
        { kind: 'outgoingWindowUpdate', streamId: 3, increment: 30, next: undefined },
        { kind: 'incomingWindowUpdate', streamId: 5, increment: 1, next: undefined },
      ]);
    });

    it('does not merge into an item the writer has already taken', () => {
      const buffer = new ControlBuffer();
      buffer.put(incomingUpdate(1, 5));
      const taken = buffer.get() as { increment: number };
      buffer.put(incomingUpdate(1, 7));
      expect(taken.increment).to.equal(5);
      expect((buffer.get() as { increment: number }).increment).to.equal(7);
    });

    it('leaves a sum past 2^31-1 as two items, so the writer still sees the overflow', () => {
      const buffer = new ControlBuffer();
      buffer.put(incomingUpdate(1, 2 ** 31 - 10));
      buffer.put(incomingUpdate(1, 100));
      expect(buffer.size).to.equal(2);
    });
  });

  describe('hard caps', () => {
    it('DATA handed straight to a waiting writer leaves the byte count where it was (no drift below zero)', async () => {
      let overflows = 0;
      const buffer = new ControlBuffer({ maxBytes: 5, onOverflow: () => overflows++ });
      for (let index = 0; index < 100; index++) {
        const pending = buffer.getBlocking();
        buffer.put(data());
        await pending;
      }
      expect(buffer.queuedBytes).to.equal(0);
      for (let index = 0; index < 6; index++) buffer.put(data());
      expect(overflows).to.equal(1);
    });

    it('calls onOverflow once when more items than maxItems are queued', () => {
      let overflows = 0;
      const buffer = new ControlBuffer({ maxItems: 10, onOverflow: () => overflows++ });
      for (let index = 0; index < 10; index++) buffer.put(ping());
      expect(overflows).to.equal(0);
      buffer.put(ping());
      buffer.put(ping());
      expect(overflows).to.equal(1);
    });

    it('counts queued DATA bytes and calls onOverflow past maxBytes', () => {
      let overflows = 0;
      const buffer = new ControlBuffer({ maxBytes: 2, onOverflow: () => overflows++ });
      buffer.put(data());
      buffer.put(data());
      expect(buffer.queuedBytes).to.equal(2);
      expect(overflows).to.equal(0);
      buffer.put(data());
      expect(overflows).to.equal(1);
      drain(buffer);
      expect(buffer.queuedBytes).to.equal(0);
    });
  });
});
