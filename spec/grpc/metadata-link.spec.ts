import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

function runNode(script: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['-e', script], { cwd: root, timeout: 20_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(JSON.parse(stdout)),
    );
  });
}

const LOADED_GRPC_JS = `Object.keys(require.cache).filter((file) => /[\\\\/]@grpc[\\\\/]grpc-js[\\\\/]/.test(file)).length`;

/** Our Metadata passes grpc-js's instanceof once the process uses grpc-js, without loading it itself (dist/). */
describe('Metadata and grpc-js in one process (dist/)', () => {
  it("require('h2grpc') and new Metadata() load no @grpc/grpc-js module", async () => {
    const loaded = await runNode(`const { Metadata } = require('./dist/index.js'); new Metadata(); console.log(${LOADED_GRPC_JS});`);
    expect(loaded).to.equal(0);
  });

  it('metadata made before and after grpc-js was loaded passes its instanceof', async () => {
    const result = await runNode(
      [
        `const { Metadata } = require('./dist/index.js');`,
        `const early = new Metadata();`,
        `const grpc = require('@grpc/grpc-js');`,
        `const late = new Metadata();`,
        `console.log(JSON.stringify([early instanceof grpc.Metadata, late instanceof grpc.Metadata, late instanceof Metadata]));`,
      ].join(' '),
    );
    expect(result).to.deep.equal([true, true, true]);
  });
});
