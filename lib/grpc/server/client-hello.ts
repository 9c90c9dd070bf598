/**
 * Reads a TLS ClientHello far enough to see which application protocols (ALPN, RFC 7301) the
 * client offers. OpenSSL refuses a client whose ALPN list lacks "h2" with the
 * no_application_protocol alert, but lets a client that sends no ALPN extension at all finish
 * its handshake; gRPC requires h2 (PROTOCOL-HTTP2.md, grpc-go since 1.67), so the server looks
 * first and answers such a client with the same alert.
 */

/** What the first bytes of a connection say. */
export type ClientHelloVerdict =
  /** A ClientHello offering "h2". */
  | 'h2'
  /** A ClientHello without "h2" among its ALPN protocols, or without ALPN. */
  | 'noH2'
  /** Not a TLS handshake (or one we cannot read): the TLS stack answers it. */
  | 'notTls'
  /** More bytes are needed. */
  | 'incomplete';

const CONTENT_HANDSHAKE = 22;
const HANDSHAKE_CLIENT_HELLO = 1;
const RECORD_HEADER_LENGTH = 5;
const EXTENSION_ALPN = 16;
/** A ClientHello larger than this is not worth waiting for (real ones are well under 4 KiB). */
export const MAX_CLIENT_HELLO_BYTES = 64 * 1024;

/**
 * More records than this before the ClientHello is whole: not worth reading (a real one spans a
 * few; records of 16 KiB carry the largest we wait for in 4). Each look walks every record, so the
 * bound keeps a client that drips tiny records from costing CPU per byte it sends.
 */
export const MAX_CLIENT_HELLO_RECORDS = 32;
/** TLSPlaintext.length never exceeds 2^14 (RFC 8446 §5.1). */
const MAX_RECORD_LENGTH = 1 << 14;

/** A fatal no_application_protocol alert (RFC 8446 §6, alert 120) in a TLS 1.2-versioned record. */
export const NO_APPLICATION_PROTOCOL_ALERT = Buffer.from([21, 3, 3, 0, 2, 2, 120]);

/** Concatenates the handshake-record payloads at the start of `data` (null: not TLS handshake records). */
function handshakeBytes(data: Buffer): Buffer | null {
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset + RECORD_HEADER_LENGTH <= data.length) {
    if (data[offset] !== CONTENT_HANDSHAKE || data[offset + 1] !== 3) return null;
    const length = data.readUInt16BE(offset + 3);
    // Zero-length handshake fragments are forbidden (RFC 8446 §5.1, RFC 5246 §6.2.1).
    if (length === 0 || length > MAX_RECORD_LENGTH || parts.length >= MAX_CLIENT_HELLO_RECORDS) return null;
    const end = offset + RECORD_HEADER_LENGTH + length;
    if (end > data.length) break;
    parts.push(data.subarray(offset + RECORD_HEADER_LENGTH, end));
    offset = end;
  }
  if (parts.length === 0 && data.length >= 1 && data[0] !== CONTENT_HANDSHAKE) return null;
  return Buffer.concat(parts);
}

/** Whether the ALPN extension body lists "h2". */
function alpnOffersH2(body: Buffer): boolean {
  if (body.length < 2) return false;
  const end = Math.min(body.length, 2 + body.readUInt16BE(0));
  let offset = 2;
  while (offset < end) {
    const length = body[offset];
    const name = body.subarray(offset + 1, offset + 1 + length);
    if (name.length === 2 && name[0] === 0x68 && name[1] === 0x32) return true;
    offset += 1 + length;
  }
  return false;
}

/** Finds the ALPN extension of a complete ClientHello body and checks it for "h2". */
function helloOffersH2(hello: Buffer): ClientHelloVerdict {
  // client_version(2) random(32) session_id<0..32> cipher_suites<2..2^16-2> compression_methods<1..2^8-1>
  let offset = 34;
  if (offset + 1 > hello.length) return 'notTls';
  offset += 1 + hello[offset];
  if (offset + 2 > hello.length) return 'notTls';
  offset += 2 + hello.readUInt16BE(offset);
  if (offset + 1 > hello.length) return 'notTls';
  offset += 1 + hello[offset];
  if (offset + 2 > hello.length) return 'noH2'; // no extensions at all
  const end = Math.min(hello.length, offset + 2 + hello.readUInt16BE(offset));
  offset += 2;
  while (offset + 4 <= end) {
    const type = hello.readUInt16BE(offset);
    const length = hello.readUInt16BE(offset + 2);
    if (type === EXTENSION_ALPN) return alpnOffersH2(hello.subarray(offset + 4, Math.min(end, offset + 4 + length))) ? 'h2' : 'noH2';
    offset += 4 + length;
  }
  return 'noH2';
}

/** Judges the bytes a client has sent so far on a TLS port. */
export function inspectClientHello(data: Buffer): ClientHelloVerdict {
  const bytes = handshakeBytes(data);
  if (bytes === null) return 'notTls';
  if (bytes.length < 4) return data.length > MAX_CLIENT_HELLO_BYTES ? 'notTls' : 'incomplete';
  if (bytes[0] !== HANDSHAKE_CLIENT_HELLO) return 'notTls';
  const length = bytes.readUIntBE(1, 3);
  if (length > MAX_CLIENT_HELLO_BYTES) return 'notTls';
  if (bytes.length < 4 + length) return 'incomplete';
  return helloOffersH2(bytes.subarray(4, 4 + length));
}

/**
 * With an 'incomplete' verdict: how many bytes `data` must reach before another look can judge
 * differently (the end of the record under way, or of the next record header). Always more
 * than `data.length`, so a caller that waits for it looks at most twice per record.
 */
export function clientHelloBytesWanted(data: Buffer): number {
  let offset = 0;
  while (offset + RECORD_HEADER_LENGTH <= data.length) {
    const end = offset + RECORD_HEADER_LENGTH + data.readUInt16BE(offset + 3);
    if (end > data.length) return end;
    offset = end;
  }
  return offset + RECORD_HEADER_LENGTH;
}
