import { expect } from 'chai';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Server, ServerCredentials } from '../../lib';
import { echoImplementation, loadEchoService } from '../../examples/echo-service';
import { type EchoClient, expectError, grpc, unary } from '../support/echo-client';
import * as protoLoader from '@grpc/proto-loader';
import { ECHO_PROTO } from '../../examples/echo-service';

/**
 * Issue 13, "every way to listen": each bindAsync address form grpc-js takes, bindAsync's argument
 * checks and edge cases as grpc-js has them, unbind(), drain() and connection injectors.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const echo = (grpc.loadPackageDefinition(protoLoader.loadSync(ECHO_PROTO, { keepCase: true, defaults: true })) as any).grpc.examples.echo;
const insecure = ServerCredentials.createInsecure();

function bind(server: Server, address: string, credentials = insecure): Promise<number> {
  return new Promise((resolve, reject) => server.bindAsync(address, credentials, (error, port) => (error ? reject(error) : resolve(port))));
}

/** bindAsync's callback arguments, whatever they are. */
function bindResult(server: Server, address: string, credentials = insecure): Promise<{ error: Error | null; port: number }> {
  return new Promise((resolve) => server.bindAsync(address, credentials, (error, port) => resolve({ error, port })));
}

function shutdown(server: Server): Promise<void> {
  return new Promise((resolve) => server.tryShutdown(() => resolve()));
}

const ipv6Available = new Promise<boolean>((resolve) => {
  const probe = net.createServer();
  probe.once('error', () => resolve(false));
  probe.listen(0, '::1', () => probe.close(() => resolve(true)));
});

