import type { HeaderList } from '../transport';
import { log, LogVerbosity } from './logging';

export type MetadataValue = string | Buffer;

export interface MetadataOptions {
  waitForReady?: boolean;
  idempotentRequest?: boolean;
  cacheableRequest?: boolean;
  corked?: boolean;
}

const LEGAL_KEY = /^[0-9a-z_.-]+$/;
/** Printable ASCII, space included (PROTOCOL-HTTP2.md "ASCII-Value"). */
const LEGAL_VALUE = /^[ -~]*$/;

/**
 * Headers the transport or the gRPC protocol owns: handlers neither see nor set them
 * (PROTOCOL-HTTP2.md reserves "grpc-" for the protocol; RFC 9113 §8.2.2 bans connection fields).
 */
const RESERVED = new Set([
  'content-type',
  'te',
  'grpc-timeout',
  'grpc-encoding',
  'grpc-accept-encoding',
  'grpc-status',
  'grpc-message',
  'grpc-status-details-bin',
  'grpc-previous-rpc-attempts',
  'grpc-retry-pushback-ms',
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  'accept-encoding',
  'content-encoding',
]);

function isBinaryKey(key: string): boolean {
  return key.endsWith('-bin');
}

function normalizeKey(key: string): string {
  const lower = key.toLowerCase();
  if (!LEGAL_KEY.test(lower)) throw new Error(`Metadata key "${key}" contains illegal characters`);
  return lower;
}

function checkValue(key: string, value: MetadataValue): void {
  if (isBinaryKey(key)) {
    if (!Buffer.isBuffer(value)) throw new Error("keys that end with '-bin' must have Buffer values");
  } else {
    if (Buffer.isBuffer(value)) throw new Error("keys that don't end with '-bin' must have String values");
    if (!LEGAL_VALUE.test(value)) throw new Error(`Metadata string value "${value}" contains illegal characters`);
  }
}

/** Whether a header name is reserved for the protocol (not user metadata). */
export function isReservedHeader(key: string): boolean {
  return key.charCodeAt(0) === 58 /* : */ || RESERVED.has(key);
}

/** Headers as node:http2 and grpc-js's `toHttp2Headers()` give them (OutgoingHttpHeaders). */
export interface Http2HeadersObject {
  [key: string]: number | string | string[] | undefined;
}

/** Headers as node:http2 receives them and grpc-js's `fromHttp2Headers()` takes them (IncomingHttpHeaders). */
export interface IncomingHeadersObject {
  [key: string]: string | string[] | undefined;
}

/**
 * Fields node:http2 keeps one value of when they repeat (the first), so grpc-js handlers see one:
 * node's `kSingleValueHeaders`, the ones that are not reserved for the protocol.
 */
const SINGLE_VALUE = new Set([
  'access-control-allow-credentials',
  'access-control-max-age',
  'access-control-request-method',
  'age',
  'authorization',
  'content-language',
  'content-location',
  'content-md5',
  'content-range',
  'date',
  'dnt',
  'etag',
  'expires',
  'from',
  'if-match',
  'if-modified-since',
  'if-none-match',
  'if-range',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'range',
  'referer',
  'retry-after',
  'tk',
  'upgrade-insecure-requests',
  'user-agent',
  'x-content-type-options',
]);

function base64(value: MetadataValue): string {
  return Buffer.isBuffer(value) ? value.toString('base64') : value;
}

/**
 * gRPC metadata: a multimap of lowercase keys to string values, or Buffer values for keys ending
 * in "-bin" (base64 on the wire). Same API and same internal shape as @grpc/grpc-js's Metadata, so
 * either library's instances work with the other's functions; when @grpc/grpc-js is installed
 * next to h2grpc, our instances also pass its `instanceof Metadata` checks (see the README).
 */
export class Metadata {
  /** @internal Same name and shape as grpc-js's field, so the two classes' methods read each other's instances. */
  internalRepr = new Map<string, MetadataValue[]>();
  /** @internal */
  options: MetadataOptions;
  /** @internal Created by the first setOpaque(). */
  opaqueData?: Map<string, unknown>;

  constructor(options: MetadataOptions = {}) {
    this.options = options;
    if (!grpcJsLinkSettled) linkGrpcJsMetadata();
  }

  /** Replaces any values of `key` (lowercased) with `value`: a Buffer for "-bin" keys, printable ASCII otherwise. */
  set(key: string, value: MetadataValue): void {
    key = normalizeKey(key);
    checkValue(key, value);
    this.internalRepr.set(key, [value]);
  }

