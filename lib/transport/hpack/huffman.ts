/**
 * The HPACK Huffman code (RFC 7541 §5.2, Appendix B).
 *
 * The code itself comes from hpack.js's table of [bit length, code] per symbol (0..255 plus
 * EOS = 256). From it we build, once at module load:
 *  - for the encoder, flat arrays of code and length per byte;
 *  - for the decoder, a byte-driven state machine: every state is an internal node of the code
 *    tree and one table lookup consumes a whole input byte (256 states x 256 bytes, 256 KiB).
 */
import { ConnectionError, ErrorCode } from '../errors';

/** [bit length, code] for each symbol 0..256, as in RFC 7541 Appendix B. */
type HuffmanCodeTable = ReadonlyArray<readonly [number, number]>;

const hpackCodes = (require('hpack.js') as { huffman: { encode: HuffmanCodeTable } }).huffman.encode;

const END_OF_STRING = 256;
const SYMBOL_COUNT = 257;

/** Encoder side: code bits (right-aligned) and bit length per byte value. */
const codeByByte = new Uint32Array(256);
const lengthByByte = new Uint8Array(256);
for (let symbol = 0; symbol < 256; symbol++) {
  const [length, code] = hpackCodes[symbol]!;
  codeByByte[symbol] = code;
  lengthByByte[symbol] = length;
}

// Decoder state machine. States are internal nodes of the code tree (root = 0). It is built in
// two steps: a 4-bit table (one nibble completes at most one symbol, since no code is shorter
// than 5 bits), then the 8-bit table actually used, each entry being two 4-bit steps composed.
// One lookup per input byte was ~1.5x faster than two per byte in our measurements.
//
// 4-bit entry (Uint32): bits 0..7 next state, bit 8 "emits", bits 16..23 symbol, bit 9 invalid.
// 8-bit entry (Uint32): bits 0..7 next state, 8..15 first symbol, 16..23 second symbol,
// 24..25 number of symbols emitted (0..2), bit 26 invalid (so "entry >= INVALID" tests it).
const NIBBLE_EMITS = 0x100;
const NIBBLE_INVALID = 0x200;
const STATE_MASK = 0xff;
const COUNT_SHIFT = 24;
const INVALID = 1 << 26;

/** byteTransitions[(state << 8) | byte] */
const byteTransitions = new Uint32Array(256 * 256);
/** States in which the input may end: only padding, i.e. at most 7 bits all ones, since the last symbol (RFC 7541 §5.2). */
const acceptingStates = new Uint8Array(256);

(function buildDecoderStateMachine(): void {
  // Code tree: children[node * 2 + bit] is an internal node id (>= 0), a leaf -(symbol + 1), or
  // absent (undefined) for a bit string that is no code prefix.
  const children: number[] = [];
  let nodeCount = 1;
  for (let symbol = 0; symbol < SYMBOL_COUNT; symbol++) {
    const [length, code] = hpackCodes[symbol]!;
    let node = 0;
    for (let bitPosition = length - 1; bitPosition >= 0; bitPosition--) {
      // Division rather than >>> because EOS is 30 bits and we want no sign surprises.
      const bit = Math.floor(code / 2 ** bitPosition) % 2;
      const slot = node * 2 + bit;
      if (bitPosition === 0) {
        children[slot] = -(symbol + 1);
      } else {
        if (children[slot] === undefined) children[slot] = nodeCount++;
        node = children[slot]!;
      }
    }
  }
  if (nodeCount > 256) throw new Error('HPACK Huffman tree does not fit 8-bit decoder states');

  // The all-ones path of length 0..7 from the root is the only legal padding (RFC 7541 §5.2).
  let paddingNode = 0;
  acceptingStates[0] = 1;
  for (let depth = 1; depth <= 7; depth++) {
    paddingNode = children[paddingNode * 2 + 1]!;
    acceptingStates[paddingNode] = 1;
  }

  const nibbleTransitions = new Uint32Array(256 * 16);
  for (let state = 0; state < nodeCount; state++) {
    for (let nibble = 0; nibble < 16; nibble++) {
      let node = state;
      let entry = 0;
      for (let bitPosition = 3; bitPosition >= 0; bitPosition--) {
        const child = children[node * 2 + ((nibble >> bitPosition) & 1)];
        if (child === undefined || child === -(END_OF_STRING + 1)) {
          // RFC 7541 §5.2: a string containing EOS must be treated as a decoding error.
          entry = NIBBLE_INVALID;
          break;
        }
        if (child < 0) {
          entry = NIBBLE_EMITS | ((-child - 1) << 16);
          node = 0;
        } else {
          node = child;
        }
      }
      nibbleTransitions[(state << 4) | nibble] = entry === NIBBLE_INVALID ? NIBBLE_INVALID : entry | node;
    }
  }

  for (let state = 0; state < nodeCount; state++) {
    for (let byte = 0; byte < 256; byte++) {
      const high = nibbleTransitions[(state << 4) | (byte >> 4)]!;
      const low = high & NIBBLE_INVALID ? NIBBLE_INVALID : nibbleTransitions[((high & STATE_MASK) << 4) | (byte & 0x0f)]!;
      if (low & NIBBLE_INVALID) {
        byteTransitions[(state << 8) | byte] = INVALID;
        continue;
      }
      let entry = low & STATE_MASK;
      let count = 0;
      if (high & NIBBLE_EMITS) entry |= ((high >> 16) & 0xff) << (8 + 8 * count++);
      if (low & NIBBLE_EMITS) entry |= ((low >> 16) & 0xff) << (8 + 8 * count++);
      byteTransitions[(state << 8) | byte] = entry | (count << COUNT_SHIFT);
    }
  }
})();

