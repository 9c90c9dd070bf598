import { expect } from 'chai';
import { addAdminServicesToServer, compressionAlgorithms, experimental, Server } from '../../lib';
import { echoImplementation, loadEchoService } from '../../examples/echo-service';
import { grpc, grpcJsEchoClient, unary } from '../support/echo-client';

describe('grpc-js exports: admin services, compressionAlgorithms, experimental', () => {
  it('addAdminServicesToServer adds every service registered with experimental.registerAdminService', async () => {
    let built = 0;
    experimental.registerAdminService(
      () => loadEchoService(),
      () => {
        built++;
        return echoImplementation;
      },
    );
    const server = new Server();
    addAdminServicesToServer(server);
    expect(built).to.equal(1);
    const port = await server.listen(0);
    const client = grpcJsEchoClient(port);
    try {
      expect(await unary(client, 'admin')).to.deep.equal({ message: 'admin' });
    } finally {
      client.close();
      server.forceShutdown();
    }
    // grpc-js's Server takes them the same way.
    const grpcJsServer = new grpc.Server();
    addAdminServicesToServer(grpcJsServer);
    expect(built).to.equal(2);
  });

  it('registerAdminService refuses anything but two functions', () => {
    expect(() => experimental.registerAdminService({} as never, () => ({}))).to.throw(TypeError);
  });

  it("compressionAlgorithms has grpc-js's names and values", () => {
    expect({ ...compressionAlgorithms }).to.deep.equal({ ...grpc.compressionAlgorithms });
  });

  it('experimental: durations, StatusOr and trace work; the client machinery throws saying it is not implemented', () => {
    expect(experimental.parseDuration('1.5s')).to.deep.equal({ seconds: 1, nanos: 500_000_000 });
    expect(experimental.parseDuration('1.5')).to.equal(null);
    expect(experimental.durationToMs({ seconds: 2, nanos: 3_000_000 })).to.equal(2003);
    expect(experimental.statusOrFromValue(5)).to.deep.equal({ ok: true, value: 5 });
    expect(() => experimental.trace(0, 'some_tracer', 'text')).to.not.throw();
    for (const name of ['registerResolver', 'registerLoadBalancerType', 'createServerCredentialsWithInterceptors', 'FileWatcherCertificateProvider'] as const) {
      expect(() => experimental[name](), name).to.throw(new RegExp(`h2grpc does not implement experimental\\.${name}`));
    }
  });
});
