import { expect } from 'chai';
import { asksForAnyPort, parseBindTarget, resolveBindTarget, splitHostPort, targetKey, withPort } from '../../../lib/grpc/server/bind-address';

describe('bind addresses (grpc-js address strings)', () => {
  it('reads each form into scheme, authority and path; unknown schemes are DNS names', () => {
    const cases: [string, string][] = [
      ['localhost:50051', 'dns:localhost:50051'],
      ['0.0.0.0:0', 'dns:0.0.0.0:0'],
      ['[::1]:8080', 'dns:[::1]:8080'],
      ['dns:host:1', 'dns:host:1'],
      ['dns:///host:1', 'dns:///host:1'],
      ['ipv4:127.0.0.1:1,127.0.0.2:1', 'ipv4:127.0.0.1:1,127.0.0.2:1'],
      ['ipv6:[::1]:1', 'ipv6:[::1]:1'],
      ['unix:relative.sock', 'unix:relative.sock'],
      ['unix:///tmp/a.sock', 'unix:///tmp/a.sock'],
    ];
    for (const [address, key] of cases) expect(targetKey(parseBindTarget(address)), address).to.equal(key);
    expect(() => parseBindTarget('')).to.throw('Could not parse port ""');
  });

  it('splits host and port as grpc-js does', () => {
    expect(splitHostPort('host:1')).to.deep.equal({ host: 'host', port: 1 });
    expect(splitHostPort('[::1]:2')).to.deep.equal({ host: '::1', port: 2 });
    expect(splitHostPort('[::1]')).to.deep.equal({ host: '::1' });
    expect(splitHostPort('::1')).to.deep.equal({ host: '::1' });
    expect(splitHostPort('host')).to.deep.equal({ host: 'host' });
    for (const bad of ['host:port', '[nocolon]:1', '[::1]x', '[::1', '[::1]:x']) expect(splitHostPort(bad), bad).to.equal(null);
  });

  it('port 0 is replaced by the bound port in the key; Unix paths never ask for a port', () => {
    const target = parseBindTarget('[::1]:0');
    expect(asksForAnyPort(target)).to.equal(true);
    expect(targetKey(withPort(target, 4242))).to.equal('dns:[::1]:4242');
    expect(asksForAnyPort(parseBindTarget('unix:x:0'))).to.equal(false);
    expect(asksForAnyPort(parseBindTarget('localhost:1'))).to.equal(false);
  });

  it('resolves IP literals and Unix paths without DNS, defaulting the port to 443', async () => {
    expect(await resolveBindTarget(parseBindTarget('127.0.0.1'))).to.deep.equal([{ host: '127.0.0.1', port: 443 }]);
    expect(await resolveBindTarget(parseBindTarget('ipv6:[::1]:5,::2'))).to.deep.equal([
      { host: '::1', port: 5 },
      { host: '::2', port: 443 },
    ]);
    expect(await resolveBindTarget(parseBindTarget('unix:///run/x.sock'))).to.deep.equal([{ path: '/run/x.sock' }]);
    expect(await resolveBindTarget(parseBindTarget('unix:run/x.sock'))).to.deep.equal([{ path: 'run/x.sock' }]);
    await resolveBindTarget(parseBindTarget('ipv6:127.0.0.1:1')).then(
      () => expect.fail('resolved'),
      (error: Error) => expect(error.message).to.equal('Failed to parse ipv6 address 127.0.0.1:1'),
    );
  });
});