/**
 * Node's Buffer has undocumented latin1Slice/latin1Write methods (what toString/write call after
 * argument checks); calling them directly skips that per-string overhead on the hot path.
 */
export interface Latin1Buffer extends Buffer {
  latin1Slice(start: number, end: number): string;
  latin1Write(text: string, offset: number, length: number): number;
}

/** Decoded bytes are staged here, then turned into one latin1 string. Grows on demand. */
let scratch = Buffer.allocUnsafe(4096) as Latin1Buffer;

function compressionError(message: string): ConnectionError {
  return new ConnectionError(ErrorCode.COMPRESSION_ERROR, message);
}

/** Decodes source[start, end) as a Huffman string literal into a latin1 string; throws COMPRESSION_ERROR when invalid. */
export function huffmanDecode(source: Buffer, start: number, end: number): string {
  // A byte yields at most two symbols, so twice the input length is an upper bound.
  if (scratch.length < (end - start) * 2) scratch = Buffer.allocUnsafe((end - start) * 2) as Latin1Buffer;
  const output = scratch;
  let outputLength = 0;
  let state = 0;
  for (let position = start; position < end; position++) {
    const entry = byteTransitions[(state << 8) | source[position]!]!;
    if (entry >= INVALID) throw compressionError('Huffman string contains EOS or an invalid code (RFC 7541 §5.2)');
    const count = entry >>> COUNT_SHIFT;
    if (count !== 0) {
      output[outputLength++] = entry >>> 8;
      if (count === 2) output[outputLength++] = entry >>> 16;
    }
    state = entry & STATE_MASK;
  }
  if (acceptingStates[state] === 0) {
    throw compressionError('Huffman string padding is longer than 7 bits or not all ones (RFC 7541 §5.2)');
  }
  return output.latin1Slice(0, outputLength);
}

/** Length in bytes of the Huffman encoding of a latin1 string (RFC 7541 §5.2: padded to a whole octet). */
export function huffmanEncodedLength(text: string): number {
  let bits = 0;
  for (let index = 0; index < text.length; index++) bits += lengthByByte[text.charCodeAt(index) & 0xff]!;
  return (bits + 7) >> 3;
}

/** Writes the Huffman encoding of a latin1 string at `offset`; returns the offset after it. The caller sized `out`. */
export function huffmanEncodeInto(text: string, out: Buffer, offset: number): number {
  // `pending` holds fewer than 8 not-yet-written bits between symbols; adding a code of up to 24
  // bits keeps it within 31 bits so plain int32 shifts stay exact. Longer codes (25..30 bits,
  // rare bytes) are added in two steps.
  let pending = 0;
  let pendingBits = 0;
  for (let index = 0; index < text.length; index++) {
    const byte = text.charCodeAt(index) & 0xff;
    let code = codeByByte[byte]!;
    let length = lengthByByte[byte]!;
    if (length > 24) {
      const highLength = length - 16;
      pending = (pending << highLength) | (code >>> 16);
      pendingBits += highLength;
      while (pendingBits >= 8) {
        pendingBits -= 8;
        out[offset++] = pending >>> pendingBits;
      }
      pending &= (1 << pendingBits) - 1;
      code &= 0xffff;
      length = 16;
    }
    pending = (pending << length) | code;
    pendingBits += length;
    while (pendingBits >= 8) {
      pendingBits -= 8;
      out[offset++] = pending >>> pendingBits;
    }
    pending &= (1 << pendingBits) - 1;
  }
  // RFC 7541 §5.2: pad with the most significant bits of EOS, i.e. ones.
  if (pendingBits > 0) out[offset++] = (pending << (8 - pendingBits)) | (0xff >> pendingBits);
  return offset;
}
