/**
 * A TCP listener serving each socket with a bare server-role Http2Connection (no gRPC), for
 * transport specs driven by a raw peer.
 */
import * as net from 'node:net';
import { once } from 'node:events';
import { type ConnectionError, type ConnectionOptions, Http2Connection, type Http2Stream, type StreamListener } from '../../lib/transport';

/** A listener that takes every chunk at once and ignores the rest. */
export const sink = (): StreamListener => ({ onData() {}, onTrailers() {}, onEnd() {}, onReset() {}, onDrain() {} });

/** A TCP listener that serves each socket with a server-role Http2Connection and hands streams to `onStream`. */
export async function serveBare(options: ConnectionOptions, onStream: (stream: Http2Stream, connection: Http2Connection) => void) {
  const connections: Http2Connection[] = [];
  const errors: ConnectionError[] = [];
  const listener = net.createServer((socket) => {
    const connection = new Http2Connection(socket, 'server', options);
    connections.push(connection);
    connection.on('stream', (stream: Http2Stream) => onStream(stream, connection));
    connection.on('connectionError', (error: ConnectionError) => errors.push(error));
  });
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const port = (listener.address() as net.AddressInfo).port;
  const close = async () => {
    for (const connection of connections) connection.socket.destroy();
    listener.close();
    await once(listener, 'close');
  };
  return { port, connections, errors, close };
}

export type BareServer = Awaited<ReturnType<typeof serveBare>>;
