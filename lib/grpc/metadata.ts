import type { HeaderList } from '../transport';

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

/**
 * gRPC metadata: a multimap of lowercase keys to string values, or Buffer values for keys ending
 * in "-bin" (base64 on the wire). API-compatible with @grpc/grpc-js's Metadata.
 */
export class Metadata {
  protected internalRepr = new Map<string, MetadataValue[]>();
  private options: MetadataOptions;

  constructor(options: MetadataOptions = {}) {
    this.options = options;
  }

  /** Replaces any values of `key` with `value`. */
  set(key: string, value: MetadataValue): void {
    key = normalizeKey(key);
    checkValue(key, value);
    this.internalRepr.set(key, [value]);
  }

  /** Adds `value` to the values of `key`. */
  add(key: string, value: MetadataValue): void {
    key = normalizeKey(key);
    checkValue(key, value);
    const existing = this.internalRepr.get(key);
    if (existing === undefined) this.internalRepr.set(key, [value]);
    else existing.push(value);
  }

  remove(key: string): void {
    this.internalRepr.delete(normalizeKey(key));
  }

  get(key: string): MetadataValue[] {
    return this.internalRepr.get(normalizeKey(key)) ?? [];
  }

  /** The first value of every key. */
  getMap(): { [key: string]: MetadataValue } {
    const result: { [key: string]: MetadataValue } = {};
    for (const [key, values] of this.internalRepr) if (values.length > 0) result[key] = values[0];
    return result;
  }

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

  /** Adds every value of `other` (grpc-js: merge). */
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

  get size(): number {
    return this.internalRepr.size;
  }

  toJSON(): { [key: string]: MetadataValue[] } {
    const result: { [key: string]: MetadataValue[] } = {};
    for (const [key, values] of this.internalRepr) result[key] = values;
    return result;
  }

  /**
   * Appends the metadata to a header list. Reserved keys are skipped: a handler cannot set them,
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
   * Builds metadata from received headers, leaving out pseudo-headers and reserved fields
   * (except `grpc-status-details-bin` when `keepStatusDetails` is set, which passes through to
   * clients). Binary values are base64, padded or not; a value that is not legal is dropped
   * rather than failing the call.
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
      let values: MetadataValue[];
      if (isBinaryKey(key)) {
        // Several binary values may arrive in one field, comma-separated.
        values = raw.split(',').map((part) => Buffer.from(part.trim(), 'base64'));
      } else {
        if (!LEGAL_VALUE.test(raw)) continue;
        values = [raw];
      }
      const existing = repr.get(key);
      if (existing === undefined) repr.set(key, values);
      else existing.push(...values);
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
