import type { HeaderList } from '../hpack/header-block';

/**
 * HTTP semantics of a message head (RFC 9113 §8.1-§8.3), checked by the transport itself so every
 * stack on it rejects malformed messages: pseudo-header rules, field syntax, connection-specific
 * fields, `te`, and content-length.
 */

/** The request pseudo-header fields (RFC 9113 §8.3.1), validated. */
export interface RequestHead {
  /** :method */
  method: string;
  /** :scheme ('' for CONNECT) */
  scheme: string;
  /** :path ('' for CONNECT) */
  path: string;
  /** :authority ('' when absent) */
  authority: string;
  /** The content-length field, or -1 without one. */
  contentLength: number;
}

/** Response pseudo-header (RFC 9113 §8.3.2), validated. */
export interface ResponseHead {
  /** :status */
  status: number;
  /** The content-length field, or -1 without one. */
  contentLength: number;
}

/** Connection-specific fields are malformed in HTTP/2 (RFC 9113 §8.2.2). */
const CONNECTION_SPECIFIC = new Set(['connection', 'proxy-connection', 'keep-alive', 'transfer-encoding', 'upgrade']);

/**
 * Field names MUST be lowercase and be tokens; values MUST NOT contain NUL, CR or LF or start/end
 * with whitespace (RFC 9113 §8.2.1). Returns a reason, or null when the field is fine.
 */
function checkField(name: string, value: string): string | null {
  if (!validNames.has(name)) {
    const problem = checkName(name);
    if (problem !== null) return problem;
    remember(validNames, name);
  }
  if (!validValues.has(value)) {
    const problem = checkValue(name, value);
    if (problem !== null) return problem;
    remember(validValues, value);
  }
  return null;
}

/**
 * Strings already found valid. The HPACK decoder hands out the same string for a repeated field,
 * so most requests are checked by a set lookup instead of a character scan. Short strings only,
 * and cleared when full, so the memory stays small whatever peers send.
 */
const validNames = new Set<string>();
const validValues = new Set<string>();
const MAX_REMEMBERED = 2048;
const MAX_REMEMBERED_LENGTH = 256;

function remember(set: Set<string>, text: string): void {
  if (text.length > MAX_REMEMBERED_LENGTH) return;
  if (set.size >= MAX_REMEMBERED) set.clear();
  set.add(text);
}

function checkName(name: string): string | null {
  if (name.length === 0) return 'empty field name';
  for (let index = name.charCodeAt(0) === 58 /* : */ ? 1 : 0; index < name.length; index++) {
    const code = name.charCodeAt(index);
    // tchar minus uppercase letters: ! # $ % & ' * + - . ^ _ ` | ~ DIGIT a-z
    if (!(code < 128 && TOKEN_LOWER[code])) return `invalid character in field name ${JSON.stringify(name)}`;
  }
  return null;
}

function checkValue(name: string, value: string): string | null {
  for (let index = 0; index < value.length; index++) {
    const code = value.charCodeAt(index);
    if (code === 0 || code === 10 || code === 13) return `invalid character in value of ${name}`;
  }
  if (value.length > 0) {
    const first = value.charCodeAt(0);
    const last = value.charCodeAt(value.length - 1);
    if (first === 32 || first === 9 || last === 32 || last === 9) return `whitespace around value of ${name}`;
  }
  return null;
}

