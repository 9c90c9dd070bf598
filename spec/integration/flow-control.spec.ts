import { expect } from 'chai';
import { Server } from '../../lib';
import { echoImplementation, loadEchoService } from '../../examples/echo-service';
import { grpcJsEchoClient, type EchoClient } from '../support/echo-client';

const MESSAGE_SIZE = 64 * 1024;
const TOTAL = 16 * 1024 * 1024;
const COUNT = TOTAL / MESSAGE_SIZE;
/** Our transport's default per-stream write quota. */
const WRITE_QUOTA = 64 * 1024;

describe('integration: flow control with a slow reader', () => {
  let server: Server;
  let client: EchoClient;

  before(async () => {
    server = new Server();
    server.addService(loadEchoService(), {
      ...echoImplementation,
      // Writes 16 MiB in 64 KiB messages, honouring write() backpressure as a grpc-js handler should.
      ServerStreamingEcho(call) {
        let index = 0;
        const writeSome = () => {
          while (index < COUNT) {
            const message = String(index).padStart(8, '0') + 'y'.repeat(MESSAGE_SIZE - 16);
            index++;
            if (!call.write({ message })) {
              call.once('drain', writeSome);
              return;
            }
          }
          call.end();
        };
        writeSome();
      },
    });
    const port = await server.listen(0);
    client = grpcJsEchoClient(port);
  });
  after(() => {
    client.close();
    server.forceShutdown();
  });

  it('delivers a 16 MiB server stream intact while the server queues no more than the write quota allows', async () => {
    let received = 0;
    let bytes = 0;
    let maxQueued = 0;
    let outOfOrder = 0;
    await new Promise<void>((resolve, reject) => {
      const call = client.ServerStreamingEcho({ message: '' });
      call.on('data', (response: { message: string }) => {
        if (Number(response.message.slice(0, 8)) !== received) outOfOrder++;
        received++;
        bytes += response.message.length;
        maxQueued = Math.max(maxQueued, server.stats.queuedBytes);
        // Read slowly: stop after each message and take the next one a loop turn later, so the
        // client's windows fill up and the server has to wait for WINDOW_UPDATEs.
        call.pause();
        setImmediate(() => call.resume());
      });
      call.on('end', resolve);
      call.on('error', reject);
    });
    expect(received).to.equal(COUNT);
    expect(outOfOrder).to.equal(0);
    expect(bytes).to.equal(COUNT * (MESSAGE_SIZE - 8));
    // Queued (unwritten) bytes stay within one write quota plus the message that crossed it.
    expect(maxQueued).to.be.greaterThan(0);
    expect(maxQueued).to.be.at.most(WRITE_QUOTA + MESSAGE_SIZE + 64);
    expect(server.stats.queuedBytes).to.equal(0);
  });
});
