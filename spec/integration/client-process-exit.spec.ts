import { expect } from 'chai';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import type { Server } from '../../lib';
import { startInteropServer } from '../../examples/interop-server';

/**
 * As with grpc-js, a client's connections keep the process alive only while calls are in progress:
 * a script that made its calls and never closed its client exits by itself.
 */
describe('our client and process exit', () => {
  let server: Server;
  let port: number;
  before(async () => {
    ({ server, port } = await startInteropServer(0));
  });
  after(() => server.forceShutdown());

  it('a script whose client is idle (not closed) exits on its own after its call', async () => {
    const root = path.join(__dirname, '..', '..');
    const script = `
      const { runInteropCase } = require('./examples/interop-client');
      const grpc = require('./lib');
      runInteropCase(grpc, 'empty_unary', { serverHost: '127.0.0.1', serverPort: ${port} }).then(() => {
        // A second client that is never closed, with a connection left open and idle.
        const { Echo } = grpc.loadPackageDefinition(require('@grpc/proto-loader').loadSync('protos/echo.proto')).grpc.examples.echo;
        const client = new Echo('127.0.0.1:${port}', grpc.credentials.createInsecure());
        client.getChannel().getConnectivityState(true);
        client.UnaryEcho({ message: 'x' }, () => process.stdout.write('called '));
      });
    `;
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) =>
      child.on('exit', (exitCode, exitSignal) => resolve([exitCode, exitSignal])),
    );
    clearTimeout(killer);
    expect(signal, `the process had to be killed; output: ${output}`).to.equal(null);
    expect(code, output).to.equal(0);
    expect(output).to.contain('called');
  });
});
