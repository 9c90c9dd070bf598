import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..');

/** The published entry points, loaded from JavaScript as a user would (npm test builds dist/ first). */
describe('package entry points (dist/)', () => {
  it('require() of the package main gives the server API without ts-node', () => {
    const pkg = require(join(root, 'package.json'));
    const main = require(join(root, pkg.main));
    expect(main.Server).to.be.a('function');
    expect(main.ServerCredentials.createInsecure).to.be.a('function');
    expect(main.Metadata).to.be.a('function');
    expect(main.status.NOT_FOUND).to.equal(5);
    expect(main.loadPackageDefinition).to.be.a('function');
    expect(existsSync(join(root, pkg.types))).to.equal(true);
  });

  it('the transport subpath export has the HTTP/2 API and typings', () => {
    const pkg = require(join(root, 'package.json'));
    const transport = pkg.exports['./transport'];
    const api = require(join(root, transport.default));
    expect(api.Http2Connection).to.be.a('function');
    expect(api.ErrorCode.PROTOCOL_ERROR).to.equal(1);
    expect(existsSync(join(root, transport.types))).to.equal(true);
  });

  it('lib/ never imports node:http2', () => {
    const { execFileSync } = require('node:child_process') as typeof import('node:child_process');
    let found = '';
    try {
      found = execFileSync('grep', ['-rlE', 'from [\'"](node:)?http2[\'"]|require\\([\'"](node:)?http2[\'"]\\)', join(root, 'lib')], { encoding: 'utf8' });
    } catch (error) {
      // grep exits 1 when nothing matches: what we want.
      expect((error as { status: number }).status).to.equal(1);
    }
    expect(found).to.equal('');
  });

  it('the transport .d.ts shows only what users may call: no writer/reader plumbing on connections and streams', () => {
    const declarations = ['transport/connection/connection.d.ts', 'transport/stream/http2-stream.d.ts']
      .map((file) => readFileSync(join(root, 'dist', file), 'utf8'))
      .join('\n');
    const internals = [
      'put(',
      'registry',
      'decoder',
      'openPeerStream',
      'receiveData',
      'receiveReset',
      'onBytesWritten',
      'onEndWritten',
      'spendReset',
      'streamClosed',
      'writerFailed',
      'connectionReceiveWindow',
      '  listener:',
      'holdAfterClose',
      'StreamHost',
      'implements',
    ];
    expect(internals.filter((name) => declarations.includes(name))).to.deep.equal([]);
    // ...while the API is there.
    for (const name of ['request(', 'goAway(', 'close(', 'ping(', 'sendHeaders(', 'write(', 'end(', 'reset(', 'retain(', 'release(', 'setListener('])
      expect(declarations).to.include(name);
  });

  it('createServerConnection/createClientConnection and prepareHeaders are exported', () => {
    const transport = require(join(root, 'dist/transport/index.js'));
    expect(transport.createServerConnection).to.be.a('function');
    expect(transport.createClientConnection).to.be.a('function');
    expect(transport.prepareHeaders(['grpc-status', '0']).fields).to.deep.equal(['grpc-status', '0']);
    expect(transport.HeaderTemplate).to.equal(undefined);
  });
});
