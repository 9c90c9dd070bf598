import { expect } from 'chai';
import { formatAddress, parseTarget, resolveTarget } from '../../../lib/grpc/client/target';

describe('client target parsing (gRPC naming)', () => {
  it('host:port, [v6]:port and a bare host (port 443)', () => {
    expect(parseTarget('localhost:50051')).to.include({ scheme: 'dns', host: 'localhost', port: 50051, authority: 'localhost:50051' });
    expect(parseTarget('[::1]:8080')).to.include({ scheme: 'dns', host: '::1', port: 8080 });
    expect(parseTarget('example.com')).to.include({ host: 'example.com', port: 443 });
  });

  it('dns:host:port and dns:///host:port', () => {
    expect(parseTarget('dns:example.com:81')).to.include({ scheme: 'dns', host: 'example.com', port: 81, authority: 'example.com:81' });
    expect(parseTarget('dns:///example.com:82')).to.include({ scheme: 'dns', host: 'example.com', port: 82, authority: 'example.com:82' });
    expect(() => parseTarget('dns://8.8.8.8/example.com:82')).to.throw(/DNS server authority/);
  });

  it('ipv4: and ipv6: lists', () => {
    expect(parseTarget('ipv4:127.0.0.1:1,10.0.0.2:2').addresses).to.deep.equal([
      { host: '127.0.0.1', port: 1 },
      { host: '10.0.0.2', port: 2 },
    ]);
    expect(parseTarget('ipv6:[::1]:3,[fe80::1]:4').addresses).to.deep.equal([
      { host: '::1', port: 3 },
      { host: 'fe80::1', port: 4 },
    ]);
    expect(() => parseTarget('ipv4:[::1]:3')).to.throw(/not an ipv4 address/);
    expect(() => parseTarget('ipv6:127.0.0.1:3')).to.throw(/not an ipv6 address/);
  });

  it('unix:path and unix:///absolute', () => {
    expect(parseTarget('unix:relative/sock').addresses).to.deep.equal([{ path: 'relative/sock' }]);
    expect(parseTarget('unix:/abs/sock').addresses).to.deep.equal([{ path: '/abs/sock' }]);
    expect(parseTarget('unix:///abs/sock').addresses).to.deep.equal([{ path: '/abs/sock' }]);
    expect(parseTarget('unix:///abs/sock').authority).to.equal('localhost');
    expect(() => parseTarget('unix://host/sock')).to.throw(/unix:\/\/\/absolute/);
  });

  it('rejects malformed targets', () => {
    expect(() => parseTarget('')).to.throw();
    expect(() => parseTarget('host:port')).to.throw(/invalid port/);
    expect(() => parseTarget('host:70000')).to.throw(/invalid port/);
    expect(() => parseTarget(':50051')).to.throw(/missing host/);
  });

  it('resolves localhost to every address; IP literals and lists without a lookup', async () => {
    const local = await resolveTarget(parseTarget('dns:///localhost:9'));
    expect(local.length).to.be.at.least(1);
    expect(local.every((address) => 'host' in address && address.port === 9)).to.equal(true);
    expect(await resolveTarget(parseTarget('127.0.0.1:7'))).to.deep.equal([{ host: '127.0.0.1', port: 7 }]);
    expect(formatAddress({ host: '::1', port: 5 })).to.equal('[::1]:5');
    expect(formatAddress({ path: '/s' })).to.equal('/s');
  });
});