const TOKEN_LOWER: boolean[] = [];
for (const char of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz") TOKEN_LOWER[char.charCodeAt(0)] = true;

/**
 * content-length is one decimal number; repeated values MUST be equal (RFC 9110 §8.6). Returns the
 * length seen so far (-1: none yet), or -2 when the field is malformed.
 */
function mergeContentLength(seen: number, value: string): number {
  if (!/^\d{1,15}$/.test(value)) return -2;
  const length = Number(value);
  return seen === -1 || seen === length ? length : -2;
}

/** Checks a regular (non-pseudo) field for the rules shared by requests, responses and trailers. */
function checkRegularField(name: string, value: string): string | null {
  const problem = checkField(name, value);
  if (problem !== null) return problem;
  if (CONNECTION_SPECIFIC.has(name)) return `connection-specific field ${name}`;
  // The only exception is TE, which MAY be present but MUST NOT contain any value other than "trailers".
  if (name === 'te' && value !== 'trailers') return `te: ${value}`;
  return null;
}

/**
 * Validates a request header list and extracts its pseudo-header fields (RFC 9113 §8.3.1).
 * Returns a reason string when the request is malformed (a stream error of type PROTOCOL_ERROR,
 * §8.1.1), otherwise the RequestHead.
 */
export function parseRequestHead(headers: HeaderList): RequestHead | string {
  let method: string | undefined;
  let scheme: string | undefined;
  let path: string | undefined;
  let authority: string | undefined;
  let contentLength = -1;
  let regularSeen = false;
  for (let index = 0; index < headers.length; index += 2) {
    const name = headers[index];
    const value = headers[index + 1];
    if (name.charCodeAt(0) === 58 /* : */) {
      // All pseudo-header fields MUST appear before regular fields.
      if (regularSeen) return `pseudo-header ${name} after regular fields`;
      const problem = checkField(name, value);
      if (problem !== null) return problem;
      // Pseudo-header fields MUST NOT appear more than once; unknown ones make the request malformed.
      switch (name) {
        case ':method':
          if (method !== undefined) return 'duplicate :method';
          method = value;
          break;
        case ':scheme':
          if (scheme !== undefined) return 'duplicate :scheme';
          scheme = value;
          break;
        case ':path':
          if (path !== undefined) return 'duplicate :path';
          path = value;
          break;
        case ':authority':
          if (authority !== undefined) return 'duplicate :authority';
          authority = value;
          break;
        default:
          return `unknown pseudo-header ${name}`;
      }
      continue;
    }
    regularSeen = true;
    const problem = checkRegularField(name, value);
    if (problem !== null) return problem;
    if (name === 'content-length' && (contentLength = mergeContentLength(contentLength, value)) === -2) return `malformed content-length: ${value}`;
  }
  // All HTTP/2 requests MUST include exactly one valid value for :method, :scheme and :path,
  // unless it is a CONNECT request; :path MUST NOT be empty.
  if (method === undefined) return 'missing :method';
  if (method === 'CONNECT') {
    if (scheme !== undefined || path !== undefined || authority === undefined) return 'malformed CONNECT request';
    return { method, scheme: '', path: '', authority, contentLength };
  }
  if (scheme === undefined) return 'missing :scheme';
  if (path === undefined || path.length === 0) return 'missing :path';
  return { method, scheme, path, authority: authority ?? '', contentLength };
}

/** Validates a response header list (client side) and extracts :status (RFC 9113 §8.3.2). */
export function parseResponseHead(headers: HeaderList): ResponseHead | string {
  let status: number | undefined;
  let contentLength = -1;
  let regularSeen = false;
  for (let index = 0; index < headers.length; index += 2) {
    const name = headers[index];
    const value = headers[index + 1];
    if (name.charCodeAt(0) === 58) {
      if (regularSeen) return `pseudo-header ${name} after regular fields`;
      if (name !== ':status') return `unexpected pseudo-header ${name} in response`;
      if (status !== undefined) return 'duplicate :status';
      if (!/^\d{3}$/.test(value)) return `invalid :status ${value}`;
      status = Number(value);
      continue;
    }
    regularSeen = true;
    const problem = checkRegularField(name, value);
    if (problem !== null) return problem;
    if (name === 'content-length' && (contentLength = mergeContentLength(contentLength, value)) === -2) return `malformed content-length: ${value}`;
  }
  if (status === undefined) return 'missing :status';
  return { status, contentLength };
}

/** Trailers MUST NOT include pseudo-header fields (RFC 9113 §8.1). Returns a reason or null. */
export function checkTrailers(headers: HeaderList): string | null {
  for (let index = 0; index < headers.length; index += 2) {
    const name = headers[index];
    if (name.charCodeAt(0) === 58) return `pseudo-header ${name} in trailers`;
    const problem = checkRegularField(name, headers[index + 1]);
    if (problem !== null) return problem;
  }
  return null;
}
