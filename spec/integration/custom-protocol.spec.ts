import { expect } from 'chai';
import { execFile } from 'node:child_process';
import * as path from 'node:path';

/** examples/custom-protocol.ts (the transport guide's example) runs and prints what it should. */
describe('examples/custom-protocol.ts', () => {
  it('serves a non-gRPC request/response protocol over the transport: 200 with body and trailer, 404 for other paths', async () => {
    const script = path.join(__dirname, '..', '..', 'examples', 'custom-protocol.ts');
    const output = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['-r', 'ts-node/register/transpile-only', script], { timeout: 20_000 }, (error, stdout, stderr) =>
        error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout),
      ),
    );
    expect(output.trim().split('\n')).to.deep.equal(['/upper → 200 "HELLO, TRANSPORT" x-bytes=16', '/missing → 404 ""']);
  });
});
