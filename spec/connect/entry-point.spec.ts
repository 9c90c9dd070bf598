import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

/** Runs `script` in a fresh node (no ts-node) and returns what it prints, parsed as JSON. */
function runNode(script: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['-e', script], { cwd: root, timeout: 20_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(JSON.parse(stdout)),
    );
  });
}

const LOADED_CONNECT = `Object.keys(require.cache).filter((file) => /[\\\\/]@(connectrpc|bufbuild)[\\\\/]/.test(file)).length`;

/** The h2grpc/connect entry point (dist/, built by npm test): Connect-ES loads only with it. */
describe('connect entry point (dist/)', () => {
  it("require('h2grpc') and 'h2grpc/transport' load no @connectrpc or @bufbuild module", async () => {
    const loaded = await runNode(`require('./dist/index.js'); require('./dist/transport/index.js'); console.log(${LOADED_CONNECT});`);
    expect(loaded).to.equal(0);
  });

  it("require('h2grpc/connect') loads @connectrpc/connect and has the adapter and client API and typings", async () => {
    const pkg = require(join(root, 'package.json'));
    const entry = pkg.exports['./connect'];
    expect(existsSync(join(root, entry.types))).to.equal(true);
    expect(pkg.typesVersions['*'].connect).to.deep.equal([entry.types]);
    const api = await runNode(
      `const api = require(${JSON.stringify(entry.default)}); console.log(JSON.stringify({ names: Object.keys(api).sort(), loaded: ${LOADED_CONNECT} > 0 }));`,
    );
    expect(api).to.deep.equal({
      names: [
        'addConnectRouter',
        'compressionBrotli',
        'compressionGzip',
        'connectH2grpcAdapter',
        'createConnectTransport',
        'createGrpcTransport',
        'createGrpcWebTransport',
        'createHttpClient',
      ],
      loaded: true,
    });
  });

  it('@connectrpc/connect is an optional peer dependency, not a dependency', () => {
    const pkg = require(join(root, 'package.json'));
    expect(pkg.dependencies).to.not.have.property('@connectrpc/connect');
    expect(pkg.peerDependencies).to.have.property('@connectrpc/connect');
    expect(pkg.peerDependenciesMeta['@connectrpc/connect'].optional).to.equal(true);
  });
});
