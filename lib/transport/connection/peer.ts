/**
 * What differs between the two ends of a connection, as data (hyperium/h2's Peer trait) instead of
 * `isServer` branches: stream-id parity, who opens streams, who sends the preface, how a graceful
 * GOAWAY goes. Everything else runs the same code in both roles.
 */
export interface Peer {
  readonly role: 'server' | 'client';
  /** Our first stream id: clients use odd ids, servers even ones (RFC 9113 §5.1.1). */
  readonly firstLocalStreamId: number;
  /** The remote end's first stream id. */
  readonly firstRemoteStreamId: number;
  /** The remote end may open streams (a server may not: we never enable push, RFC 9113 §8.4). */
  readonly remoteOpensStreams: boolean;
  /** We expect the client preface first (RFC 9113 §3.4). */
  readonly expectsPreface: boolean;
  /** We send the client preface first. */
  readonly sendsPreface: boolean;
  /**
   * A graceful GOAWAY takes two steps (2^31-1 and a PING, then the last id): requests may be on
   * their way to a server when it decides to go away; a client's peer opens nothing.
   */
  readonly twoStepGoAway: boolean;
  /** Our streams above a received GOAWAY's last id were never processed (retryable elsewhere). */
  readonly dropsUnprocessedOnGoAway: boolean;
  /** We police the peer's PINGs (grpc-go's server enforcement policy); a client answers a server's keepalive freely. */
  readonly enforcesPingPolicy: boolean;
}

export const SERVER_PEER: Peer = {
  role: 'server',
  firstLocalStreamId: 2,
  firstRemoteStreamId: 1,
  remoteOpensStreams: true,
  expectsPreface: true,
  sendsPreface: false,
  twoStepGoAway: true,
  dropsUnprocessedOnGoAway: false,
  enforcesPingPolicy: true,
};

export const CLIENT_PEER: Peer = {
  role: 'client',
  firstLocalStreamId: 1,
  firstRemoteStreamId: 2,
  remoteOpensStreams: false,
  expectsPreface: false,
  sendsPreface: true,
  twoStepGoAway: false,
  dropsUnprocessedOnGoAway: true,
  enforcesPingPolicy: false,
};

/** Whether `id` is one the remote end would open (odd ids are client-initiated). */
export function isRemoteStreamId(peer: Peer, id: number): boolean {
  return id % 2 === peer.firstRemoteStreamId % 2;
}
