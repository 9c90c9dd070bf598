import { expect } from 'chai';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath as HEALTH_PROTO } from 'grpc-health-check';
import type { HealthImplementation } from 'grpc-health-check';
import type { Server } from '../../lib';
import { createEchoServer } from '../../examples/echo-server';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyClient = grpc.Client & Record<string, (...args: any[]) => any>;

const REFLECTION_PROTOS = path.join(path.dirname(require.resolve('@grpc/reflection/package.json')), 'build', 'proto', 'grpc', 'reflection');

function loadClient(file: string, service: (loaded: Record<string, unknown>) => unknown, port: number): AnyClient {
  const loaded = grpc.loadPackageDefinition(protoLoader.loadSync(file, { keepCase: true, defaults: true, enums: String }));
  const Constructor = service(loaded) as grpc.ServiceClientConstructor;
  return new Constructor(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as AnyClient;
}

function check(client: AnyClient, service: string): Promise<string> {
  return new Promise((resolve, reject) =>
    client.Check({ service }, (error: grpc.ServiceError | null, response: { status: string }) => (error ? reject(error) : resolve(response.status))),
  );
}

/** One request on a reflection stream, its first answer. */
function reflect(client: AnyClient, request: object): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const call = client.ServerReflectionInfo();
    call.on('data', (response: Record<string, unknown>) => {
      resolve(response);
      call.end();
    });
    call.on('error', reject);
    call.write(request);
  });
}

describe('integration: grpc-health-check and @grpc/reflection on our Server (the npm start echo server)', () => {
  let server: Server;
  let health: HealthImplementation;
  let port: number;
  const clients: AnyClient[] = [];

  before(async () => {
    ({ server, health } = createEchoServer());
    port = await server.listen(0);
  });
  after(() => {
    for (const client of clients) client.close();
    server.forceShutdown();
  });

  function healthClient(): AnyClient {
    const client = loadClient(HEALTH_PROTO, (loaded) => (loaded as { grpc: { health: { v1: { Health: unknown } } } }).grpc.health.v1.Health, port);
    clients.push(client);
    return client;
  }

  function reflectionClient(version: 'v1' | 'v1alpha'): AnyClient {
    const client = loadClient(
      path.join(REFLECTION_PROTOS, version, 'reflection.proto'),
      (loaded) => (loaded as { grpc: { reflection: Record<string, { ServerReflection: unknown }> } }).grpc.reflection[version].ServerReflection,
      port,
    );
    clients.push(client);
    return client;
  }

  it('Check answers SERVING for "" and for grpc.examples.echo.Echo, NOT_FOUND for an unknown service', async () => {
    const client = healthClient();
    expect(await check(client, '')).to.equal('SERVING');
    expect(await check(client, 'grpc.examples.echo.Echo')).to.equal('SERVING');
    const error = await check(client, 'no.Such').then(
      () => null,
      (failure: grpc.ServiceError) => failure,
    );
    expect(error?.code).to.equal(grpc.status.NOT_FOUND);
  });

  it('Watch streams the status as it flips', async () => {
    const client = healthClient();
    const call = client.Watch({ service: 'grpc.examples.echo.Echo' });
    call.on('error', () => {});
    const seen: string[] = [];
    const next = () => new Promise<void>((resolve) => call.once('data', (response: { status: string }) => resolve(void seen.push(response.status))));
    await next();
    health.setStatus('grpc.examples.echo.Echo', 'NOT_SERVING');
    await next();
    health.setStatus('grpc.examples.echo.Echo', 'SERVING');
    await next();
    call.cancel();
    expect(seen).to.deep.equal(['SERVING', 'NOT_SERVING', 'SERVING']);
    expect(await check(client, 'grpc.examples.echo.Echo')).to.equal('SERVING');
  });

  it('List gives every service with its status', async () => {
    const client = healthClient();
    const response = await new Promise<{ statuses: Record<string, { status: string }> }>((resolve, reject) =>
      client.List({}, (error: grpc.ServiceError | null, value: { statuses: Record<string, { status: string }> }) => (error ? reject(error) : resolve(value))),
    );
    expect(response.statuses).to.deep.equal({ '': { status: 'SERVING' }, 'grpc.examples.echo.Echo': { status: 'SERVING' } });
  });

  for (const version of ['v1', 'v1alpha'] as const) {
    it(`reflection ${version}: list_services names the Echo service`, async () => {
      const response = await reflect(reflectionClient(version), { list_services: '' });
      const services = (response.list_services_response as { service: { name: string }[] }).service.map((service) => service.name);
      expect(services).to.include('grpc.examples.echo.Echo');
    });

    it(`reflection ${version}: file_containing_symbol gives echo.proto's descriptor`, async () => {
      const response = await reflect(reflectionClient(version), { file_containing_symbol: 'grpc.examples.echo.Echo' });
      const files = (response.file_descriptor_response as { file_descriptor_proto: Buffer[] }).file_descriptor_proto;
      const { FileDescriptorProto } = require('protobufjs/ext/descriptor');
      const decoded = files.map((bytes) => FileDescriptorProto.decode(bytes) as { name: string; package: string; service: { name: string }[] });
      const echo = decoded.find((file) => file.package === 'grpc.examples.echo');
      expect(echo?.name).to.match(/echo\.proto$/);
      expect(echo?.service.map((service) => service.name)).to.deep.equal(['Echo']);
    });
  }
});
