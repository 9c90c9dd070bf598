import { type Code, ConnectError } from '@connectrpc/connect';
import { statusFromResetCode } from '../grpc/protocol/status-mapping';
import { errorCodeName, type Initiator } from '../transport';

/**
 * The reason a handler's AbortSignal carries when its stream ends by RST_STREAM or with its
 * connection: the gRPC mapping of the code (PROTOCOL-HTTP2.md "Errors": CANCEL → Canceled,
 * REFUSED_STREAM → Unavailable, ENHANCE_YOUR_CALM → ResourceExhausted, ...). `side` 'client': the
 * same for our Connect client's response (the remote end is then the server).
 */
export function connectErrorFromReset(errorCode: number, initiator: Initiator, side: 'server' | 'client' = 'server'): ConnectError {
  // Connect's codes are gRPC's status numbers.
  const code: Code = statusFromResetCode(errorCode) as number;
  const remote = initiator === 'remote';
  const by = remote === (side === 'server') ? 'by the client' : 'by the server';
  return new ConnectError(`http/2 stream reset ${by} with ${errorCodeName(errorCode)}`, code);
}
