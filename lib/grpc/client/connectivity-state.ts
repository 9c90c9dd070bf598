/** Channel connectivity states (doc/connectivity-semantics-and-api.md), numbered as grpc-js's `connectivityState`. */
export enum ConnectivityState {
  IDLE = 0,
  CONNECTING = 1,
  READY = 2,
  TRANSIENT_FAILURE = 3,
  SHUTDOWN = 4,
}
