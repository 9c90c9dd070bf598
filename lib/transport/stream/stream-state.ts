/*
 * Stream states, RFC 9113 §5.1 (without the reserved states: we neither send nor accept push).
 *
 *                          +--------+
 *                  send H /|  idle  |\ recv H
 *                 ,------' +--------+ `------.
 *                v                            v
 *            +--------+                  +--------+
 *    recv ES |        |  send ES         |        | recv ES
 *    ,-------|  open  |-------.          |  open  |
 *   v        +--------+        v
 * +----------+    |    +----------+      H: HEADERS frame (with implied CONTINUATIONs)
 * |   half   |    |    |   half   |      ES: END_STREAM flag
 * |  closed  |    |    |  closed  |      R: RST_STREAM frame
 * | (remote) |    |    | (local)  |
 * +----------+    |    +----------+
 *      |  send ES / R  |  recv ES / R
 *      |          v    |
 *      `------> closed <-----'
 */
export type StreamState = 'idle' | 'open' | 'halfClosedLocal' | 'halfClosedRemote' | 'closed';

/** State after HEADERS opened the stream (from either side). */
export function openedState(endStream: boolean, by: 'local' | 'remote'): StreamState {
  if (!endStream) return 'open';
  return by === 'local' ? 'halfClosedLocal' : 'halfClosedRemote';
}

/** State after we sent END_STREAM. */
export function afterLocalEnd(state: StreamState): StreamState {
  switch (state) {
    case 'open':
      return 'halfClosedLocal';
    case 'halfClosedRemote':
      return 'closed';
    default:
      return state;
  }
}

/** State after the peer sent END_STREAM. */
export function afterRemoteEnd(state: StreamState): StreamState {
  switch (state) {
    case 'open':
      return 'halfClosedRemote';
    case 'halfClosedLocal':
      return 'closed';
    default:
      return state;
  }
}

/** Whether the peer may still send DATA or trailers on a stream in this state. */
export function remoteCanSend(state: StreamState): boolean {
  return state === 'open' || state === 'halfClosedLocal';
}

/** Whether we may still send on a stream in this state. */
export function localCanSend(state: StreamState): boolean {
  return state === 'open' || state === 'halfClosedRemote';
}

/*
 * Besides its RFC state, a stream handle tracks each direction as data (stream/http2-stream.ts):
 *
 *   inbound:  open ──END_STREAM received──> ended ──end handed to the listener (or detach)──> done
 *               │                               └──────────── reset ─────────────────────────────┘
 *               └── reset (before END_STREAM) ──> reset
 *   outbound: open ──END_STREAM queued──> ending ──END_STREAM written──> ended
 *               └──────────┴── reset (before it was written) ──> reset
 *
 * and, once closed, why: both END_STREAMs went through ('endStream'), or a reset and who decided
 * it. The RFC state follows from the same events through afterRemoteEnd/afterLocalEnd.
 */

/**
 * The peer's direction: it may send ('open'), its END_STREAM arrived but is not delivered yet
 * ('ended'), its END_STREAM was delivered or dropped ('done'), or a reset came first ('reset').
 */
export type InboundState = 'open' | 'ended' | 'done' | 'reset';

/**
 * Our direction: we may send ('open'), our END_STREAM is queued ('ending'), it is written
 * ('ended'), or a reset came first ('reset').
 */
export type OutboundState = 'open' | 'ending' | 'ended' | 'reset';

/**
 * Why a stream closed: both END_STREAMs went through, or it was reset — by the application
 * ('resetByUser'), by the library (a stream error, a policy such as the reset after a server's
 * END_STREAM, a connection failure we detected: 'resetByLibrary'), or by the peer (RST_STREAM, or
 * its side of the connection went away: 'resetByRemote').
 */
export type CloseCause = 'endStream' | 'resetByUser' | 'resetByLibrary' | 'resetByRemote';

/** The close cause of a reset decided by `initiator`. */
export function resetCause(initiator: 'user' | 'library' | 'remote'): CloseCause {
  switch (initiator) {
    case 'user':
      return 'resetByUser';
    case 'library':
      return 'resetByLibrary';
    case 'remote':
      return 'resetByRemote';
  }
}

/** State after the peer's END_STREAM arrived: only an open inbound direction takes it. */
export function inboundAfterEnd(inbound: InboundState): InboundState {
  return inbound === 'open' ? 'ended' : inbound;
}
