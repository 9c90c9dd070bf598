/**
 * HPACK (RFC 7541) header block decoding and encoding.
 *
 * The decoder keeps the full dynamic table the peer's encoder drives. The encoder inserts only the
 * fields of HeaderTemplates (constant response headers and OK trailers) into the peer's table;
 * everything else goes out as static-table references and literals without indexing, so
 * per-call fields never churn the table. Both sides work on Buffers with an offset
 * and no intermediate objects because they run once per request and per response.
 */
import { ConnectionError, ErrorCode, UserError } from '../errors';
import { huffmanDecode, huffmanEncodedLength, huffmanEncodeInto, type Latin1Buffer } from './huffman';
import { STATIC_TABLE_LENGTH, staticNameTable, staticTableNames, staticTableValues } from './static-table';

/** A header list as a flat array: [name0, value0, name1, value1, ...]. Strings are latin1 (one char per byte). */
export type HeaderList = string[];

export interface DecodedHeaderBlock {
  headers: HeaderList;
  /** true when the decoded list exceeded maxHeaderListSize; headers then holds only what fit */
  oversized: boolean;
}

/** Initial SETTINGS_HEADER_TABLE_SIZE (RFC 9113 §6.5.2). */
const DEFAULT_TABLE_SIZE = 4096;
/** Per-entry overhead in table and header list sizes (RFC 7541 §4.1, RFC 9113 §6.5.2). */
const ENTRY_OVERHEAD = 32;
/** Largest integer we accept (RFC 7541 §5.1 leaves the limit to the implementation). */
const MAX_INTEGER = 0x7fffffff;
/** The most of the peer's table our encoder uses: the template fields fit easily (the default size). */
const MAX_ENCODER_TABLE_SIZE = 4096;

function compressionError(message: string): ConnectionError {
  return new ConnectionError(ErrorCode.COMPRESSION_ERROR, message);
}

/**
 * The decoder's dynamic table (RFC 7541 §2.3.2, §4): a ring buffer of names and values, newest
 * entry at dynamic index 1. A ring rather than Array#shift keeps eviction O(1).
 */
class DynamicTable {
  private names: string[] = new Array<string>(16).fill('');
  private values: string[] = new Array<string>(16).fill('');
  private oldest = 0;
  /** Number of entries. */
  count = 0;
  /** Sum of entry sizes (RFC 7541 §4.1). */
  private size = 0;

  constructor(public capacity: number) {}

  name(dynamicIndex: number): string {
    return this.names[(this.oldest + this.count - dynamicIndex) & (this.names.length - 1)]!;
  }

  value(dynamicIndex: number): string {
    return this.values[(this.oldest + this.count - dynamicIndex) & (this.values.length - 1)]!;
  }

  add(name: string, value: string): void {
    const entrySize = name.length + value.length + ENTRY_OVERHEAD;
    // RFC 7541 §4.4: evict until the new entry fits; an entry larger than the whole table
    // empties it and is not added (not an error).
    this.evictDownTo(this.capacity - entrySize);
    if (entrySize > this.capacity) return;
    if (this.count === this.names.length) this.grow();
    const slot = (this.oldest + this.count) & (this.names.length - 1);
    this.names[slot] = name;
    this.values[slot] = value;
    this.count++;
    this.size += entrySize;
  }

  /** RFC 7541 §4.3: a smaller maximum evicts the oldest entries until the table fits. */
  setCapacity(capacity: number): void {
    this.capacity = capacity;
    this.evictDownTo(capacity);
  }

  private evictDownTo(targetSize: number): void {
    const mask = this.names.length - 1;
    while (this.count > 0 && this.size > targetSize) {
      const slot = this.oldest;
      this.size -= this.names[slot]!.length + this.values[slot]!.length + ENTRY_OVERHEAD;
      // Drop the references so evicted strings can be collected.
      this.names[slot] = '';
      this.values[slot] = '';
      this.oldest = (slot + 1) & mask;
      this.count--;
    }
  }

