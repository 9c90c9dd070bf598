import { expect } from 'chai';
import * as net from 'node:net';
import * as h2grpc from '../../lib';
import { inMemoryDialer, type Server } from '../../lib';
import { createInteropServer } from '../../examples/interop-server';
import { INTEROP_TEST_CASES, runInteropCase, type GrpcModule } from '../../examples/interop-client';

/**
 * The in-memory transport (a Server served through inMemoryDialer): every interop case of
 * examples/interop-client.ts runs with our client against our interop server that was never bound,
 * and no socket is connected or listened on meanwhile.
 */
describe('integration: interop cases over the in-memory transport (no port)', () => {
  let server: Server;
  const opened = { listens: 0, connects: 0 };
  let dials = 0;
  const listen = net.Server.prototype.listen;
  const connect = net.Socket.prototype.connect;

  before(() => {
    // Count every listen and connect made in this process while the cases run.
    net.Server.prototype.listen = function (this: net.Server, ...args: unknown[]) {
      opened.listens++;
      return (listen as (...args: unknown[]) => net.Server).apply(this, args);
    } as typeof listen;
    net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
      opened.connects++;
      return (connect as (...args: unknown[]) => net.Socket).apply(this, args);
    } as typeof connect;
    server = createInteropServer();
  });
  after(() => {
    net.Server.prototype.listen = listen;
    net.Socket.prototype.connect = connect;
    server.forceShutdown();
  });

  for (const testCase of INTEROP_TEST_CASES) {
    it(testCase, async () => {
      const dialer = inMemoryDialer(server);
      const dialed: string[] = [];
      await runInteropCase(h2grpc as unknown as GrpcModule, testCase, {
        // Never resolved nor connected to: the dialer makes the connection.
        serverHost: 'interop.in-memory.test',
        serverPort: 1,
        channelOptions: {
          'h2grpc.dialer': (address: string) => {
            dialed.push(address);
            return dialer(address);
          },
        },
      });
      // (timeout_on_sleeping_server's deadline may pass before the channel even dials.)
      for (const address of dialed) expect(address).to.equal('interop.in-memory.test:1');
      dials += dialed.length;
      expect(opened).to.deep.equal({ listens: 0, connects: 0 });
    });
  }

  it('served every case on in-memory connections only', () => {
    expect(opened).to.deep.equal({ listens: 0, connects: 0 });
    expect(dials).to.be.at.least(INTEROP_TEST_CASES.length - 1);
    expect(server.callStats().total.callsStarted).to.be.greaterThan(INTEROP_TEST_CASES.length);
  });
});
