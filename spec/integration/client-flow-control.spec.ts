import { expect } from 'chai';
import { Server } from '../../lib';
import { echoImplementation } from '../../examples/echo-service';
import { type AnyClient, EchoClient, ourEchoClient } from '../support/client-peers';
import { eventually } from '../support/waiting';

const PAYLOAD = 'p'.repeat(1000);
const COUNT = 2000;

describe('integration: our client, flow control and backpressure both ways', () => {
  let server: Server;
  let client: AnyClient;
  /** Server-side view of the current call. */
  const seen = { written: 0, waitingForDrain: false, received: 0, serverPaused: false };
  let resumeServer: (() => void) | null = null;

  before(async () => {
    server = new Server();
    server.addService(EchoClient.service, {
      ...echoImplementation,
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      ServerStreamingEcho(call: any) {
        const writeSome = (): void => {
          seen.waitingForDrain = false;
          while (seen.written < COUNT) {
            seen.written++;
            if (!call.write({ message: PAYLOAD })) {
              seen.waitingForDrain = true;
              call.once('drain', writeSome);
              return;
            }
          }
          call.end();
        };
        writeSome();
      },
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      ClientStreamingEcho(call: any, callback: any) {
        call.on('data', () => {
          seen.received++;
          if (seen.received === 1) {
            // A handler that stops reading: the client must be held back.
            call.pause();
            seen.serverPaused = true;
            resumeServer = () => call.resume();
          }
        });
        call.on('end', () => callback(null, { message: String(seen.received) }));
      },
    });
    const port = await server.listen(0);
    client = ourEchoClient(port);
  });
  after(() => {
    client.close();
    server.forceShutdown();
  });

  it('a client that stops reading a server stream holds the server back through the windows', async () => {
    seen.written = 0;
    const call = client.ServerStreamingEcho({ message: 'go' });
    const received: unknown[] = [];
    call.on('data', (message: unknown) => {
      received.push(message);
      if (received.length === 1) call.pause();
    });
    // The server fills what the windows allow, then waits for 'drain'.
    await eventually(() => seen.waitingForDrain && server.stats.queuedBytes > 0);
    // About the client's stream window (256 KiB) plus the server's write quota and buffers, far from all 2 MB.
    expect(seen.written).to.be.lessThan(700);
    const ended = new Promise((resolve, reject) => {
      call.on('end', resolve);
      call.on('error', reject);
    });
    call.resume();
    await ended;
    expect(received).to.have.length(COUNT);
  });

  it('a server that stops reading a client stream makes the client writer wait for drain', async () => {
    seen.received = 0;
    seen.serverPaused = false;
    let drains = 0;
    let written = 0;
    let full = false;
    const response = new Promise<{ message: string }>((resolve, reject) => {
      const call = client.ClientStreamingEcho((error: Error | null, value: { message: string }) => (error ? reject(error) : resolve(value)));
      const writeSome = (): void => {
        while (written < COUNT) {
          written++;
          if (!call.write({ message: PAYLOAD })) {
            full = true;
            call.once('drain', () => {
              drains++;
              writeSome();
            });
            return;
          }
        }
        call.end();
      };
      writeSome();
    });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const connection = (client.getChannel() as any).subchannels[0].connection;
    // The server reads nothing more: the client's bytes wait for window in its transport, and its
    // writer waits for 'drain', with most of the stream still unwritten.
    await eventually(() => seen.serverPaused && full && connection.stats.queuedBytes > 0);
    expect(written).to.be.lessThan(700);
    resumeServer!();
    expect((await response).message).to.equal(String(COUNT));
    expect(drains).to.be.greaterThan(0);
  });
});