  private grow(): void {
    const length = this.names.length;
    const names = new Array<string>(length * 2).fill('');
    const values = new Array<string>(length * 2).fill('');
    for (let index = 0; index < this.count; index++) {
      names[index] = this.names[(this.oldest + index) & (length - 1)]!;
      values[index] = this.values[(this.oldest + index) & (length - 1)]!;
    }
    this.names = names;
    this.values = values;
    this.oldest = 0;
  }
}

const EMPTY_BUFFER = Buffer.alloc(0) as Latin1Buffer;

export class HeaderBlockDecoder {
  private maxTableSize: number;
  private readonly table: DynamicTable;
  /** Cursor over the block being decoded; fields rather than returned tuples to avoid allocations. */
  private block: Latin1Buffer = EMPTY_BUFFER;
  private position = 0;

  constructor(maxTableSize: number = DEFAULT_TABLE_SIZE) {
    this.maxTableSize = maxTableSize;
    // A table larger than the peer encoder's still resolves every index the encoder can emit
    // (indices count from the newest entry), so starting at our own limit is safe.
    this.table = new DynamicTable(maxTableSize);
  }

  /**
   * Our advertised table size changed (after the peer ACKed it). A smaller limit shrinks the
   * table at once. RFC 7541 §4.2 obliges the peer's encoder to open its next block with a size
   * update, but we do not insist on it: our table then holds the newest entries of the peer's, so
   * every index still means the same entry and a stale reference fails as out of range anyway.
   * A larger limit only allows the peer to grow the table with a size update (RFC 7541 §6.3).
   */
  setMaxTableSize(size: number): void {
    this.maxTableSize = size;
    if (size < this.table.capacity) this.table.setCapacity(size);
  }

  /**
   * Decode one complete header block (HEADERS+CONTINUATION already joined). Malformed input
   * throws ConnectionError(COMPRESSION_ERROR). Past maxHeaderListSize it keeps decoding so the
   * dynamic table stays in sync but stops collecting fields, so a small block that references
   * a big entry many times (an "HPACK bomb") cannot make us hold more than the limit.
   */
  decode(block: Buffer, maxHeaderListSize: number): DecodedHeaderBlock {
    this.block = block as Latin1Buffer;
    this.position = 0;
    const end = block.length;
    const headers: HeaderList = [];
    let listSize = 0;
    let oversized = false;
    let fieldSeen = false;
    while (this.position < end) {
      const first = block[this.position]!;
      let name: string;
      let value: string;
      if (first >= 0x80) {
        // RFC 7541 §6.1: indexed header field, 7-bit index.
        const index = this.readInteger(0x7f);
        if (index <= STATIC_TABLE_LENGTH) {
          if (index === 0) throw compressionError('indexed header field with index 0 (RFC 7541 §6.1)');
          name = staticTableNames[index]!;
          value = staticTableValues[index]!;
        } else {
          const dynamicIndex = this.checkedDynamicIndex(index);
          name = this.table.name(dynamicIndex);
          value = this.table.value(dynamicIndex);
        }
      } else if (first >= 0x40) {
        // RFC 7541 §6.2.1: literal with incremental indexing, 6-bit name index.
        name = this.readName(0x3f);
        value = this.readString(true);
        this.table.add(name, value);
      } else if (first >= 0x20) {
        // RFC 7541 §6.3: dynamic table size update, 5-bit size.
        if (fieldSeen) {
          throw compressionError('dynamic table size update after a header field (RFC 7541 §4.2)');
        }
        const size = this.readInteger(0x1f);
        if (size > this.maxTableSize) {
          throw compressionError(`dynamic table size update to ${size} exceeds the limit ${this.maxTableSize} (RFC 7541 §6.3)`);
        }
        this.table.setCapacity(size);
        continue;
      } else {
        // RFC 7541 §6.2.2 (0000xxxx, without indexing) and §6.2.3 (0001xxxx, never indexed):
        // same layout, 4-bit name index; neither touches the table. A never-indexed value is
        // typically a credential: keep it out of the process-wide literal cache too.
        name = this.readName(0x0f);
        value = this.readString(first < 0x10);
      }
      fieldSeen = true;
      if (!oversized) {
        // RFC 9113 §6.5.2: size of a field = name length + value length + 32.
        listSize += name.length + value.length + ENTRY_OVERHEAD;
        if (listSize > maxHeaderListSize) oversized = true;
        else headers.push(name, value);
      }
    }
    // Do not keep the caller's (possibly large) buffer alive until the next block.
    this.block = EMPTY_BUFFER;
    return { headers, oversized };
  }

