import { expect } from 'chai';
import { createClient } from '@connectrpc/connect';
import { Channel, credentials, inMemoryDialer, Server } from '../../lib';
import { addConnectRouter, createConnectTransport, createGrpcTransport, createGrpcWebTransport, type H2grpcTransport } from '../../lib/connect';
import { echoRoutes, EchoServiceDesc } from '../support/connect-echo';

describe('connect/transports: createGrpcTransport, createConnectTransport, createGrpcWebTransport', () => {
  let server: Server;
  const channels: Channel[] = [];

  beforeEach(() => {
    server = new Server();
    addConnectRouter(server, { routes: echoRoutes() });
  });
  afterEach(() => {
    for (const channel of channels.splice(0)) channel.close();
    server.forceShutdown();
  });

  function inMemoryChannel(target = 'echo.test:80'): Channel {
    const channel = new Channel(target, credentials.createInsecure(), { 'h2grpc.dialer': inMemoryDialer(server) });
    channels.push(channel);
    return channel;
  }

  for (const [name, create] of [
    ['gRPC', createGrpcTransport],
    ['Connect', createConnectTransport],
    ['gRPC-Web', createGrpcWebTransport],
  ] as const) {
    it(`${name}: on a given channel (in memory, no port), baseUrl defaults to the channel's scheme and authority`, async () => {
      const channel = inMemoryChannel();
      const transport = create({ channel });
      expect(transport.channel).to.equal(channel);
      const client = createClient(EchoServiceDesc, transport);
      expect((await client.unaryEcho({ message: name })).message).to.equal(name);
    });
  }

  it("the channel the transport creates goes to baseUrl's host and port (the scheme's default port) with channelOptions", async () => {
    const transport: H2grpcTransport = createGrpcTransport({
      baseUrl: 'http://echo.test/',
      channelOptions: { 'h2grpc.dialer': inMemoryDialer(server) },
    });
    channels.push(transport.channel);
    expect(transport.channel.getTarget()).to.equal('echo.test:80');
    expect((await createClient(EchoServiceDesc, transport).unaryEcho({ message: 'made' })).message).to.equal('made');
    const https = createConnectTransport({ baseUrl: 'https://secure.test' });
    channels.push(https.channel);
    expect(https.channel.getTarget()).to.equal('secure.test:443');
  });

  it('refuses options that cannot work', () => {
    expect(() => createGrpcTransport(undefined as never)).to.throw(TypeError, /options are required/);
    expect(() => createGrpcTransport({})).to.throw(TypeError, /baseUrl or a channel/);
    expect(() => createGrpcTransport({ baseUrl: 'not a url' })).to.throw(TypeError, /not a URL/);
    expect(() => createGrpcTransport({ baseUrl: 'ftp://x.test' })).to.throw(TypeError, /http: or https:/);
    expect(() => createGrpcTransport({ channel: {} as Channel })).to.throw(TypeError, /h2grpc Channel/);
    const channel = inMemoryChannel();
    expect(() => createGrpcTransport({ channel, channelOptions: {} })).to.throw(/configure the given channel/);
    expect(() => createGrpcTransport({ channel, baseUrl: 'https://echo.test' })).to.throw(/is https but the channel's credentials are insecure/);
    expect(() => createGrpcTransport({ baseUrl: 'http://echo.test', credentials: credentials.createSsl() })).to.throw(
      /is http but the channel's credentials are TLS/,
    );
  });
});
