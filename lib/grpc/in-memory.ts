import type { Socket } from 'node:net';
import { duplexPair } from '../transport';
import type { Dialer } from './client/channel-options';
import type { Server } from './server/server';

/**
 * A channel dialer that serves every connection the channel opens on `server`, in memory: no
 * port, no socket (grpc-go's bufconn). Each connection is one `duplexPair()`, the server's end
 * handed to `server.accept()`, so the real HTTP/2 framing, flow control, keepalive and GOAWAY
 * code runs on both sides. The server needs no `bindAsync`/`listen`:
 *
 * ```ts
 * const client = new EchoClient('echo.test:1', credentials.createInsecure(), { 'h2grpc.dialer': inMemoryDialer(server) });
 * ```
 *
 * The target is not resolved (any "host:port" works; it becomes the :authority). A connection the
 * server refuses (over `h2grpc.max_connections`, or not admitted) fails the attempt as an
 * unreachable server would.
 */
export function inMemoryDialer(server: Server): Dialer {
  return () => {
    const [clientEnd, serverEnd] = duplexPair();
    // Server.accept() runs on any connected Duplex; only the optional socket members are missing.
    if (server.accept(serverEnd as unknown as Socket) === null) {
      clientEnd.destroy();
      throw new Error('the server refused the in-memory connection');
    }
    return clientEnd;
  };
}