  /** Adds `value` to the values of `key` (lowercased). */
  add(key: string, value: MetadataValue): void {
    key = normalizeKey(key);
    checkValue(key, value);
    const existing = this.internalRepr.get(key);
    if (existing === undefined) this.internalRepr.set(key, [value]);
    else existing.push(value);
  }

  /** Removes every value of `key`. */
  remove(key: string): void {
    this.internalRepr.delete(key.toLowerCase());
  }

  /** Every value of `key`, in order; an empty array if none. */
  get(key: string): MetadataValue[] {
    return this.internalRepr.get(key.toLowerCase()) ?? [];
  }

  /** The first value of every key (Buffers copied, as grpc-js does). */
  getMap(): { [key: string]: MetadataValue } {
    const result: { [key: string]: MetadataValue } = {};
    for (const [key, values] of this.internalRepr) {
      if (values.length === 0) continue;
      const value = values[0];
      result[key] = Buffer.isBuffer(value) ? Buffer.from(value) : value;
    }
    return result;
  }

  /** A copy with its own value lists and Buffers; options are shared, opaque data is not copied (as grpc-js). */
  clone(): Metadata {
    const copy = new Metadata(this.options);
    for (const [key, values] of this.internalRepr) {
      copy.internalRepr.set(
        key,
        values.map((value) => (Buffer.isBuffer(value) ? Buffer.from(value) : value)),
      );
    }
    return copy;
  }

  /** Appends every value of `other` (ours or grpc-js's) after ours, key by key. */
  merge(other: Metadata): void {
    for (const [key, values] of other.internalRepr) {
      const existing = this.internalRepr.get(key) ?? [];
      this.internalRepr.set(key, existing.concat(values));
    }
  }

  setOptions(options: MetadataOptions): void {
    this.options = options;
  }

  getOptions(): MetadataOptions {
    return this.options;
  }

  /** @internal Number of keys. */
  get size(): number {
    return this.internalRepr.size;
  }

  /** Every value of every key (what JSON.stringify shows). */
  toJSON(): { [key: string]: MetadataValue[] } {
    const result: { [key: string]: MetadataValue[] } = {};
    for (const [key, values] of this.internalRepr) result[key] = values;
    return result;
  }

  /**
   * The metadata as a node:http2 headers object, as grpc-js gives it: one string for a key with
   * one value, an array for several; Buffers base64-encoded; ":" keys left out.
   */
  toHttp2Headers(): Http2HeadersObject {
    const result: Http2HeadersObject = {};
    for (const [key, values] of this.internalRepr) {
      if (key.startsWith(':')) continue;
      result[key] = values.length === 1 ? base64(values[0]) : values.map(base64);
    }
    return result;
  }

  /** Attaches data of any kind that is never sent (keys starting with "grpc" are reserved for the library). */
  setOpaque(key: string, value: unknown): void {
    if (this.opaqueData === undefined) this.opaqueData = new Map();
    this.opaqueData.set(key, value);
  }

  /** What setOpaque() stored under `key`. */
  getOpaque(key: string): unknown {
    return this.opaqueData?.get(key);
  }

  /**
   * Metadata from a node:http2 headers object, as grpc-js builds it: ":" keys skipped, array values
   * added one by one, "-bin" values base64-decoded (a custom "-bin" string split at commas). An
   * entry that is not legal metadata is logged (at ERROR) and left out.
   */
  static fromHttp2Headers(headers: IncomingHeadersObject): Metadata {
    const result = new Metadata();
    for (const key of Object.keys(headers)) {
      if (key.charAt(0) === ':') continue;
      const values = headers[key];
      if (values === undefined) continue;
      try {
        if (isBinaryKey(key)) {
          if (Array.isArray(values)) for (const value of values) result.add(key, Buffer.from(value, 'base64'));
          else if (!key.startsWith('grpc-')) for (const value of values.split(',')) result.add(key, Buffer.from(value.trim(), 'base64'));
          else result.add(key, Buffer.from(values, 'base64'));
        } else if (Array.isArray(values)) {
          for (const value of values) result.add(key, value);
        } else {
          result.add(key, values);
        }
      } catch (error) {
        log(LogVerbosity.ERROR, `Failed to add metadata entry ${key}: ${String(values)}. ${(error as Error).message}`);
      }
    }
    return result;
  }

  /**
   * @internal Appends the metadata to a header list. Reserved keys are skipped: a handler cannot set them,
   * except grpc-status-details-bin in trailers (`allowStatusDetails`), which carries rich errors.
   * Binary values are base64 (padded) per PROTOCOL-HTTP2.md.
   */
  appendToHeaders(headers: HeaderList, allowStatusDetails = false): HeaderList {
    for (const [key, values] of this.internalRepr) {
      if (isReservedHeader(key) && !(allowStatusDetails && key === 'grpc-status-details-bin')) continue;
      for (const value of values) {
        headers.push(key, Buffer.isBuffer(value) ? value.toString('base64') : value);
      }
    }
    return headers;
  }

