import * as net from 'node:net';
import * as tls from 'node:tls';

/** The first bytes node:tls sends as a client with these options: a real ClientHello. */
export async function captureClientHello(options: tls.ConnectionOptions): Promise<Buffer> {
  const listener = net.createServer();
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  try {
    const received = new Promise<Buffer>((resolve) =>
      listener.once('connection', (socket) => socket.once('data', (chunk: Buffer) => (socket.destroy(), resolve(chunk)))),
    );
    const client = tls.connect({ host: '127.0.0.1', port: (listener.address() as net.AddressInfo).port, servername: 'localhost', ...options });
    client.on('error', () => {});
    const hello = await received;
    client.destroy();
    return hello;
  } finally {
    listener.close();
  }
}
