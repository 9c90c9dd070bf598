/**
 * Hardening acceptance specs, stream resets: Rapid Reset (CVE-2023-44487) and MadeYouReset
 * (CVE-2025-8671) against a handler that does not finish quickly. Running handlers must never
 * exceed the stream limit (a reset stream whose handler still runs keeps its slot), streams beyond
 * it are refused, and once the reset budget is spent the attacker gets GOAWAY(ENHANCE_YOUR_CALM).
 */
import { expect } from 'chai';
import type { UntypedServiceImplementation } from '../../lib';
import { ErrorCode } from '../../lib/transport/errors';
import { FrameType } from '../../lib/transport/frame/frame-type';
import {
  attackTargets,
  type AttackTarget,
  connectAttacker,
  describeFlood,
  expectCalmGoAway,
  expectServerUnharmed,
  floodUntilGoAway,
  underAttack,
} from '../support/abuse-scenario';
import { perStreamBatch } from '../support/abuse';
import { frames } from '../support/frames';
import { type RawPeer } from '../support/raw-peer';
import { echoMessage, grpcRequestHeaders } from '../support/echo-request';

const STREAM_LIMIT = 100;
const STREAMS_PER_BATCH = 500;
/** 100 000 streams at most, ~3 s at most. */
const BOUNDS = { maxBatches: 200, maxMs: 3000 };
/** The message that makes UnaryEcho slow (30 s); anything else is echoed at once. */
const SLOW = 'slow';

/** Handlers entered and not finished (they finish only when their 30 s timer fires). */
interface HandlerCounter {
  started: number;
  running: number;
  maxRunning: number;
}

/** A UnaryEcho that answers "slow" only after 30 s (ignoring cancellation), everything else at once. */
function slowUnaryEcho(target: () => AttackTarget, counter: HandlerCounter): UntypedServiceImplementation {
  return {
    UnaryEcho(call, callback) {
      const message = (call.request as { message: string }).message;
      if (message !== SLOW) {
        callback(null, { message });
        return;
      }
      counter.started++;
      counter.running++;
      counter.maxRunning = Math.max(counter.maxRunning, counter.running);
      target().timer(() => {
        counter.running--;
        callback(null, { message });
      }, 30000);
    },
  };
}

/**
 * One request header block for every stream after the first: the peer's HPACK encoder indexes the
 * fields on the first use, so from the second on the block is the same few bytes.
 */
function steadyHeaderBlock(peer: RawPeer): { first: Buffer; steady: Buffer } {
  const headers = grpcRequestHeaders();
  const first = peer.encodeHeaders(headers);
  const steady = peer.encodeHeaders(headers);
  if (!peer.encodeHeaders(headers).equals(steady)) throw new Error('the header block does not settle');
  return { first, steady };
}

/** Per stream: HEADERS, then the request with END_STREAM, then `provoke(id)` (what gets the stream reset). */
function resetBatches(peer: RawPeer, provoke: (streamId: number) => Buffer): (index: number) => Buffer {
  const { first, steady } = steadyHeaderBlock(peer);
  const body = echoMessage(SLOW);
  const stream = (id: number, block: Buffer) => Buffer.concat([frames.headers(id, block), frames.data(id, body, { endStream: true }), provoke(id)]);
  // Stream 1 carries the block that fills the HPACK table; every later one the same few bytes.
  const template = stream(1, steady);
  return (index) => {
    if (index > 0) return perStreamBatch(template, STREAMS_PER_BATCH, 1 + 2 * STREAMS_PER_BATCH * index);
    return Buffer.concat([stream(1, first), perStreamBatch(template, STREAMS_PER_BATCH - 1, 3)]);
  };
}

describe('abuse: stream resets (hardening acceptance)', function () {
  this.timeout(20000);
  const start = attackTargets();

  /** Runs one reset attack and checks the budget, the stream limit and the server's health. */
  async function resetAttack(provoke: (streamId: number) => Buffer): Promise<void> {
    const counter: HandlerCounter = { started: 0, running: 0, maxRunning: 0 };
    // The handlers read the target once it exists (they only run after it does).
    const target: AttackTarget = await start(slowUnaryEcho(() => target, counter));
    const { peer, watcher } = await connectAttacker(target);
    peer.sendPreface();
    const batch = resetBatches(peer, provoke);
    const outcome = await underAttack(target.port, (monitor) => floodUntilGoAway(peer, watcher, monitor, batch, BOUNDS));
    const refused = watcher.resets(ErrorCode.REFUSED_STREAM);
    await expectServerUnharmed(
      target.port,
      outcome,
      `${describeFlood(outcome.result, STREAMS_PER_BATCH, 'streams')}; handlers started ${counter.started}, max running ${counter.maxRunning}; ` +
        `RST_STREAM from the server: ${watcher.count(FrameType.RST_STREAM)} (REFUSED_STREAM ${refused})`,
    );
    expect(counter.started, 'handlers started by the attack').to.be.greaterThan(0);
    expect(counter.maxRunning, 'handlers running at once').to.be.at.most(STREAM_LIMIT);
    expectCalmGoAway(outcome.result);
    expect(refused, 'streams beyond the limit get RST_STREAM REFUSED_STREAM').to.be.greaterThan(0);
  }

  it('Rapid Reset (HEADERS + RST_STREAM CANCEL pairs): handlers stay within the stream limit, then GOAWAY ENHANCE_YOUR_CALM (3)', async () => {
    await resetAttack((id) => frames.rstStream(id, ErrorCode.CANCEL));
  });

  describe('MadeYouReset: frames that make the server reset the stream (4)', () => {
    it('WINDOW_UPDATE with increment 0 on each stream: handlers stay within the stream limit, then GOAWAY ENHANCE_YOUR_CALM', async () => {
      await resetAttack((id) => frames.raw(FrameType.WINDOW_UPDATE, 0, id, [0, 0, 0, 0]));
    });

    it('DATA after END_STREAM on each stream: handlers stay within the stream limit, then GOAWAY ENHANCE_YOUR_CALM', async () => {
      await resetAttack((id) => frames.data(id, echoMessage('too late')));
    });
  });
});
