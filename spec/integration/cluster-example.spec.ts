import { expect } from 'chai';
import { type ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { grpcJsEchoClient, unary } from '../support/echo-client';

const ROOT = path.join(__dirname, '..', '..');

/** Starts examples/cluster.ts under ts-node; resolves with the shared port once every worker listens. */
function startCluster(workers: number): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join('examples', 'cluster.ts')], {
      cwd: ROOT,
      env: { ...process.env, WORKERS: String(workers), PORT: '0', HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      output += chunk;
      const match = /cluster: (\d+) workers listening on 127\.0\.0\.1:(\d+)/.exec(output);
      if (match) resolve({ child, port: Number(match[2]) });
    });
    child.once('exit', (code) => reject(new Error(`cluster exited (${code}) before listening: ${output}`)));
  });
}

describe('examples/cluster.ts', function () {
  this.timeout(60_000);

  it('serves from 2 worker processes on one port and stops cleanly on SIGTERM', async () => {
    const { child, port } = await startCluster(2);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      // Each client is a new connection, handed to the workers in turn.
      for (let index = 0; index < 4; index++) {
        const client = grpcJsEchoClient(port);
        try {
          expect(await unary(client, `call ${index}`)).to.deep.equal({ message: `call ${index}` });
        } finally {
          client.close();
        }
      }
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).to.equal(0);
  });
});
