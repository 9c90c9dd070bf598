/**
 * Hardening acceptance specs, flow control and buffering: a peer that does not read, does not grant
 * window, or makes the server buffer large messages must not make the server's memory or event loop
 * grow with the attack. Each attack is bounded (~3 s, bounded bytes).
 */
import { expect } from 'chai';
import type { ServerDuplexStream } from '../../lib';
import type { Frame } from '../../lib/transport/frame/frame';
import { FrameType } from '../../lib/transport/frame/frame-type';
import { SettingId } from '../../lib/transport/settings';
import {
  BIDI_PATH,
  CLIENT_STREAMING_PATH,
  echoRequest,
  flood,
  FlowControlledSender,
  formatReport,
  ResourceMonitor,
  repeated,
  SERVER_STREAMING_PATH,
  sleep,
  truncatedMessage,
  waitUntil,
} from '../support/abuse';
import { attackTargets, connectAttacker, expectServerUnharmed, MAX_GROWTH_MB, note, shorten, underAttack } from '../support/abuse-scenario';
import { frames, PREFACE } from '../support/frames';
import { describeFrame, headerValue } from '../support/raw-peer';
import { echoMessage, grpcRequestHeaders } from '../support/echo-request';

const KiB = 1024;
const MiB = 1024 * 1024;
const MAX_WINDOW = 2 ** 31 - 1;

