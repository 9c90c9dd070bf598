import { expect } from 'chai';
import * as grpcJs from '@grpc/grpc-js';
import { credentials, Status } from '../../lib';
import { type AnyClient, callFailure, echoDefinition, EchoClient, unaryCall } from '../support/client-peers';
import { echoImplementation } from '../../examples/echo-service';
import { interopCertificates } from '../support/certificates';

describe('integration: our client over TLS (ALPN h2) → a grpc-js TLS server', function () {
  this.timeout(30_000);
  const certificates = interopCertificates();
  let server: grpcJs.Server;
  let port: number;
  const clients: AnyClient[] = [];

  before(async function () {
    if (certificates === null) this.skip();
    server = new grpcJs.Server();
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    server.addService((grpcJs.loadPackageDefinition(echoDefinition) as any).grpc.examples.echo.Echo.service, echoImplementation);
    port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(
        '127.0.0.1:0',
        grpcJs.ServerCredentials.createSsl(null, [{ private_key: certificates!.key, cert_chain: certificates!.cert }]),
        (error, bound) => (error ? reject(error) : resolve(bound)),
      ),
    );
  });
  after(() => {
    for (const client of clients) client.close();
    server?.forceShutdown();
  });

  function tlsClient(ca: Buffer | null, options: object = {}): AnyClient {
    const client = new EchoClient(`127.0.0.1:${port}`, credentials.createSsl(ca), { 'grpc.initial_reconnect_backoff_ms': 50, ...options });
    clients.push(client);
    return client;
  }

  it('calls succeed with the test CA and grpc.ssl_target_name_override', async () => {
    const client = tlsClient(certificates!.ca, { 'grpc.ssl_target_name_override': 'foo.test.google.fr' });
    expect((await unaryCall(client, 'secure')).message).to.equal('secure');
    const peer = await new Promise<string>((resolve) => {
      const call = client.UnaryEcho({ message: 'x' }, () => resolve(call.getPeer()));
    });
    expect(peer).to.match(/^127\.0\.0\.1:\d+$/);
  });

  it('a certificate for another name fails UNAVAILABLE (no override)', async () => {
    const error = await callFailure(unaryCall(tlsClient(certificates!.ca), 'x'));
    expect(error.code).to.equal(Status.UNAVAILABLE);
    expect(error.details).to.match(/certificate|altnames|Hostname/i);
  });

  it('an untrusted certificate fails UNAVAILABLE', async () => {
    const error = await callFailure(unaryCall(tlsClient(null, { 'grpc.ssl_target_name_override': 'foo.test.google.fr' }), 'x'));
    expect(error.code).to.equal(Status.UNAVAILABLE);
  });

  it('createSsl checks its arguments', () => {
    expect(() => credentials.createSsl(null, Buffer.from('k'))).to.throw(/together/);
    expect(() => credentials.createSsl('pem' as unknown as Buffer)).to.throw(/Buffer/);
  });
});
