/**
 * The echo server (Echo, health, reflection) in one process per core, sharing one port through
 * node:cluster: the primary accepts connections and hands them to the workers in turn (Node's
 * default round-robin scheduling outside Windows), so calls spread across cores by connection.
 *
 *   npm run build && npx tsc -p tsconfig.examples.json && node build/examples/cluster.js
 *
 * WORKERS (default: os.availableParallelism()), PORT (default 50051; 0 picks one, the same for
 * every worker), HOST (default 127.0.0.1). A worker that dies is replaced; SIGINT/SIGTERM to the
 * primary shuts every worker down gracefully.
 */
import cluster from 'node:cluster';
import * as os from 'node:os';
import { ServerCredentials } from '../lib';
import { createEchoServer, HEALTH_SERVICES } from './echo-server';

const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT ?? 50051);

/** What a worker tells the primary once it listens. */
interface ListeningMessage {
  listening: number;
}

function primary(): void {
  const workers = Number(process.env.WORKERS ?? os.availableParallelism());
  if (!Number.isInteger(workers) || workers < 1) throw new Error(`WORKERS must be a positive integer, not ${process.env.WORKERS}`);
  let stopping = false;
  let announced = false;
  const listening = new Set<number>();
  const start = () => {
    const worker = cluster.fork();
    worker.on('message', (message: ListeningMessage) => {
      if (typeof message?.listening !== 'number') return;
      listening.add(worker.id);
      if (!announced && listening.size === workers) {
        announced = true;
        console.log(`cluster: ${workers} workers listening on ${host}:${message.listening}`);
      }
    });
  };
  for (let index = 0; index < workers; index++) start();
  const stopAll = () => {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
  };
  cluster.on('exit', (worker, code, signal) => {
    const hadListened = listening.delete(worker.id);
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(process.exitCode ?? 0);
      return;
    }
    if (!hadListened) {
      // It could not even start (port taken, bad address): another would fail the same way.
      console.error(`cluster: worker ${worker.process.pid} exited (${signal ?? code}) before listening; stopping`);
      process.exitCode = 1;
      stopAll();
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(1);
      return;
    }
    console.error(`cluster: worker ${worker.process.pid} exited (${signal ?? code}); starting another`);
    start();
  });
  for (const name of ['SIGINT', 'SIGTERM'] as const) process.once(name, stopAll);
}

function worker(): void {
  const { server, health } = createEchoServer();
  const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  server.bindAsync(address, ServerCredentials.createInsecure(), (error, boundPort) => {
    if (error) {
      console.error(`cluster worker ${process.pid}: ${error.message}`);
      process.exit(1);
    }
    process.send?.({ listening: boundPort } satisfies ListeningMessage);
  });
  process.once('SIGTERM', () => {
    for (const name of HEALTH_SERVICES) health.setStatus(name, 'NOT_SERVING');
    server.tryShutdown(() => process.exit(0));
    setTimeout(() => server.forceShutdown(), 2000).unref();
  });
  // The primary's Ctrl-C reaches the whole process group; the primary's SIGTERM is what stops us.
  process.on('SIGINT', () => {});
}

if (cluster.isPrimary) primary();
else worker();
