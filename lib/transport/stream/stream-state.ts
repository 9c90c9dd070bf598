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