  /**
   * @internal Builds metadata from received headers, leaving out pseudo-headers and reserved fields
   * (except `grpc-status-details-bin` when `keepStatusDetails` is set, which passes through to
   * clients). Binary values are base64, padded or not, and several may come in one field,
   * comma-separated. A repeated ASCII key gives one value, joined as node:http2 (and so grpc-js)
   * joins it: ", " (cookie: "; "), or only the first for the fields node keeps once. A value that
   * is not legal is dropped rather than failing the call.
   */
  static fromHeaders(headers: HeaderList, start = 0, keepStatusDetails = false): Metadata {
    const metadata = new Metadata();
    const repr = metadata.internalRepr;
    for (let index = start; index < headers.length; index += 2) {
      const key = headers[index];
      if (isReservedHeader(key) && !(keepStatusDetails && key === 'grpc-status-details-bin')) continue;
      // Fields that are valid HTTP but not valid gRPC metadata are dropped, so a handler that
      // echoes what it received never trips over them (PROTOCOL-HTTP2.md).
      if (!LEGAL_KEY.test(key)) continue;
      const raw = headers[index + 1];
      const existing = repr.get(key);
      if (isBinaryKey(key)) {
        // Several binary values may arrive in one field, comma-separated.
        const values = raw.split(',').map((part) => Buffer.from(part.trim(), 'base64'));
        if (existing === undefined) repr.set(key, values);
        else existing.push(...values);
      } else if (LEGAL_VALUE.test(raw)) {
        if (existing === undefined) repr.set(key, [raw]);
        else if (!SINGLE_VALUE.has(key)) existing[0] = `${existing[0] as string}${key === 'cookie' ? '; ' : ', '}${raw}`;
      }
    }
    return metadata;
  }
}

/** Whether a value is a Metadata object, ours or another library's (grpc-js's has toJSON/getMap). */
export function isMetadataLike(value: unknown): value is Metadata {
  if (value instanceof Metadata) return true;
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as { toJSON?: unknown; getMap?: unknown; get?: unknown };
  return typeof candidate.toJSON === 'function' && typeof candidate.getMap === 'function' && typeof candidate.get === 'function';
}

/**
 * Our Metadata for any metadata object handlers pass in: @grpc/grpc-js's Metadata works on our
 * server unchanged. Returns null for anything that is not metadata.
 */
export function toMetadata(value: unknown): Metadata | null {
  if (value instanceof Metadata) return value;
  if (!isMetadataLike(value)) return null;
  const converted = new Metadata();
  const entries = (value as unknown as { toJSON(): { [key: string]: MetadataValue[] } }).toJSON();
  for (const [key, values] of Object.entries(entries)) for (const item of values) converted.add(key, item);
  return converted;
}

/**
 * grpc-js's client tells metadata from call options with `instanceof Metadata` (client.ts
 * checkOptionalUnaryResponseArguments / checkMetadataAndOptions): our instances would be taken as
 * options (metadata silently dropped) or refused ("Incorrect arguments passed"). Once the process
 * has loaded grpc-js, its Metadata.prototype becomes the prototype of ours, so a handler can
 * forward `call.metadata` to a grpc-js client. Every method is our own (the chain only makes
 * `instanceof` true) and the fields have grpc-js's names and shapes, so its code reads ours.
 * We never load grpc-js ourselves: we look for its module in require.cache when our module loads
 * and at each new Metadata until it is there (one lookup), and stop looking if it is not installed.
 */
let grpcJsMetadataPath: string | null | undefined;
let grpcJsLinkSettled = false;

function linkGrpcJsMetadata(): void {
  if (grpcJsMetadataPath === undefined) {
    try {
      grpcJsMetadataPath = require.resolve('@grpc/grpc-js/build/src/metadata');
    } catch {
      grpcJsMetadataPath = null;
    }
  }
  if (grpcJsMetadataPath === null) {
    grpcJsLinkSettled = true;
    return;
  }
  const loaded = require.cache[grpcJsMetadataPath]?.exports as { Metadata?: { prototype?: object } } | undefined;
  if (loaded === undefined) return;
  grpcJsLinkSettled = true;
  const prototype = loaded.Metadata?.prototype;
  if (typeof prototype === 'object' && prototype !== null && Object.getPrototypeOf(Metadata.prototype) === Object.prototype) {
    Object.setPrototypeOf(Metadata.prototype, prototype);
  }
}
linkGrpcJsMetadata();