  /** Maps an HPACK index past the static table to a dynamic index (1 = newest), RFC 7541 §2.3.3. */
  private checkedDynamicIndex(index: number): number {
    const dynamicIndex = index - STATIC_TABLE_LENGTH;
    if (dynamicIndex > this.table.count) {
      throw compressionError(`index ${index} is past the end of the dynamic table (RFC 7541 §2.3.3)`);
    }
    return dynamicIndex;
  }

  /** RFC 7541 §5.1: an integer with an N-bit prefix (prefixMask = 2^N - 1) at the cursor. */
  private readInteger(prefixMask: number): number {
    const block = this.block;
    let position = this.position;
    if (position >= block.length) throw compressionError('header block truncated inside an integer (RFC 7541 §5.1)');
    let value = block[position++]! & prefixMask;
    if (value < prefixMask) {
      this.position = position;
      return value;
    }
    let multiplier = 1;
    let byte: number;
    do {
      if (position >= block.length) throw compressionError('header block truncated inside an integer (RFC 7541 §5.1)');
      byte = block[position++]!;
      // Arithmetic rather than shifts: the running value may pass 2^31 before we reject it.
      value += (byte & 0x7f) * multiplier;
      multiplier *= 128;
      // Five continuation bytes carry 35 bits; more can only be overflow or zero padding.
      if (value > MAX_INTEGER || (multiplier >= 2 ** 35 && byte & 0x80)) {
        throw compressionError('integer larger than 2^31 - 1 (RFC 7541 §5.1)');
      }
    } while (byte & 0x80);
    this.position = position;
    return value;
  }

  /** The name of a literal field (RFC 7541 §6.2): an index, or 0 followed by a string literal. */
  private readName(prefixMask: number): string {
    const index = this.readInteger(prefixMask);
    if (index === 0) return this.readString(true);
    if (index <= STATIC_TABLE_LENGTH) return staticTableNames[index]!;
    return this.table.name(this.checkedDynamicIndex(index));
  }

  /** RFC 7541 §5.2: a string literal: Huffman flag, 7-bit prefixed length, then the octets. */
  private readString(cacheable: boolean): string {
    const block = this.block;
    // Read the flag before readInteger moves the cursor; a missing byte is caught by readInteger.
    const huffman = this.position < block.length && block[this.position]! >= 0x80;
    const length = this.readInteger(0x7f);
    const start = this.position;
    const end = start + length;
    if (end > block.length) throw compressionError('header block truncated inside a string literal (RFC 7541 §5.2)');
    this.position = end;
    if (length > LITERAL_CACHE_MAX_LENGTH || length === 0 || !cacheable) {
      return huffman ? huffmanDecode(block, start, end) : block.latin1Slice(start, end);
    }
    return cachedLiteral(block, start, length, huffman);
  }
}

/**
 * Recently decoded string literals, keyed by their encoded octets (and Huffman flag). Creating a
 * string costs ~50 ns whatever its length and Huffman decoding more, while header values repeat
 * from request to request (path, authority, content-type, user-agent, ...) whenever the peer's
 * encoder does not index them, as ours does not. Direct-mapped and fixed-size: bounded memory,
 * and a miss only costs the octet copy. Shared by all decoders; decoding is synchronous.
 */
