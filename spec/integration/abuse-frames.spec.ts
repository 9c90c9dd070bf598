/**
 * Hardening acceptance specs, frame floods: CONTINUATION floods and the invalid-frame budget. Each
 * attack is bounded (frame count and ~3 s), and must end with GOAWAY(ENHANCE_YOUR_CALM) and a
 * closed socket while a fresh connection is served during and after it, with event-loop lag under
 * 100 ms and memory growth under 50 MB.
 */
import { expect } from 'chai';
import { FrameType } from '../../lib/transport/frame/frame-type';
import { perStreamBatch, repeated } from '../support/abuse';
import {
  attackTargets,
  connectAttacker,
  describeFlood,
  expectCalmGoAway,
  expectServerUnharmed,
  floodUntilGoAway,
  underAttack,
} from '../support/abuse-scenario';
import { frames } from '../support/frames';
import { RawPeer } from '../support/raw-peer';
import { echoMessage, grpcRequestHeaders } from '../support/echo-request';

const EMPTY = Buffer.alloc(0);
const FRAMES_PER_BATCH = 2000;
/** 200 000 frames at most, ~3 s at most. */
const BOUNDS = { maxBatches: 100, maxMs: 3000 };

/** The header block split into `pieces` fragments: HEADERS + (pieces - 1) CONTINUATION frames, END_HEADERS on the last. */
function splitHeaderBlock(streamId: number, block: Buffer, pieces: number): Buffer[] {
  const size = Math.ceil(block.length / pieces);
  if (size * (pieces - 1) >= block.length) throw new Error(`a block of ${block.length} bytes cannot be cut into ${pieces} non-empty pieces`);
  const out: Buffer[] = [];
  for (let index = 0; index < pieces; index++) {
    const fragment = block.subarray(index * size, (index + 1) * size);
    const last = index === pieces - 1;
    out.push(index === 0 ? frames.headers(streamId, fragment, { endHeaders: last }) : frames.continuation(streamId, fragment, last));
  }
  return out;
}

/** Request headers with enough padding to be cut into 10+ non-empty fragments. */
const PADDED_HEADERS = grpcRequestHeaders(undefined, ['x-padding', 'p'.repeat(64)]);

describe('abuse: frame floods (hardening acceptance)', function () {
  this.timeout(20000);
  const start = attackTargets();

  describe('CONTINUATION flood (1)', () => {
    it('zero-length CONTINUATION frames without END_HEADERS get GOAWAY ENHANCE_YOUR_CALM', async () => {
      const target = await start();
      const { peer, watcher } = await connectAttacker(target);
      peer.sendPreface();
      const block = peer.encodeHeaders(grpcRequestHeaders());
      peer.send(frames.headers(1, block.subarray(0, 4), { endHeaders: false }));
      const batch = repeated(frames.continuation(1, EMPTY, false), FRAMES_PER_BATCH);
      const outcome = await underAttack(target.port, (monitor) => floodUntilGoAway(peer, watcher, monitor, () => batch, BOUNDS));
      await expectServerUnharmed(target.port, outcome, describeFlood(outcome.result, FRAMES_PER_BATCH));
      expectCalmGoAway(outcome.result);
    });

    it('a header block in HEADERS + 9 CONTINUATION frames (more than 8) gets GOAWAY ENHANCE_YOUR_CALM', async () => {
      const target = await start();
      const { peer, watcher } = await connectAttacker(target);
      peer.sendPreface();
      const request = [...splitHeaderBlock(1, peer.encodeHeaders(PADDED_HEADERS), 10), frames.data(1, echoMessage('split'), { endStream: true })];
      const outcome = await underAttack(target.port, (monitor) =>
        floodUntilGoAway(peer, watcher, monitor, () => Buffer.concat(request), { maxBatches: 1, maxMs: 1000 }),
      );
      await expectServerUnharmed(target.port, outcome, describeFlood(outcome.result, request.length));
      expectCalmGoAway(outcome.result);
    });

    it('a header block in HEADERS + 8 CONTINUATION frames is still served', async () => {
      const target = await start();
      const peer: RawPeer = await target.connect();
      peer.sendPreface();
      peer.send([...splitHeaderBlock(1, peer.encodeHeaders(PADDED_HEADERS), 9), frames.data(1, echoMessage('split'), { endStream: true })]);
      const response = await peer.expectResponse(1);
      expect(response.grpcStatus, 'grpc-status').to.equal('0');
    });
  });

  describe('invalid-frame budget (5)', () => {
    it('a PRIORITY flood gets GOAWAY ENHANCE_YOUR_CALM', async () => {
      const target = await start();
      const { peer, watcher } = await connectAttacker(target);
      peer.sendPreface();
      const batch = repeated(frames.priority(3, { dependsOn: 0, weight: 16 }), FRAMES_PER_BATCH);
      const outcome = await underAttack(target.port, (monitor) => floodUntilGoAway(peer, watcher, monitor, () => batch, BOUNDS));
      await expectServerUnharmed(target.port, outcome, describeFlood(outcome.result, FRAMES_PER_BATCH));
      expectCalmGoAway(outcome.result);
    });

    it('a flood of zero-length DATA frames without END_STREAM gets GOAWAY ENHANCE_YOUR_CALM', async () => {
      const target = await start();
      const { peer, watcher } = await connectAttacker(target);
      peer.sendPreface();
      peer.openStream(1);
      const batch = repeated(frames.data(1, EMPTY), FRAMES_PER_BATCH);
      const outcome = await underAttack(target.port, (monitor) => floodUntilGoAway(peer, watcher, monitor, () => batch, BOUNDS));
      await expectServerUnharmed(target.port, outcome, describeFlood(outcome.result, FRAMES_PER_BATCH));
      expectCalmGoAway(outcome.result);
    });

    it('a flood of frames of an unknown type (0xfa) gets GOAWAY ENHANCE_YOUR_CALM', async () => {
      const target = await start();
      const { peer, watcher } = await connectAttacker(target);
      peer.sendPreface();
      const batch = repeated(frames.raw(0xfa, 0, 0), FRAMES_PER_BATCH);
      const outcome = await underAttack(target.port, (monitor) => floodUntilGoAway(peer, watcher, monitor, () => batch, BOUNDS));
      await expectServerUnharmed(target.port, outcome, describeFlood(outcome.result, FRAMES_PER_BATCH));
      expectCalmGoAway(outcome.result);
    });

    it('a flood of HEADERS frames with empty header blocks gets GOAWAY ENHANCE_YOUR_CALM', async () => {
      const target = await start();
      const { peer, watcher } = await connectAttacker(target);
      peer.sendPreface();
      // Each opens a new stream with no pseudo-headers at all: malformed, the stream is reset.
      const template = frames.headers(1, EMPTY, { endStream: true });
      const batch = (index: number) => perStreamBatch(template, FRAMES_PER_BATCH, 1 + 2 * FRAMES_PER_BATCH * index);
      const outcome = await underAttack(target.port, (monitor) => floodUntilGoAway(peer, watcher, monitor, batch, BOUNDS));
      await expectServerUnharmed(
        target.port,
        outcome,
        `${describeFlood(outcome.result, FRAMES_PER_BATCH)}; RST_STREAM received: ${watcher.count(FrameType.RST_STREAM)}`,
      );
      expectCalmGoAway(outcome.result);
    });
  });
});
