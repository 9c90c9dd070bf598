import { once } from 'node:events';
import * as net from 'node:net';
import {
  createClientConnection,
  createServerConnection,
  type ConnectionOptions,
  type HeaderList,
  type Http2Connection,
  type Http2Stream,
  type Initiator,
  type StreamListener,
} from '../../lib/transport';

/** Raw HTTP/2 exchanges with the Connect adapter: our client connection against our server connection. */

/** Records what a client stream receives; `done` resolves at its end or reset. */
export class Received implements StreamListener {
  headers: HeaderList | null = null;
  headersEndStream = false;
  trailers: HeaderList | null = null;
  data: Buffer[] = [];
  reset: number | null = null;
  readonly done: Promise<void>;
  private finish!: () => void;
  constructor() {
    this.done = new Promise((resolve) => (this.finish = resolve));
  }
  onHeaders(headers: HeaderList, endStream: boolean): void {
    this.headers = headers;
    this.headersEndStream = endStream;
  }
  onData(chunk: Buffer): void {
    this.data.push(chunk);
  }
  onTrailers(trailers: HeaderList): void {
    this.trailers = trailers;
  }
  onEnd(): void {
    this.finish();
  }
  onReset(errorCode: number, _initiator: Initiator): void {
    this.reset = errorCode;
    this.finish();
  }
  onDrain(): void {}
  field(name: string, list: HeaderList | null = this.headers): string | undefined {
    for (let index = 0; list !== null && index < list.length; index += 2) if (list[index] === name) return list[index + 1];
    return undefined;
  }
}

export interface Pair {
  client: Http2Connection;
  server: Http2Connection;
  close(): Promise<void>;
}

/** A connected loopback TCP socket pair. */
async function socketPair(): Promise<[net.Socket, net.Socket]> {
  const listener = net.createServer();
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const accepted = once(listener, 'connection') as Promise<[net.Socket]>;
  const clientSocket = net.connect((listener.address() as net.AddressInfo).port, '127.0.0.1');
  const [[serverSocket]] = await Promise.all([accepted, once(clientSocket, 'connect')]);
  listener.close();
  return [clientSocket, serverSocket];
}

/** Our client connection against our server connection over loopback TCP. */
export async function connectPair(serverOptions: ConnectionOptions = {}, clientOptions: ConnectionOptions = {}): Promise<Pair> {
  const [clientSocket, serverSocket] = await socketPair();
  const server = createServerConnection(serverSocket, serverOptions);
  const client = createClientConnection(clientSocket, clientOptions);
  const closed = Promise.all([once(client, 'close'), once(server, 'close')]);
  return {
    client,
    server,
    async close() {
      client.close();
      server.close();
      await closed;
    },
  };
}

export function requestHead(path: string, contentType: string, extra: HeaderList = []): HeaderList {
  return [':method', 'POST', ':scheme', 'http', ':path', path, ':authority', 'adapter.test', 'content-type', contentType, 'te', 'trailers', ...extra];
}

/** An enveloped EchoRequest { message } (field 1, length-delimited). */
export function echoRequestEnvelope(message: string): Buffer {
  const text = Buffer.from(message);
  const payload = Buffer.concat([Buffer.from([0x0a, text.length]), text]);
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(payload.length, 1);
  return Buffer.concat([prefix, payload]);
}

export function send(client: Http2Connection, headers: HeaderList, body: Buffer | null): { stream: Http2Stream; received: Received } {
  const stream = client.request(headers, body === null);
  const received = new Received();
  stream.setListener(received);
  if (body !== null) stream.write(body, true);
  return { stream, received };
}