const LITERAL_CACHE_SLOTS = 1024;
const LITERAL_CACHE_MAX_LENGTH = 64;
const literalCacheKeys = new Int32Array(LITERAL_CACHE_SLOTS);
const literalCacheOctets = new Uint8Array(LITERAL_CACHE_SLOTS * LITERAL_CACHE_MAX_LENGTH);
const literalCacheTexts: string[] = new Array<string>(LITERAL_CACHE_SLOTS).fill('');

function cachedLiteral(block: Latin1Buffer, start: number, length: number, huffman: boolean): string {
  const end = start + length;
  const key = (length << 1) | (huffman ? 1 : 0);
  // A cheap hash of a few octets; a collision only costs a miss.
  const slot = (key * 31 + block[start]! * 7 + block[start + (length >> 1)]! * 17 + block[end - 1]! * 131) & (LITERAL_CACHE_SLOTS - 1);
  const base = slot * LITERAL_CACHE_MAX_LENGTH;
  if (literalCacheKeys[slot] === key) {
    let index = 0;
    while (index < length && literalCacheOctets[base + index] === block[start + index]) index++;
    if (index === length) return literalCacheTexts[slot]!;
  }
  const text = huffman ? huffmanDecode(block, start, end) : block.latin1Slice(start, end);
  literalCacheKeys[slot] = key;
  for (let index = 0; index < length; index++) literalCacheOctets[base + index] = block[start + index]!;
  literalCacheTexts[slot] = text;
  return text;
}

/** Strings up to this length are copied with a JS loop; longer ones with one native call. */
const SHORT_STRING = 32;

/** RFC 7541 §5.1: writes `value` with an N-bit prefix after the `flags` bits of the first byte. */
function writeInteger(out: Buffer, offset: number, flags: number, prefixMask: number, value: number): number {
  if (value < prefixMask) {
    out[offset++] = flags | value;
    return offset;
  }
  out[offset++] = flags | prefixMask;
  value -= prefixMask;
  while (value >= 0x80) {
    out[offset++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 128);
  }
  out[offset++] = value;
  return offset;
}

/**
 * RFC 7541 §5.2: a string literal. With `huffman`, Huffman-coded when that is strictly shorter.
 * Per-block encoding passes false: Huffman coding made encode() ~2x slower (about 1 µs against
 * 0.5 µs for a typical gRPC request) to save ~25% of the header octets (126 against 164).
 * Blocks that are encoded once and reused (encodeStaticHeaderBlock) take the smaller form.
 */
function writeString(out: Buffer, offset: number, text: string, huffman: boolean): number {
  const length = text.length;
  if (huffman) {
    const huffmanLength = huffmanEncodedLength(text);
    if (huffmanLength < length) {
      offset = writeInteger(out, offset, 0x80, 0x7f, huffmanLength);
      return huffmanEncodeInto(text, out, offset);
    }
  }
  offset = writeInteger(out, offset, 0x00, 0x7f, length);
  if (length <= SHORT_STRING) {
    for (let index = 0; index < length; index++) out[offset + index] = text.charCodeAt(index);
  } else {
    (out as Latin1Buffer).latin1Write(text, offset, length);
  }
  return offset + length;
}

/** One field, never touching the dynamic table (RFC 7541 §6.1, §6.2.2, §6.2.3). */
function writeField(out: Buffer, offset: number, name: string, value: string, huffman: boolean): number {
  const staticEntry = staticNameTable.get(name);
  if (staticEntry === undefined) {
    // RFC 7541 §6.2.2: literal without indexing, new name (index 0).
    out[offset++] = 0x00;
    offset = writeString(out, offset, name, huffman);
    return writeString(out, offset, value, huffman);
  }
  const fullIndex = staticEntry.valueIndexes.get(value);
  // RFC 7541 §6.1: the exact pair is in the static table, one index says it all.
  if (fullIndex !== undefined) return writeInteger(out, offset, 0x80, 0x7f, fullIndex);
  // RFC 7541 §6.2.3 (never indexed, 0001) for credentials, else §6.2.2 (0000); 4-bit name index.
  offset = writeInteger(out, offset, staticEntry.neverIndexed ? 0x10 : 0x00, 0x0f, staticEntry.nameIndex);
  return writeString(out, offset, value, huffman);
}

