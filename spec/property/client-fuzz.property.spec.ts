import { expect } from 'chai';
import fc from 'fast-check';
import type * as net from 'node:net';
import { Status } from '../../lib';
import { FrameType } from '../../lib/transport/frame/frame-type';
import { HeaderBlockEncoder } from '../../lib/transport/hpack/header-block';
import { encodeMessage } from '../../lib/grpc/protocol/message-framing';
import { type AnyClient, ourEchoClient } from '../support/client-peers';
import { frames } from '../support/frames';
import { RawPeer } from '../support/raw-peer';

const encoder = new HeaderBlockEncoder();
const RESPONSE_BLOCK = encoder.encode([':status', '200', 'content-type', 'application/grpc']);
const TRAILERS_BLOCK = encoder.encode(['grpc-status', '0']);
const ERROR_BLOCK = encoder.encode([':status', '503']);
const MESSAGE = encodeMessage(Buffer.from([0x0a, 0x02, 0x68, 0x69]));

const streamId = fc.constantFrom(0, 1, 2, 3, 5, 7);

/** Frames a hostile or broken server might send, biased towards plausible responses to streams 1, 3 and 5. */
const arbitraryFrame = fc.oneof(
  // A whole good response: headers, a message, OK trailers.
  fc
    .constantFrom(1, 3, 5)
    .map((id) =>
      Buffer.concat([frames.raw(FrameType.HEADERS, 0x4, id, RESPONSE_BLOCK), frames.data(id, MESSAGE), frames.raw(FrameType.HEADERS, 0x5, id, TRAILERS_BLOCK)]),
    ),
  fc.record({ id: streamId, end: fc.boolean() }).map(({ id, end }) => frames.raw(FrameType.HEADERS, 0x4 | (end ? 1 : 0), id, RESPONSE_BLOCK)),
  fc.record({ id: streamId }).map(({ id }) => frames.raw(FrameType.HEADERS, 0x5, id, TRAILERS_BLOCK)),
  fc.record({ id: streamId, end: fc.boolean() }).map(({ id, end }) => frames.raw(FrameType.HEADERS, 0x4 | (end ? 1 : 0), id, ERROR_BLOCK)),
  fc
    .record({ id: streamId, end: fc.boolean(), cut: fc.nat({ max: MESSAGE.length }) })
    .map(({ id, end, cut }) => frames.data(id, MESSAGE.subarray(0, cut), { endStream: end })),
  fc.record({ id: streamId, code: fc.integer({ min: 0, max: 15 }) }).map(({ id, code }) => frames.rstStream(id, code)),
  fc.record({ last: streamId, code: fc.integer({ min: 0, max: 15 }) }).map(({ last, code }) => frames.goAway(last, code, code === 0xb ? 'too_many_pings' : '')),
  fc
    .record({ id: streamId, increment: fc.integer({ min: 0, max: 2 ** 31 - 1 }) })
    .map(({ id, increment }) =>
      frames.raw(
        FrameType.WINDOW_UPDATE,
        0,
        id,
        Buffer.from([(increment >>> 24) & 0x7f, (increment >>> 16) & 0xff, (increment >>> 8) & 0xff, increment & 0xff]),
      ),
    ),
  fc.boolean().map((ack) => frames.ping(Buffer.alloc(8, 3), ack)),
  fc.array(fc.record({ id: fc.integer({ min: 0, max: 8 }), value: fc.nat() }), { maxLength: 3 }).map((entries) => frames.settings(entries)),
  fc
    .record({ type: fc.integer({ min: 0, max: 12 }), flags: fc.integer({ min: 0, max: 255 }), id: streamId, payload: fc.uint8Array({ maxLength: 40 }) })
    .map(({ type, flags, id, payload }) => frames.raw(type, flags, id, payload)),
);

interface Outcome {
  code: number;
}

/** Three calls (two unary, one server stream) that must each end with a status. */
function makeCalls(client: AnyClient): Promise<Outcome>[] {
  const deadline = Date.now() + 5000;
  const unary = () =>
    new Promise<Outcome>((resolve) =>
      client.UnaryEcho({ message: 'f' }, { deadline }, (error: { code: number } | null) => resolve({ code: error?.code ?? 0 })),
    );
  const stream = new Promise<Outcome>((resolve) => {
    const call = client.ServerStreamingEcho({ message: 'f' }, { deadline });
    call.on('data', () => {});
    call.on('error', (error: { code: number }) => resolve({ code: error.code }));
    call.on('end', () => resolve({ code: 0 }));
  });
  return [unary(), stream, unary()];
}

describe('property: our client survives a hostile server sending arbitrary frames', () => {
  let server: net.Server;
  let port: number;
  let script: Buffer = Buffer.alloc(0);
  let sendSettingsFirst = true;
  const peers: RawPeer[] = [];

  before(async () => {
    ({ server, port } = await RawPeer.listen((peer) => {
      peers.push(peer);
      if (peers.length > 1) {
        // A reconnect within the run (calls retried after a GOAWAY): turned away at once.
        peer.socket.end(frames.settings());
        return;
      }
      if (sendSettingsFirst) peer.send(frames.settings());
      // Once the three requests are in (or after the first frame, for a server that skipped SETTINGS), play the script, then hang up.
      const wait = sendSettingsFirst ? peer.expectFrame(FrameType.HEADERS, (frame) => frame.streamId === 5, 3000) : Promise.resolve();
      wait.then(
        () => {
          peer.send(script);
          peer.socket.end();
        },
        () => peer.destroy(),
      );
    }));
  });
  after(async () => {
    for (const peer of peers) peer.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it('never crashes, and every call ends with a status', async function () {
    this.timeout(120_000);
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.array(arbitraryFrame, { minLength: 1, maxLength: 20 }), async (settingsFirst, sequence) => {
        sendSettingsFirst = settingsFirst;
        script = Buffer.concat(sequence);
        const client = ourEchoClient(port, { 'grpc.initial_reconnect_backoff_ms': 10_000, 'h2grpc.min_connect_timeout_ms': 2000 });
        try {
          const outcomes = await Promise.all(makeCalls(client));
          for (const outcome of outcomes) expect(outcome.code).to.be.within(Status.OK, Status.UNAUTHENTICATED);
        } finally {
          client.close();
        }
        for (const peer of peers.splice(0)) peer.destroy();
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 100) },
    );
  });
});
