import { expect } from 'chai';
import fc from 'fast-check';
import * as net from 'node:net';
import { once } from 'node:events';
import { Server } from '../../lib';
import { HeaderBlockEncoder } from '../../lib/transport/hpack/header-block';
import { frames, PREFACE } from '../support/frames';
import { grpcJsEchoClient, unary } from '../support/echo-client';
import { echoMessage, grpcRequestHeaders } from '../support/echo-request';
import { startEchoServer } from '../support/echo-server';

const encoder = new HeaderBlockEncoder();
const REQUEST_BLOCK = encoder.encode(grpcRequestHeaders());

/** A frame with arbitrary (but length-consistent) header fields, biased towards the interesting ones. */
const arbitraryFrame = fc.oneof(
  // Plausible traffic: request headers, request data, resets, window updates, pings, settings.
  fc.record({ id: fc.integer({ min: 0, max: 9 }), end: fc.boolean() }).map(({ id, end }) => frames.raw(1, 0x4 | (end ? 1 : 0), id, REQUEST_BLOCK)),
  fc.record({ id: fc.integer({ min: 0, max: 9 }), end: fc.boolean() }).map(({ id, end }) => frames.raw(0, end ? 1 : 0, id, echoMessage('fuzz'))),
  fc.record({ id: fc.integer({ min: 0, max: 9 }), code: fc.integer({ min: 0, max: 15 }) }).map(({ id, code }) => frames.rstStream(id, code)),
  fc
    .record({ id: fc.integer({ min: 0, max: 9 }), increment: fc.integer({ min: 0, max: 2 ** 31 - 1 }) })
    .map(({ id, increment }) =>
      frames.raw(8, 0, id, Buffer.from([(increment >>> 24) & 0x7f, (increment >>> 16) & 0xff, (increment >>> 8) & 0xff, increment & 0xff])),
    ),
  fc.boolean().map((ack) => frames.ping(Buffer.alloc(8, 7), ack)),
  fc.array(fc.record({ id: fc.integer({ min: 0, max: 8 }), value: fc.nat() }), { maxLength: 4 }).map((entries) => frames.settings(entries)),
  // Anything at all in a well-framed envelope.
  fc
    .record({
      type: fc.integer({ min: 0, max: 12 }),
      flags: fc.integer({ min: 0, max: 255 }),
      id: fc.integer({ min: 0, max: 9 }),
      payload: fc.uint8Array({ maxLength: 64 }),
    })
    .map(({ type, flags, id, payload }) => frames.raw(type, flags, id, payload)),
);

/** Writes the bytes, then waits until the server closes the connection or has had time to answer. */
async function play(port: number, bytes: Buffer): Promise<void> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  socket.on('data', () => {});
  await once(socket, 'connect');
  socket.end(bytes);
  // The server closes after our FIN (or after a GOAWAY): that is the end of the exchange.
  await once(socket, 'close');
}

describe('property: a live server survives arbitrary frame sequences', () => {
  let server: Server;
  let port: number;
  before(async () => {
    ({ server, port } = await startEchoServer());
  });
  after(() => server.forceShutdown());

  it('never crashes, always closes the connection, and keeps serving', async function () {
    this.timeout(60_000);
    await fc.assert(
      fc.asyncProperty(fc.array(arbitraryFrame, { minLength: 1, maxLength: 25 }), async (sequence) => {
        await play(port, Buffer.concat([PREFACE, frames.settings([]), ...sequence]));
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 150) },
    );
    const client = grpcJsEchoClient(port);
    try {
      expect((await unary(client, 'after the fuzz')).message).to.equal('after the fuzz');
    } finally {
      client.close();
    }
    expect(server.stats.streams).to.equal(0);
  });
});