describe('integration: bindAsync and listening', () => {
  let server: Server;
  const clients: grpc.Client[] = [];
  let tmp: string;

  // A subchannel pool of its own per client: one that failed to connect does not make the next fail fast.
  const client = (target: string): EchoClient => {
    const made = new echo.Echo(target, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }) as EchoClient;
    clients.push(made);
    return made;
  };

  beforeEach(() => {
    server = new Server();
    server.addService(loadEchoService(), echoImplementation);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'h2grpc-bind-'));
  });

  afterEach(() => {
    for (const made of clients.splice(0)) made.close();
    server.forceShutdown();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  describe('address forms', () => {
    const tcpForms: [address: string, dial: string, ipv6?: boolean][] = [
      ['localhost:0', '127.0.0.1'],
      ['127.0.0.1:0', '127.0.0.1'],
      ['0.0.0.0:0', '127.0.0.1'],
      ['dns:127.0.0.1:0', '127.0.0.1'],
      ['dns:localhost:0', '127.0.0.1'],
      ['dns:///localhost:0', '127.0.0.1'],
      ['ipv4:127.0.0.1:0', '127.0.0.1'],
      ['[::1]:0', '[::1]', true],
      ['ipv6:[::1]:0', '[::1]', true],
    ];
    for (const [address, dial, ipv6] of tcpForms) {
      it(`'${address}' listens; a grpc-js client calls through ${dial}`, async function () {
        if (ipv6 && !(await ipv6Available)) this.skip();
        const port = await bind(server, address);
        expect(port).to.be.greaterThan(0);
        expect(await unary(client(`${dial}:${port}`), address)).to.deep.equal({ message: address });
      });
    }

    it("'ipv4:' with two addresses listens on both with the port the first picked", async () => {
      const port = await bind(server, 'ipv4:127.0.0.1:0,127.0.0.2:0');
      expect(await unary(client(`127.0.0.1:${port}`), 'first')).to.deep.equal({ message: 'first' });
      expect(await unary(client(`127.0.0.2:${port}`), 'second')).to.deep.equal({ message: 'second' });
    });

    for (const form of ['unix:///absolute', 'unix:/absolute', 'unix:relative']) {
      it(`'${form}' creates the socket file, serves on it, and removes it on shutdown`, async () => {
        const file = path.join(tmp, 'server.sock');
        const address = form === 'unix:relative' ? `unix:${path.relative(process.cwd(), file)}` : form === 'unix:/absolute' ? `unix:${file}` : `unix://${file}`;
        expect(await bind(server, address)).to.equal(1); // grpc-js's port for a Unix socket
        expect(fs.statSync(file).isSocket()).to.equal(true);
        expect(await unary(client(`unix:${file}`), 'uds')).to.deep.equal({ message: 'uds' });
        for (const made of clients.splice(0)) made.close();
        await shutdown(server);
        expect(fs.existsSync(file)).to.equal(false);
      });
    }
  });

  describe("argument checks and edge cases, as grpc-js's", () => {
    it('throws at once on a missing callback, a number port, and {} / null / undefined credentials', () => {
      expect(() => server.bindAsync('127.0.0.1:0', insecure, undefined as never)).to.throw(TypeError, 'callback must be a function');
      expect(() => server.bindAsync(0 as never, insecure, () => {})).to.throw(TypeError, 'port must be a string');
      for (const credentials of [{}, null, undefined, 'insecure']) {
        expect(() => server.bindAsync('127.0.0.1:0', credentials as never, () => {}), String(credentials)).to.throw(
          TypeError,
          'creds must be a ServerCredentials object',
        );
      }
    });

    it('binding the same address again calls back with the same port, also by its bound port', async () => {
      const port = await bind(server, '127.0.0.1:0');
      expect(await bind(server, `127.0.0.1:${port}`)).to.equal(port);
      const fixed = await bind(server, 'localhost:0');
      const [again, concurrent] = await Promise.all([bind(server, `localhost:${fixed}`), bind(server, `dns:localhost:${fixed}`)]);
      expect([again, concurrent]).to.deep.equal([fixed, fixed]);
    });

    it('a fixed address bound twice at once makes one listener, and both callbacks get its port', async () => {
      const probe = await bind(server, '127.0.0.1:0');
      server.unbind(`127.0.0.1:${probe}`);
      const [first, second] = await Promise.all([bind(server, `127.0.0.1:${probe}`), bind(server, `127.0.0.1:${probe}`)]);
      expect([first, second]).to.deep.equal([probe, probe]);
    });

    it('the same address with other credentials fails with port 0', async () => {
      const port = await bind(server, '127.0.0.1:0');
      const { error, port: reported } = await bindResult(server, `127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure() as never);
      expect(reported).to.equal(0);
      expect(error?.message).to.equal(`127.0.0.1:${port} already bound with incompatible credentials`);
    });

    it('an address in use, an unresolvable name and a malformed ipv4: target call back with an error and port 0', async () => {
      const other = net.createServer();
      await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
      try {
        const busy = await bindResult(server, `127.0.0.1:${(other.address() as net.AddressInfo).port}`);
        expect(busy.port).to.equal(0);
        expect(busy.error?.message).to.match(/^No address added out of total 1 resolved errors: \[.*EADDRINUSE/);
      } finally {
        other.close();
      }
      const unknown = await bindResult(server, 'dns:no-such-host.invalid:0');
      expect(unknown).to.deep.include({ port: 0 });
      expect(unknown.error?.message).to.equal('Name resolution failed for target dns:no-such-host.invalid:0');
      const malformed = await bindResult(server, 'ipv4:not-an-address:1');
      expect(malformed.port).to.equal(0);
      expect(malformed.error?.message).to.equal('Failed to parse ipv4 address not-an-address:1');
    });

    it('bindAsync after tryShutdown or forceShutdown throws', async () => {
      await shutdown(server);
      expect(() => server.bindAsync('127.0.0.1:0', insecure, () => {})).to.throw(Error, 'bindAsync called after shutdown');
      const other = new Server();
      other.forceShutdown();
      expect(() => other.bindAsync('127.0.0.1:0', insecure, () => {})).to.throw(Error, 'bindAsync called after shutdown');
    });

    it('forceShutdown while a bind is under way fails that bind', async () => {
      const pending = bindResult(server, 'localhost:0');
      server.forceShutdown();
      const { error, port } = await pending;
      expect(port).to.equal(0);
      expect(error?.message).to.equal('bindAsync operation cancelled by unbind call');
    });
  });

  describe('unbind and drain', () => {
    it('unbind() stops listening; an open call on that port finishes; the address can be bound again', async () => {
      const port = await bind(server, '127.0.0.1:0');
      const grpcClient = client(`127.0.0.1:${port}`);
      const call = grpcClient.BidirectionalStreamingEcho();
      const firstReply = new Promise((resolve) => call.once('data', resolve));
      call.write({ message: 'before' });
      await firstReply;
      expect(() => server.unbind('127.0.0.1:0')).to.throw('Cannot unbind port 0');
      server.unbind(`127.0.0.1:${port}`);
      const refused = await expectError(unary(client(`127.0.0.1:${port}`), 'refused', new grpc.Metadata(), { deadline: Date.now() + 2000 }));
      expect(refused.code).to.be.oneOf([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]);
      const replies: string[] = [];
      call.on('data', (reply: { message: string }) => replies.push(reply.message));
      call.write({ message: 'after' });
      call.end();
      const status = await new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
      expect(status.code).to.equal(grpc.status.OK);
      expect(replies).to.deep.equal(['after']);
      expect(await bind(server, `127.0.0.1:${port}`)).to.equal(port);
      expect(await unary(client(`127.0.0.1:${port}`), 'again')).to.deep.equal({ message: 'again' });
    });

    it("drain() sends GOAWAY to that port's connections and cancels what still runs after the grace time; it keeps listening", async () => {
      const port = await bind(server, '127.0.0.1:0');
      const call = client(`127.0.0.1:${port}`).BidirectionalStreamingEcho();
      const firstReply = new Promise((resolve) => call.once('data', resolve));
      call.write({ message: 'open' });
      await firstReply;
      expect(() => server.drain('127.0.0.1:0', 10)).to.throw('Cannot drain port 0');
      const ended = new Promise<grpc.ServiceError>((resolve) => call.on('error', resolve));
      server.drain(`127.0.0.1:${port}`, 50);
      expect((await ended).code).to.equal(grpc.status.CANCELLED);
      expect(await unary(client(`127.0.0.1:${port}`), 'still listening')).to.deep.equal({ message: 'still listening' });
    });
  });

  describe('connections from elsewhere', () => {
    it('createConnectionInjector() serves injected sockets; destroy() sends GOAWAY', async () => {
      const injector = server.createConnectionInjector(insecure);
      expect(() => server.createConnectionInjector({} as never)).to.throw(TypeError, 'creds must be a ServerCredentials object');
      const outer = net.createServer((socket) => injector.injectConnection(socket));
      await new Promise<void>((resolve) => outer.listen(0, '127.0.0.1', resolve));
      try {
        const port = (outer.address() as net.AddressInfo).port;
        expect(await unary(client(`127.0.0.1:${port}`), 'injected')).to.deep.equal({ message: 'injected' });
        expect(server.stats.connections).to.equal(1);
        injector.destroy();
        await new Promise<void>((resolve) => {
          const check = () => (server.stats.connections === 0 ? resolve() : setImmediate(check));
          check();
        });
      } finally {
        outer.close();
      }
    });
  });
});
