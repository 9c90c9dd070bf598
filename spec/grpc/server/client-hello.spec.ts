import { expect } from 'chai';
import { inspectClientHello, MAX_CLIENT_HELLO_BYTES } from '../../../lib/grpc/server/client-hello';
import { captureClientHello } from '../../support/client-hello';

describe('ClientHello ALPN check', () => {
  let withH2: Buffer;
  let withoutAlpn: Buffer;
  let http1Only: Buffer;

  before(async () => {
    withH2 = await captureClientHello({ ALPNProtocols: ['http/1.1', 'h2'] });
    withoutAlpn = await captureClientHello({});
    http1Only = await captureClientHello({ ALPNProtocols: ['http/1.1', 'h2c'] });
  });

  it('finds "h2" among the offered protocols, and its absence', () => {
    expect(inspectClientHello(withH2)).to.equal('h2');
    expect(inspectClientHello(withoutAlpn)).to.equal('noH2');
    expect(inspectClientHello(http1Only)).to.equal('noH2');
  });

  it('asks for more bytes at every cut of a ClientHello, then judges it whole', () => {
    for (let length = 0; length < withH2.length; length++)
      expect(inspectClientHello(withH2.subarray(0, length)), `first ${length} bytes`).to.equal('incomplete');
  });

  it('reads a ClientHello fragmented over several TLS records', () => {
    const body = withH2.subarray(5);
    const record = (part: Buffer) => Buffer.concat([Buffer.from([22, 3, 1, part.length >> 8, part.length & 0xff]), part]);
    const fragmented = Buffer.concat([record(body.subarray(0, 10)), record(body.subarray(10, 100)), record(body.subarray(100))]);
    expect(inspectClientHello(fragmented)).to.equal('h2');
    expect(inspectClientHello(fragmented.subarray(0, 30))).to.equal('incomplete');
  });

  it('leaves what is not a TLS handshake to node:tls', () => {
    expect(inspectClientHello(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'))).to.equal('notTls');
    expect(inspectClientHello(Buffer.from([22, 3, 1, 0, 4, 2, 0, 0, 0]))).to.equal('notTls'); // a ServerHello
    expect(inspectClientHello(Buffer.from([22, 3, 1, 0, 4, 1, 0xff, 0xff, 0xff]))).to.equal('notTls'); // 16 MiB claimed
    expect(MAX_CLIENT_HELLO_BYTES).to.be.lessThan(0xffffff);
  });

  it('never reads past a truncated or lying ClientHello', () => {
    // A complete handshake message whose inner lengths point past its end.
    const hello = Buffer.concat([Buffer.from([3, 3]), Buffer.alloc(32), Buffer.from([200])]);
    const message = Buffer.concat([Buffer.from([1, 0, 0, hello.length]), hello]);
    const record = Buffer.concat([Buffer.from([22, 3, 1, 0, message.length]), message]);
    expect(inspectClientHello(record)).to.equal('notTls');
    for (let cut = 0; cut < withH2.length; cut += 7) {
      const corrupt = Buffer.from(withH2);
      corrupt[cut] ^= 0xff;
      expect(() => inspectClientHello(corrupt)).not.to.throw();
    }
  });
});
