/**
 * The Echo server (grpc.examples.echo.Echo) on h2grpc. `npm start`; PORT picks the port (default 50051).
 */
import { Server, ServerCredentials } from '../lib';
import { echoImplementation, loadEchoService } from './echo-service';

const port = Number(process.env.PORT ?? 50051);
const host = process.env.HOST ?? '127.0.0.1';
const server = new Server();
server.addService(loadEchoService(), echoImplementation);
server.bindAsync(`${host}:${port}`, ServerCredentials.createInsecure(), (error, boundPort) => {
  if (error) {
    console.error(`echo server failed to start: ${error.message}`);
    process.exit(1);
  }
  console.log(`echo server listening on ${host}:${boundPort}`);
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.tryShutdown(() => process.exit(0));
    setTimeout(() => server.forceShutdown(), 2000).unref();
  });
}
