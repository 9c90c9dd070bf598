import { type PeerCertificate, TLSSocket } from 'node:tls';

/** How a call's connection is secured, as grpc-js's call.getAuthContext() reports it. */
export interface AuthContext {
  /** 'ssl' on a TLS connection whose client certificate was verified. */
  transportSecurityType?: string;
  /** That client certificate (node:tls's PeerCertificate). */
  sslPeerCertificate?: PeerCertificate;
}

/**
 * The auth context of a connection, as grpc-js computes it: `{}` unless the socket is TLS and its
 * client was authorized (a certificate verified under `checkClientCertificate`); then
 * `{ transportSecurityType: 'ssl', sslPeerCertificate }`.
 */
export function authContextOf(socket: unknown): AuthContext {
  if (!(socket instanceof TLSSocket) || !socket.authorized) return {};
  const certificate = socket.getPeerCertificate() as PeerCertificate | null;
  return { transportSecurityType: 'ssl', sslPeerCertificate: certificate?.raw ? certificate : undefined };
}