/** Upper bound of the encoded size: raw strings plus worst-case integer prefixes and size updates. */
function encodedSizeBound(headers: HeaderList): number {
  // Per field: the type/index byte(s) (≤ 2 for a static index, 1 for a new name) and two
  // string length prefixes (≤ 6 bytes each); Huffman is only used when shorter than raw.
  let bound = 2 * 6;
  for (let index = 0; index < headers.length; index++) bound += headers[index]!.length + 7;
  return bound;
}

/** Shared staging area for encode(); encoding is synchronous so one per process suffices. */
let encodeScratch = Buffer.allocUnsafe(16 * 1024);

function encodeScratchOf(size: number): Buffer {
  if (encodeScratch.length < size) encodeScratch = Buffer.allocUnsafe(Math.max(size, encodeScratch.length * 2));
  return encodeScratch;
}

function writeFields(headers: HeaderList, out: Buffer, offset: number, huffman: boolean): number {
  for (let index = 0; index + 1 < headers.length; index += 2) {
    offset = writeField(out, offset, headers[index]!, headers[index + 1]!, huffman);
  }
  return offset;
}

/** A header list's size as SETTINGS_MAX_HEADER_LIST_SIZE counts it: name + value + 32 per field (RFC 9113 §6.5.2). */
export function headerListSize(headers: HeaderList): number {
  // Checked here, where every outgoing list is measured before it is queued: a bad entry found later
  // by the encoder would fail the whole connection instead of the one call (plain-JS callers).
  if (!Array.isArray(headers) || (headers.length & 1) !== 0) throw new UserError('a header list is a flat array of strings: [name, value, name, value, ...]');
  let size = 0;
  for (let index = 0; index < headers.length; index += 2) {
    const name = headers[index];
    const value = headers[index + 1];
    if (typeof name !== 'string' || typeof value !== 'string') {
      throw new UserError(`header list entry ${index / 2} is not a pair of strings (${typeof name}, ${typeof value})`);
    }
    size += name.length + value.length + ENTRY_OVERHEAD;
  }
  return size;
}

/**
 * A constant header list prepared once for sending on many streams (prepareHeaders()): each
 * connection sends it through its HPACK dynamic table, so after the first time each field costs
 * one byte.
 */
export interface PreparedHeaders {
  /** The header list, flat: [name, value, name, value, ...]. */
  readonly fields: HeaderList;
}

/** Prepares a constant header list (response headers, OK trailers) for sendHeaders()/end(). */
export function prepareHeaders(fields: HeaderList): PreparedHeaders {
  return new HeaderTemplate(fields);
}

/**
 * The encoder's form of PreparedHeaders (not part of the public API: use prepareHeaders()): a
 * constant header list a connection's encoder sends with the dynamic table, the first time each
 * field as a literal with incremental indexing, after that as a one-byte index (RFC 7541 §6.1,
 * §6.2.1). `staticBlock` is the same list encoded without any table state, valid on every connection.
 */
export class HeaderTemplate implements PreparedHeaders {
  readonly staticBlock: Buffer;
  /** Per field: its full static-table index, or 0. */
  readonly staticIndexes: number[] = [];
  /** Per field: its static-table name index, or 0. */
  readonly nameIndexes: number[] = [];
  /** Per field: the key identifying the entry in an encoder's dynamic table. */
  readonly keys: string[] = [];
  /** Per field: its dynamic-table size, name + value + 32 octets (RFC 7541 §4.1). */
  readonly entrySizes: number[] = [];
  /** The whole list's size as SETTINGS_MAX_HEADER_LIST_SIZE counts it (RFC 9113 §6.5.2). */
  readonly listSize: number;

