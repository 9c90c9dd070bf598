/**
 * A small non-gRPC protocol on h2grpc's HTTP/2 transport (docs/transport.md): POST /upper returns
 * the body upper-cased, with the byte count in a trailer; any other path is a 404. Both ends run
 * over a loopback TCP socket. Run: npx ts-node --transpile-only examples/custom-protocol.ts
 */
import * as net from 'node:net';
import { once } from 'node:events';
import { createClientConnection, createServerConnection, type Http2Stream, type HeaderList } from '../lib/transport';

/** Server side: one listener per stream; the request head is validated by the transport. */
function serve(stream: Http2Stream): void {
  if (stream.requestHead?.path !== '/upper') {
    stream.sendHeaders([':status', '404'], true);
    return;
  }
  let bytes = 0;
  // Header lists are flat: [name, value, name, value, ...].
  stream.sendHeaders([':status', '200', 'content-type', 'text/plain']);
  stream.setListener({
    onData(chunk) {
      bytes += chunk.length;
      // write() returns false when the write quota is used up: stop reading until onDrain.
      if (!stream.write(Buffer.from(chunk.toString('latin1').toUpperCase(), 'latin1'))) stream.pause();
    },
    onDrain: () => stream.resume(),
    onTrailers() {},
    onEnd: () => stream.end(['x-bytes', String(bytes)]),
    onReset: (code) => console.log(`server: request reset with code ${code}`),
  });
}

function pairs(headers: HeaderList): string {
  const fields: string[] = [];
  for (let index = 0; index < headers.length; index += 2) fields.push(`${headers[index]}=${headers[index + 1]}`);
  return fields.join(' ');
}

/** Client side: sends one request and collects the response. */
function call(connection: ReturnType<typeof createClientConnection>, path: string, body: string): Promise<string> {
  const stream = connection.request([':method', 'POST', ':scheme', 'http', ':authority', 'localhost', ':path', path]);
  return new Promise((resolve, reject) => {
    let status = '';
    const chunks: Buffer[] = [];
    let trailers: HeaderList = [];
    stream.setListener({
      onHeaders: (headers) => (status = headers[headers.indexOf(':status') + 1]),
      onData: (chunk) => chunks.push(chunk),
      onTrailers: (received) => (trailers = received),
      onEnd: () => resolve(`${path} → ${status} "${Buffer.concat(chunks).toString()}" ${pairs(trailers)}`.trim()),
      onReset: (code) => reject(new Error(`stream reset with code ${code}`)),
      onDrain() {},
    });
    // A short body fits the write quota; a long one would wait for onDrain between writes.
    if (body) stream.write(Buffer.from(body));
    stream.end();
  });
}

async function main(): Promise<void> {
  const server = net.createServer((socket) => createServerConnection(socket).on('stream', serve));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const client = createClientConnection(socket);
  console.log(await call(client, '/upper', 'hello, transport'));
  console.log(await call(client, '/missing', ''));
  client.close();
  server.close();
}

if (require.main === module) {
  main().catch((error: Error) => {
    console.error(error);
    process.exit(1);
  });
}
