import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { logVerbosity, setLogger, setLogVerbosity, type Server } from '../../lib';
import { getLogger, isTracerEnabled, log, LogVerbosity, setTracers, tracing } from '../../lib/grpc/logging';
import { grpcJsEchoClient, unary } from '../support/echo-client';
import { startEchoServer } from '../support/echo-server';
import { eventually } from '../support/waiting';

/** A logger that records every line with its level. */
function recorder(): { lines: string[]; logger: { error(m: unknown): void; info(m: unknown): void; debug(m: unknown): void } } {
  const lines: string[] = [];
  return {
    lines,
    logger: {
      error: (message: unknown) => lines.push(`E ${String(message)}`),
      info: (message: unknown) => lines.push(`I ${String(message)}`),
      debug: (message: unknown) => lines.push(`D ${String(message)}`),
    },
  };
}

describe('logging and tracing', () => {
  const previousLogger = getLogger();
  afterEach(() => {
    setLogger(previousLogger);
    setLogVerbosity(logVerbosity.ERROR);
    setTracers('');
  });

  it("exports grpc-js's logVerbosity values", () => {
    expect([logVerbosity.DEBUG, logVerbosity.INFO, logVerbosity.ERROR, logVerbosity.NONE]).to.deep.equal([0, 1, 2, 3]);
  });

  it('logs at or above the verbosity, each level to its method (ERROR by default)', () => {
    const { lines, logger } = recorder();
    setLogger(logger);
    log(LogVerbosity.DEBUG, 'd');
    log(LogVerbosity.INFO, 'i');
    log(LogVerbosity.ERROR, 'e');
    setLogVerbosity(logVerbosity.DEBUG);
    log(LogVerbosity.DEBUG, 'd2');
    log(LogVerbosity.INFO, 'i2');
    setLogVerbosity(logVerbosity.NONE);
    log(LogVerbosity.ERROR, 'e2');
    expect(lines).to.deep.equal(['E e', 'D d2', 'I i2']);
  });

  it('sends levels the logger lacks to its error(), as grpc-js does', () => {
    const lines: unknown[] = [];
    setLogger({ error: (message: unknown) => lines.push(message) });
    setLogVerbosity(logVerbosity.DEBUG);
    log(LogVerbosity.INFO, 'info line');
    expect(lines).to.deep.equal(['info line']);
  });

  it('refuses a verbosity that does not exist and a logger that is not an object', () => {
    expect(() => setLogVerbosity(7 as never)).to.throw(RangeError);
    expect(() => setLogger(null as never)).to.throw(TypeError);
  });

  it('parses GRPC_TRACE lists: names, "all", "-name"', () => {
    setTracers('h2grpc_call');
    expect(tracing).to.deep.equal({ call: true, connection: false });
    setTracers('all,-h2grpc_call');
    expect(tracing).to.deep.equal({ call: false, connection: true });
    expect(isTracerEnabled('anything')).to.equal(true);
    setTracers(' h2grpc_connection , h2grpc_call ');
    expect(tracing).to.deep.equal({ call: true, connection: true });
    setTracers('');
    expect(tracing).to.deep.equal({ call: false, connection: false });
  });

  it('reads GRPC_TRACE and GRPC_VERBOSITY (GRPC_NODE_* first) when loaded', function () {
    this.timeout(30_000);
    const script =
      "const l = require('./lib/grpc/logging'); let debug = false; l.setLogger({ debug: () => (debug = true) }); l.log(0, 'x');" +
      "process.stdout.write(JSON.stringify([l.tracing, l.isTracerEnabled('h2grpc_call'), debug]))";
    const run = (env: NodeJS.ProcessEnv) =>
      execFileSync(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script], {
        cwd: path.join(__dirname, '..', '..'),
        env: { PATH: process.env.PATH, ...env },
      }).toString();
    expect(JSON.parse(run({}))).to.deep.equal([{ connection: false, call: false }, false, false]);
    expect(JSON.parse(run({ GRPC_TRACE: 'h2grpc_call', GRPC_NODE_TRACE: 'h2grpc_connection' }))).to.deep.equal([
      { connection: true, call: false },
      false,
      false,
    ]);
    expect(JSON.parse(run({ GRPC_TRACE: 'all', GRPC_VERBOSITY: 'debug' }))).to.deep.equal([{ connection: true, call: true }, true, true]);
    expect(JSON.parse(run({ GRPC_VERBOSITY: 'DEBUG', GRPC_NODE_VERBOSITY: 'ERROR' }))).to.deep.equal([{ connection: false, call: false }, false, false]);
  });

  describe('on a server', () => {
    let server: Server;
    let port: number;
    beforeEach(async () => ({ server, port } = await startEchoServer()));
    afterEach(() => server.forceShutdown());

    it('writes nothing when the tracers are off, even at DEBUG', async () => {
      const { lines, logger } = recorder();
      setLogger(logger);
      setLogVerbosity(logVerbosity.DEBUG);
      const client = grpcJsEchoClient(port);
      await unary(client, 'quiet');
      expect(server.connectionStats()).to.have.length(1);
      client.close();
      expect(lines).to.deep.equal([]);
    });

    it('traces connections (open, close) and calls (start, end with status, resets)', async () => {
      const { lines, logger } = recorder();
      setLogger(logger);
      setLogVerbosity(logVerbosity.DEBUG);
      setTracers('h2grpc_connection,h2grpc_call');
      const client = grpcJsEchoClient(port);
      await unary(client, 'traced');
      const call = client.BidirectionalStreamingEcho();
      call.on('error', () => {});
      const first = new Promise((resolve) => call.once('data', resolve));
      call.write({ message: 'x' });
      await first;
      call.cancel();
      await eventually(() => lines.some((line) => line.includes('stream reset')));
      client.close();
      await eventually(() => lines.some((line) => line.includes('connection closed')));
      const text = lines.join('\n');
      expect(lines.every((line) => line.startsWith('D '))).to.equal(true);
      expect(text).to.match(/\| h2grpc_connection \| 127\.0\.0\.1:\d+ connection opened/);
      expect(text).to.include('| h2grpc_call | /grpc.examples.echo.Echo/UnaryEcho started');
      expect(text).to.include('| h2grpc_call | /grpc.examples.echo.Echo/UnaryEcho ended: OK (0)');
      expect(text).to.include('/grpc.examples.echo.Echo/BidirectionalStreamingEcho stream reset (CANCEL, by the client)');
      expect(text).to.include('/grpc.examples.echo.Echo/BidirectionalStreamingEcho ended: CANCELLED (1) "stream reset"');
      expect(text).to.match(/h2grpc_connection \| 127\.0\.0\.1:\d+ connection closed/);
    });

    it('traces a GOAWAY from the client', async () => {
      const { lines, logger } = recorder();
      setLogger(logger);
      setLogVerbosity(logVerbosity.DEBUG);
      setTracers('h2grpc_connection');
      const client = grpcJsEchoClient(port);
      await unary(client, 'x');
      client.close();
      await eventually(() => lines.some((line) => line.includes('connection closed')));
      expect(lines.join('\n')).to.match(/GOAWAY received: NO_ERROR/);
      expect(lines.join('\n')).to.not.include('h2grpc_call');
    });
  });
});