  constructor(readonly fields: HeaderList) {
    this.staticBlock = encodeStaticHeaderBlock(fields);
    for (let index = 0; index + 1 < fields.length; index += 2) {
      const name = fields[index]!;
      const value = fields[index + 1]!;
      const entry = staticNameTable.get(name);
      this.staticIndexes.push(entry?.valueIndexes.get(value) ?? 0);
      this.nameIndexes.push(entry === undefined || entry.neverIndexed ? 0 : entry.nameIndex);
      this.keys.push(`${name}\n${value}`);
      this.entrySizes.push(name.length + value.length + 32);
    }
    this.listSize = headerListSize(fields);
  }
}

export class HeaderBlockEncoder {
  /** Smallest and latest capped peer sizes since the last block, -1 when none is pending. */
  private pendingMinimumSize = -1;
  private pendingFinalSize = -1;
  /** Template fields we inserted into the peer's dynamic table, by key: their insertion ordinal. */
  private readonly inserted = new Map<string, number>();
  private insertedCount = 0;
  private insertedSize = 0;
  /** The dynamic table size the peer's decoder works with (RFC 7541 §4.2), capped at 4096. */
  private tableSize = MAX_ENCODER_TABLE_SIZE;
  /**
   * Encoded templates that no longer change: every field was static or already in the table when
   * they were encoded. Valid until the table changes (an insert or a size update clears it).
   */
  private readonly settledTemplates = new Map<HeaderTemplate, Buffer>();

  /** Peer's SETTINGS_HEADER_TABLE_SIZE changed: the next block must begin with a dynamic table size update (RFC 7541 §4.2, §6.3). */
  setPeerMaxTableSize(size: number): void {
    const capped = Math.min(size, MAX_ENCODER_TABLE_SIZE);
    // With entries of ours in the peer's table, go through 0 first: it empties the table on both
    // sides, so no index can refer to an entry the new size evicted.
    const minimum = this.insertedCount > 0 ? 0 : capped;
    this.pendingMinimumSize = this.pendingMinimumSize === -1 ? minimum : Math.min(this.pendingMinimumSize, minimum);
    this.pendingFinalSize = capped;
  }

  /**
   * Encodes a template: fields already in the peer's table as one-byte indexes, others inserted
   * while the table has room for them (they are never evicted: we insert nothing else), the rest
   * as in the static block. Starts with any pending table size update.
   */
  encodeTemplate(template: HeaderTemplate): Buffer {
    const pendingUpdate = this.pendingFinalSize !== -1;
    if (!pendingUpdate) {
      const settled = this.settledTemplates.get(template);
      if (settled !== undefined) return settled;
    }
    const out = encodeScratchOf(template.staticBlock.length * 2 + 32);
    let offset = 0;
    if (pendingUpdate) offset = this.writeTableSizeUpdates(out, offset);
    const insertedBefore = this.insertedCount;
    const fields = template.fields;
    for (let field = 0; field < template.keys.length; field++) {
      const staticIndex = template.staticIndexes[field]!;
      if (staticIndex !== 0) {
        offset = writeInteger(out, offset, 0x80, 0x7f, staticIndex);
        continue;
      }
      const key = template.keys[field]!;
      const ordinal = this.inserted.get(key);
      if (ordinal !== undefined) {
        // Dynamic entries are numbered from 62, newest first (RFC 7541 §2.3.3).
        offset = writeInteger(out, offset, 0x80, 0x7f, STATIC_TABLE_LENGTH + this.insertedCount - ordinal);
        continue;
      }
      const name = fields[field * 2]!;
      const value = fields[field * 2 + 1]!;
      const size = template.entrySizes[field]!;
      if (this.insertedSize + size <= this.tableSize && !staticNameTable.get(name)?.neverIndexed) {
        // RFC 7541 §6.2.1: literal with incremental indexing (01), 6-bit name index.
        const nameIndex = template.nameIndexes[field]!;
        offset = writeInteger(out, offset, 0x40, 0x3f, nameIndex);
        if (nameIndex === 0) offset = writeString(out, offset, name, true);
        offset = writeString(out, offset, value, true);
        this.inserted.set(key, this.insertedCount++);
        this.insertedSize += size;
        continue;
      }
      offset = writeField(out, offset, name, value, true);
    }
    const block = Buffer.allocUnsafe(offset);
    out.copy(block, 0, 0, offset);
    if (this.insertedCount !== insertedBefore) this.settledTemplates.clear();
    else if (!pendingUpdate) this.settledTemplates.set(template, block);
    return block;
  }