describe('abuse: flow control and buffering (hardening acceptance)', function () {
  this.timeout(20000);
  const start = attackTargets();

  it('WINDOW_UPDATE(0, +1) flood while the peer never reads: the control queue stays < 1000 items (throttled or merged) or the connection is closed; memory bounded (2)', async () => {
    const target = await start();
    const { peer } = await connectAttacker(target);
    peer.socket.pause(); // never read
    // Let the server write as much as it likes (the connection window keeps 2^30 of headroom for the flood).
    peer.send([PREFACE, frames.settings([{ id: SettingId.INITIAL_WINDOW_SIZE, value: MAX_WINDOW }]), frames.windowUpdate(0, 2 ** 30)]);
    peer.request(1, grpcRequestHeaders(SERVER_STREAMING_PATH), echoMessage(`repeat:100000:${'x'.repeat(100)}`));
    const connection = () => target.connections[0];
    const blocked = await waitUntil(() => connection()?.socket.writableNeedDrain === true, 5000);
    expect(blocked, "the server's writer is blocked on the attacker's socket").to.equal(true);

    const batch = repeated(frames.windowUpdate(0, 1), 2000);
    let maxControlItems = 0;
    const sampleStats = () => (maxControlItems = Math.max(maxControlItems, connection().stats.controlItems));
    const outcome = await underAttack(target.port, async (monitor) => {
      const result = await flood(peer.socket, () => batch, {
        maxBatches: 100,
        maxMs: 3000,
        stop: () => connection().isClosed || connection().stats.throttled,
        onBatch: () => {
          monitor.sample();
          sampleStats();
        },
      });
      await sleep(200); // let the server take in what is still on the wire
      sampleStats();
      return result;
    });
    const stats = connection().stats;
    const closed = connection().isClosed;
    await expectServerUnharmed(
      target.port,
      outcome,
      `≤${outcome.result.batches * 2000} WINDOW_UPDATEs written in ${outcome.result.ms.toFixed(0)} ms (${outcome.result.reason}); ` +
        `connection closed ${closed}, throttled ${stats.throttled}, control items ${stats.controlItems} (max ${maxControlItems}), reader buffered ${stats.readerBufferedBytes} B`,
    );
    // Either the reader stopped (throttled) or the updates do not queue one item each (merged):
    // what matters is that the queue does not grow with the flood.
    if (!closed) expect(maxControlItems, 'items queued for the blocked writer').to.be.below(1000);
  });

  it('a bidi client that never sends WINDOW_UPDATE but keeps sending requests: the server cancels the call past its response backlog, memory bounded, and the status follows once the windows open (6)', async () => {
    let handlerCancelled = false;
    // The echo handler, writing each request back and ignoring backpressure.
    const target = await start({
      BidirectionalStreamingEcho(call: ServerDuplexStream<{ message: string }>) {
        call.on('cancelled', () => (handlerCancelled = true));
        call.on('data', (request: { message: string }) => call.write({ message: request.message }));
        call.on('end', () => call.end());
      },
    });
    const { peer, watcher } = await connectAttacker(target);
    peer.sendPreface(); // default windows: the server may send 65 535 bytes, and never gets more
    expect(await waitUntil(() => watcher.settingsReceived, 2000), "the server's SETTINGS").to.equal(true);
    peer.openStream(1, grpcRequestHeaders(BIDI_PATH));
    const chunk = Buffer.concat(Array.from({ length: 16 }, () => echoRequest('y'.repeat(16 * KiB - 16)))); // 16 requests, 256 KiB
    const sender = new FlowControlledSender(peer.socket, watcher);
    const isEnd = (frame: Frame) =>
      (frame.type === FrameType.HEADERS && frame.streamId === 1 && frame.endStream) ||
      (frame.type === FrameType.RST_STREAM && frame.streamId === 1) ||
      frame.type === FrameType.GOAWAY;
    let cancelledAt = -1;
    const outcome = await underAttack(target.port, async (monitor) => {
      const deadline = performance.now() + 3000;
      let sent = 0;
      while (sent < 128 * MiB && performance.now() < deadline && cancelledAt < 0) {
        sent += await sender.send(1, chunk, deadline, () => cancelledAt >= 0);
        monitor.sample();
        if (handlerCancelled) cancelledAt = sent;
      }
      return { sent, queuedBytes: target.connections[0].stats.queuedBytes };
    });
    const { sent, queuedBytes } = outcome.result;
    // The client finally opens its windows: what the server queued drains, and the call's status follows.
    peer.send([frames.windowUpdate(0, 2 ** 30), frames.windowUpdate(1, 2 ** 30)]);
    const answer = await peer.expectMatching(isEnd, 'the end of the bidi call once the windows open', 5000).then(
      (frame) => frame,
      (error: Error) => error,
    );
    const how =
      answer instanceof Error
        ? `no end (${shorten(answer.message, 120)})`
        : answer.type === FrameType.HEADERS
          ? `trailers grpc-status ${headerValue(peer.headersOf(answer), 'grpc-status')}`
          : describeFrame(answer);
    await expectServerUnharmed(
      target.port,
      outcome,
      `${(sent / MiB).toFixed(1)} MiB of requests sent; handler cancelled after ${(cancelledAt / MiB).toFixed(1)} MiB; call ended by ${how}; server queued ${(queuedBytes / MiB).toFixed(1)} MiB`,
    );
    expect(cancelledAt, 'the server cancelled the call (response backlog exceeded) during the attack').to.be.at.least(0);
    expect(queuedBytes, 'response bytes the server holds for the call').to.be.at.most(4 * MiB + 64 * KiB);
    if (answer instanceof Error) expect.fail(`the bidi call did not end once the windows opened: ${shorten(answer.message)}`);
    expect(answer.type, `the call ends with its trailers or RST_STREAM, not ${describeFrame(answer)}`).to.not.equal(FrameType.GOAWAY);
    if (answer.type === FrameType.HEADERS) expect(headerValue(peer.headersOf(answer), 'grpc-status'), 'grpc-status').to.equal('8');
  });

  it('100 ServerStreamingEcho calls of 1 000 000 messages never read, then the socket destroyed: lag < 100 ms afterwards, a fresh call within 1 s (7)', async () => {
    // A 4 KiB write quota: with the default 64 KiB, 100 streams of 8-byte messages queue ~800 000
    // items, and the control-queue cap closes the connection before the client gets to destroy it.
    const target = await start({}, { transport: { writeQuota: 4 * KiB } });
    const setup = ResourceMonitor.start();
    const { peer } = await connectAttacker(target);
    peer.socket.pause(); // never read
    peer.send([PREFACE, frames.settings([{ id: SettingId.INITIAL_WINDOW_SIZE, value: MAX_WINDOW }]), frames.windowUpdate(0, MAX_WINDOW - 65535)]);
    const requests: Buffer[] = [];
    for (let index = 0; index < 100; index++)
      requests.push(...peer.requestFrames(2 * index + 1, grpcRequestHeaders(SERVER_STREAMING_PATH), echoMessage('repeat:1000000:x')));
    peer.send(requests);
    const connection = () => target.connections[0];
    const ready = await waitUntil(() => connection()?.stats.streams === 100 && connection().socket.writableNeedDrain, 5000);
    const held = connection().stats;
    const setupReport = setup.finish();
    note(
      `setup: ${formatReport(setupReport)}; server holds ${held.streams} streams, ${(held.queuedBytes / MiB).toFixed(1)} MiB queued, ` +
        `${held.controlItems} control items; connection closed ${connection().isClosed}`,
    );
    expect(ready, '100 streams open and the writer blocked').to.equal(true);

    const outcome = await underAttack(target.port, async () => {
      const destroyed = performance.now();
      peer.destroy();
      const closed = await waitUntil(() => connection().isClosed, 1000);
      await sleep(Math.max(0, 1000 - (performance.now() - destroyed))); // watch the event loop for 1 s after the destroy
      return { closed };
    });
    await expectServerUnharmed(target.port, outcome, `connection closed after destroy: ${outcome.result.closed}`);
    expect(outcome.result.closed, 'the server closed the connection').to.equal(true);
    expect(outcome.during.ms, 'the fresh call started at the destroy answered within (ms)').to.be.below(1000);
    // Checked last: what the 100 blocked calls held before the destroy (per queued message, not only its bytes).
    expect(setupReport.retainedGrowthMB, 'memory held for the 100 blocked calls (MB)').to.be.below(MAX_GROWTH_MB);
  });

  it('a client-streaming handler that never reads, 4 MiB messages on 20 streams: the window is withheld, memory bounded (8)', async () => {
    const target = await start({ ClientStreamingEcho() {} });
    const { peer, watcher } = await connectAttacker(target);
    peer.sendPreface();
    expect(await waitUntil(() => watcher.settingsReceived, 2000), "the server's SETTINGS").to.equal(true);
    const message = echoRequest(Buffer.alloc(4 * MiB - 16, 'z')); // just under the 4 MiB receive limit
    const streams = Array.from({ length: 20 }, (_, index) => 2 * index + 1);
    for (const id of streams) peer.openStream(id, grpcRequestHeaders(CLIENT_STREAMING_PATH));
    const sender = new FlowControlledSender(peer.socket, watcher);
    const outcome = await underAttack(target.port, async (monitor) => {
      const deadline = performance.now() + 3000;
      const sent = await Promise.all(
        streams.map(async (id) => {
          let bytes = 0;
          for (let copy = 0; copy < 2; copy++) {
            bytes += await sender.send(id, message, deadline);
            monitor.sample();
          }
          return bytes;
        }),
      );
      await sleep(100);
      return sent;
    });
    const total = outcome.result.reduce((sum, bytes) => sum + bytes, 0);
    const most = Math.max(...outcome.result);
    await expectServerUnharmed(
      target.port,
      outcome,
      `the server accepted ${(total / MiB).toFixed(1)} MiB on 20 streams (at most ${(most / KiB).toFixed(0)} KiB on one)`,
    );
  });

  it('100 streams each declaring a 4 MiB message and sending 10 bytes of it: memory bounded (9)', async () => {
    const target = await start();
    const { peer } = await connectAttacker(target);
    peer.sendPreface();
    const outcome = await underAttack(target.port, async () => {
      const requests: Buffer[] = [];
      for (let index = 0; index < 100; index++) requests.push(...peer.requestFrames(2 * index + 1, grpcRequestHeaders(), truncatedMessage(4 * MiB, 10), false));
      peer.send(requests);
      const opened = await waitUntil(() => target.connections[0]?.stats.streams === 100, 2000);
      await sleep(200);
      return { opened, streams: target.connections[0].stats.streams };
    });
    await expectServerUnharmed(target.port, outcome, `${outcome.result.streams} streams open`);
    expect(outcome.result.opened, 'all 100 streams were opened').to.equal(true);
  });
});
