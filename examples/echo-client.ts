/**
 * Calls all four Echo methods on a server at 127.0.0.1:$PORT (default 50051) and prints the results.
 * Exits 0 only if all four succeed. Uses h2grpc's own client, written exactly as for @grpc/grpc-js.
 */
import * as protoLoader from '@grpc/proto-loader';
import * as grpc from '../lib';
import { ECHO_PROTO } from './echo-service';

const port = Number(process.env.PORT ?? 50051);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const loaded = grpc.loadPackageDefinition(protoLoader.loadSync(ECHO_PROTO, { keepCase: true })) as any;
const client = new loaded.grpc.examples.echo.Echo(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
const deadline = () => Date.now() + 5000;

function unary(): Promise<string> {
  return new Promise((resolve, reject) =>
    client.UnaryEcho({ message: 'hello' }, { deadline: deadline() }, (error: Error | null, response: { message: string }) =>
      error ? reject(error) : resolve(response.message),
    ),
  );
}

function serverStreaming(): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const messages: string[] = [];
    const call = client.ServerStreamingEcho({ message: 'stream' }, { deadline: deadline() });
    call.on('data', (response: { message: string }) => messages.push(response.message));
    call.on('end', () => resolve(messages));
    call.on('error', reject);
  });
}

function clientStreaming(): Promise<string> {
  return new Promise((resolve, reject) => {
    const call = client.ClientStreamingEcho({ deadline: deadline() }, (error: Error | null, response: { message: string }) =>
      error ? reject(error) : resolve(response.message),
    );
    for (const message of ['one', 'two', 'three']) call.write({ message });
    call.end();
  });
}

function bidi(): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const messages: string[] = [];
    const call = client.BidirectionalStreamingEcho({ deadline: deadline() });
    call.on('data', (response: { message: string }) => messages.push(response.message));
    call.on('end', () => resolve(messages));
    call.on('error', reject);
    for (const message of ['ping', 'pong']) call.write({ message });
    call.end();
  });
}

async function main(): Promise<void> {
  const calls: [string, () => Promise<unknown>][] = [
    ['UnaryEcho', unary],
    ['ServerStreamingEcho', serverStreaming],
    ['ClientStreamingEcho', clientStreaming],
    ['BidirectionalStreamingEcho', bidi],
  ];
  let failures = 0;
  for (const [name, call] of calls) {
    try {
      console.log(`${name}: ${JSON.stringify(await call())}`);
    } catch (error) {
      failures++;
      console.log(`${name} failed: ${(error as Error).message}`);
    }
  }
  client.close();
  process.exit(failures === 0 ? 0 : 1);
}

void main();
