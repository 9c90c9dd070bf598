import type { Http2Connection, StreamRequest } from '../../transport';
import type { Status } from '../status';

/**
 * @internal A stream request a Channel finds a connection for: a gRPC call (ClientCall), or an
 * exchange of another protocol on the channel's connections (h2grpc/connect's client, through
 * Channel.openStream()). The channel calls assignConnection() then connection.openStream(request)
 * once a connection is READY (at once, or after waiting as a call does), or failPick().
 */
export interface PickRequest extends StreamRequest {
  /** Wait for a READY connection instead of failing at once while the channel is in TRANSIENT_FAILURE. */
  readonly waitForReady: boolean;
  /** The request no longer wants a stream (finished, cancelled). */
  readonly isDone: boolean;
  /** The connection the stream is about to be opened on. */
  assignConnection(connection: Http2Connection): void;
  /** No connection can be had (TRANSIENT_FAILURE without waitForReady, channel closed). */
  failPick(code: Status, details: string): void;
}
