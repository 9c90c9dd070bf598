import { Server, type ServerOptions, type UntypedServiceImplementation } from '../../lib';
import { echoImplementation, loadEchoService } from '../../examples/echo-service';

/**
 * Our server with the Echo service on an ephemeral loopback port. `overrides` replaces some of the
 * echo handlers. The caller closes it (forceShutdown/tryShutdown).
 */
export async function startEchoServer(overrides: UntypedServiceImplementation = {}, options: ServerOptions = {}): Promise<{ server: Server; port: number }> {
  const server = new Server(options);
  server.addService(loadEchoService(), { ...echoImplementation, ...overrides });
  const port = await server.listen(0);
  return { server, port };
}
