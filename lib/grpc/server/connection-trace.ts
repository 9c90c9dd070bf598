import { errorCodeName, type GoAwayFrame, type Http2Connection } from '../../transport';
import { trace } from '../logging';

/**
 * Traces one connection (`h2grpc_connection`): opened, GOAWAY received, connection errors (we sent
 * GOAWAY with their code), closed. Called only when the tracer is on, so connections cost nothing
 * more when it is off.
 */
export function traceConnection(connection: Http2Connection, socket: { remoteAddress?: string; remotePort?: number }): void {
  const peer = socket.remoteAddress === undefined ? 'unknown' : `${socket.remoteAddress}:${socket.remotePort}`;
  trace('h2grpc_connection', `${peer} connection opened`);
  connection.on('goaway', (frame: GoAwayFrame) =>
    trace('h2grpc_connection', `${peer} GOAWAY received: ${errorCodeName(frame.errorCode)}, last stream ${frame.lastStreamId}`),
  );
  connection.on('connectionError', (error: Error) => trace('h2grpc_connection', `${peer} connection error, GOAWAY sent: ${error.message}`));
  connection.on('close', () => trace('h2grpc_connection', `${peer} connection closed`));
}