  /** Encode a header list into a new Buffer. */
  encode(headers: HeaderList): Buffer {
    const scratch = encodeScratchOf(encodedSizeBound(headers));
    const end = this.writeBlock(headers, scratch, 0);
    const block = Buffer.allocUnsafe(end);
    scratch.copy(block, 0, 0, end);
    return block;
  }

  /** Encode appending to `out` at `offset` if it fits; returns the new offset, or -1 if it would not fit (caller then uses encode()). */
  encodeInto(headers: HeaderList, out: Buffer, offset: number): number {
    const bound = encodedSizeBound(headers);
    if (offset + bound <= out.length) return this.writeBlock(headers, out, offset);
    // The bound assumes the longest integer prefixes, so the exact size may still fit.
    const pendingMinimumSize = this.pendingMinimumSize;
    const pendingFinalSize = this.pendingFinalSize;
    const scratch = encodeScratchOf(bound);
    const end = this.writeBlock(headers, scratch, 0);
    if (offset + end <= out.length) {
      scratch.copy(out, offset, 0, end);
      return offset + end;
    }
    // Nothing was sent: the size update is still owed to the block the caller encodes next.
    this.pendingMinimumSize = pendingMinimumSize;
    this.pendingFinalSize = pendingFinalSize;
    return -1;
  }

  private writeBlock(headers: HeaderList, out: Buffer, offset: number): number {
    if (this.pendingFinalSize !== -1) offset = this.writeTableSizeUpdates(out, offset);
    return writeFields(headers, out, offset, false);
  }

  /**
   * RFC 7541 §4.2: at the start of the block, signal the smallest size seen since the last block
   * when it is below the final one, then the final size. Sent even when the capped value looks
   * unchanged: decoders differ in what they take as their current size after a SETTINGS change
   * (nghttp2 keeps the old one, Go's hpack adopts the setting), and an update is always legal.
   */
  private writeTableSizeUpdates(out: Buffer, offset: number): number {
    const minimum = this.pendingMinimumSize;
    const final = this.pendingFinalSize;
    if (minimum < final) offset = writeInteger(out, offset, 0x20, 0x1f, minimum);
    offset = writeInteger(out, offset, 0x20, 0x1f, final);
    this.pendingMinimumSize = -1;
    this.pendingFinalSize = -1;
    this.settledTemplates.clear();
    if (minimum === 0 || final < this.insertedSize) {
      // The peer's table was emptied (or shrank below our entries): start over.
      this.inserted.clear();
      this.insertedCount = 0;
      this.insertedSize = 0;
    }
    this.tableSize = final;
    return offset;
  }
}

/**
 * Encodes a header list into bytes that depend on no dynamic-table state (static references and
 * literals without indexing only) and carry no table size update, so they can be cached and
 * reused on any connection.
 */
export function encodeStaticHeaderBlock(headers: HeaderList): Buffer {
  const block = Buffer.allocUnsafe(encodedSizeBound(headers));
  const end = writeFields(headers, block, 0, true);
  return Buffer.from(block.subarray(0, end));
}
