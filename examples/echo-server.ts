/**
 * The Echo server (grpc.examples.echo.Echo) on h2grpc, with the standard health service
 * (grpc.health.v1.Health, from the grpc-health-check package) and server reflection (v1 and
 * v1alpha, from @grpc/reflection): the ecosystem packages written for grpc-js, unchanged.
 *
 * `npm start`; PORT picks the port (default 50051), HOST the address (default 127.0.0.1; 0.0.0.0
 * or :: to serve other machines). SIGINT/SIGTERM: health turns NOT_SERVING, then a graceful
 * shutdown (forced after 2 s).
 */
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import { Server, ServerCredentials } from '../lib';
import { echoImplementation, loadEchoPackageDefinition, loadEchoService } from './echo-service';

/** The service names health reports on: "" is the whole server. */
export const HEALTH_SERVICES = ['', 'grpc.examples.echo.Echo'];

/** A server with Echo, health (every name in HEALTH_SERVICES SERVING) and reflection; not yet listening. */
export function createEchoServer(): { server: Server; health: HealthImplementation } {
  const server = new Server();
  server.addService(loadEchoService(), echoImplementation);
  const health = new HealthImplementation(Object.fromEntries(HEALTH_SERVICES.map((name) => [name, 'SERVING' as const])));
  health.addToServer(server);
  new ReflectionService(loadEchoPackageDefinition()).addToServer(server);
  return { server, health };
}

function main(): void {
  const port = Number(process.env.PORT ?? 50051);
  const host = process.env.HOST ?? '127.0.0.1';
  const { server, health } = createEchoServer();
  const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  server.bindAsync(address, ServerCredentials.createInsecure(), (error, boundPort) => {
    if (error) {
      console.error(`echo server failed to start: ${error.message}`);
      process.exit(1);
    }
    console.log(`echo server listening on ${host}:${boundPort} (Echo, grpc.health.v1.Health, server reflection)`);
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      for (const name of HEALTH_SERVICES) health.setStatus(name, 'NOT_SERVING');
      server.tryShutdown(() => process.exit(0));
      setTimeout(() => server.forceShutdown(), 2000).unref();
    });
  }
}

if (require.main === module) main();
