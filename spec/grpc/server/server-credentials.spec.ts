import { expect } from 'chai';
import * as grpc from '@grpc/grpc-js';
import { ServerCredentials } from '../../../lib';
import { isServerCredentials } from '../../../lib/grpc/server/server-credentials';
import { testPki } from '../../support/certificates';

describe('ServerCredentials', () => {
  const pki = testPki();
  const pair = { private_key: pki.server.key, cert_chain: pki.server.cert };

  it("createSsl checks its arguments with grpc-js's errors", () => {
    expect(() => ServerCredentials.createSsl('ca' as never, [])).to.throw(TypeError, 'rootCerts must be null or a Buffer');
    expect(() => ServerCredentials.createSsl(null, {} as never)).to.throw(TypeError, 'keyCertPairs must be an array');
    expect(() => ServerCredentials.createSsl(null, [], 'yes' as never)).to.throw(TypeError, 'checkClientCertificate must be a boolean');
    expect(() => ServerCredentials.createSsl(null, [null as never])).to.throw(TypeError, 'keyCertPair[0] must be an object');
    expect(() => ServerCredentials.createSsl(null, [pair, { private_key: 'k', cert_chain: pki.server.cert } as never])).to.throw(
      TypeError,
      'keyCertPair[1].private_key must be a Buffer',
    );
    expect(() => ServerCredentials.createSsl(null, [{ private_key: pki.server.key, cert_chain: null } as never])).to.throw(
      TypeError,
      'keyCertPair[0].cert_chain must be a Buffer',
    );
  });

  it('insecure and secure credentials say which they are, and compare as grpc-js compares them', () => {
    const insecure = ServerCredentials.createInsecure();
    const secure = ServerCredentials.createSsl(pki.ca, [pair], true);
    expect(insecure._isSecure()).to.equal(false);
    expect(secure._isSecure()).to.equal(true);
    expect(insecure._equals(ServerCredentials.createInsecure())).to.equal(true);
    expect(secure._equals(ServerCredentials.createSsl(Buffer.from(pki.ca), [{ ...pair }], true))).to.equal(true);
    expect(secure._equals(ServerCredentials.createSsl(pki.ca, [pair], false))).to.equal(false);
    expect(secure._equals(ServerCredentials.createSsl(null, [pair], true))).to.equal(false);
    expect(secure._equals(insecure)).to.equal(false);
  });

  it("recognises ours and grpc-js's credentials, and nothing else", () => {
    expect(isServerCredentials(ServerCredentials.createInsecure())).to.equal(true);
    expect(isServerCredentials(grpc.ServerCredentials.createInsecure())).to.equal(true);
    expect(isServerCredentials(grpc.ServerCredentials.createSsl(null, [pair]))).to.equal(true);
    for (const value of [{}, null, undefined, 'insecure', { _isSecure: () => false }]) expect(isServerCredentials(value), String(value)).to.equal(false);
  });

  it('updateSecureContext() tells watchers the new context options', () => {
    const credentials = ServerCredentials.createSsl(null, [pair]);
    const seen: unknown[] = [];
    const watcher = (options: unknown) => seen.push(options);
    credentials._addWatcher(watcher);
    credentials.updateSecureContext(pki.ca, [{ private_key: pki.server2.key, cert_chain: pki.server2.cert }]);
    credentials._removeWatcher(watcher);
    credentials.updateSecureContext(null, [pair]);
    expect(seen).to.deep.equal([{ ca: pki.ca, cert: [pki.server2.cert], key: [pki.server2.key] }]);
    expect(credentials._getSecureContextOptions()).to.deep.equal({ ca: undefined, cert: [pki.server.cert], key: [pki.server.key] });
  });
});
