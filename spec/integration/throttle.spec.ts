import { expect } from 'chai';
import { Server } from '../../lib';
import { FrameType } from '../../lib/transport/frame/frame-type';
import { frames } from '../support/frames';
import { RawPeer } from '../support/raw-peer';
import { eventually } from '../support/waiting';
import { startEchoServer } from '../support/echo-server';

describe('integration: the reader throttle against a PING flood from a peer that does not read', () => {
  let server: Server;
  let port: number;

  before(async () => {
    // Pings are allowed here at any rate (the ping policy is specified in lifecycle specs): this is about the throttle.
    ({ server, port } = await startEchoServer({}, { transport: { lifecycle: { permitPingsWithoutCalls: true, minPingIntervalMs: 0 } } }));
  });
  after(() => server.forceShutdown());

  it('stops reading at 50 queued PING ACKs, keeps memory bounded, and resumes when the peer reads', async () => {
    const peer = await RawPeer.connect(port);
    try {
      peer.socket.pause(); // never read: the server's writes back up, its PING ACKs queue
      peer.sendPreface();
      const batch = Buffer.concat(Array.from({ length: 1000 }, (_, index) => frames.ping(Buffer.alloc(8, index % 256))));
      const heapBefore = process.memoryUsage().heapUsed;
      let sent = 0;
      // Up to 1M PINGs (17 MB), until the server stops taking them off the socket.
      const throttled = () => server.connectionStats()[0]?.throttled === true;
      while (sent < 1000 && !throttled()) {
        sent++;
        if (peer.socket.write(batch)) continue;
        let drained = false;
        peer.socket.once('drain', () => (drained = true));
        await eventually(() => drained || throttled());
      }
      await eventually(() => server.connectionStats()[0]?.throttled === true);
      const stats = server.connectionStats()[0];
      // Paused at the threshold: the queue holds ~50 answers, not one per PING received.
      expect(stats.controlItems).to.be.at.least(50).and.at.most(60);
      expect(process.memoryUsage().heapUsed - heapBefore).to.be.below(50 * 1024 * 1024);
      // Once the peer reads again the server drains its answers and resumes reading.
      peer.socket.resume();
      await peer.expectFrame(FrameType.PING, (frame) => frame.ack);
      await eventually(() => server.connectionStats()[0]?.throttled === false);
    } finally {
      peer.destroy();
    }
  });
});
