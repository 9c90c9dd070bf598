/**
 * The HPACK Huffman code (RFC 7541 §5.2, Appendix B).
 *
 * The code itself comes from hpack.js's table of [bit length, code] per symbol (0..255 plus
 * EOS = 256). From it we build, once at module load:
 *  - for the encoder, flat arrays of code and length per byte;
 *  - for the decoder, a nibble-driven state machine (the approach of nghttp2): every state is an
 *    internal node of the code tree, and one table lookup consumes 4 input bits. No code is
 *    shorter than 5 bits, so a nibble completes at most one symbol, which keeps each entry small.
 *    A byte-driven table (256 x 256 entries) measured ~2 ns/byte faster, but costs 256 KiB of
 *    CPU cache and ~5 ms at module load; repeated strings skip Huffman decoding altogether via
 *    header-block.ts's literal cache, so the compact table won.
 */
import { ConnectionError, ErrorCode } from '../errors';

/** [bit length, code] for each symbol 0..256, as in RFC 7541 Appendix B. */
type HuffmanCodeTable = ReadonlyArray<readonly [number, number]>;

// hpack.js ships no types and no ES module: required as CommonJS, read as data only. Its data
// file alone: the package's entry point also loads its stream codec (readable-stream and more):
// code we never run (0.5-1 MB resident in the Echo server, 6.5 MB in a bare process).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const hpackCodes = (require('hpack.js/lib/hpack/huffman') as { encode: HuffmanCodeTable }).encode;

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

// Decoder state-machine entry layout (Uint32): bits 0..7 next state, bit 8 "emits a symbol",
// bit 9 "invalid", bits 16..23 the emitted symbol.
const NEXT_STATE_MASK = 0xff;
const EMITS_SYMBOL = 0x100;
const INVALID = 0x200;
const SYMBOL_SHIFT = 16;

/** transitions[(state << 4) | nibble] */
const transitions = new Uint32Array(256 * 16);
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

  for (let state = 0; state < nodeCount; state++) {
    for (let nibble = 0; nibble < 16; nibble++) {
      let node = state;
      let entry = 0;
      for (let bitPosition = 3; bitPosition >= 0; bitPosition--) {
        const child = children[node * 2 + ((nibble >> bitPosition) & 1)];
        if (child === undefined || child === -(END_OF_STRING + 1)) {
          // RFC 7541 §5.2: a string containing EOS must be treated as a decoding error.
          entry = INVALID;
          break;
        }
        if (child < 0) {
          entry = EMITS_SYMBOL | ((-child - 1) << SYMBOL_SHIFT);
          node = 0;
        } else {
          node = child;
        }
      }
      transitions[(state << 4) | nibble] = entry === INVALID ? INVALID : entry | node;
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
  // Each nibble yields at most one symbol, so 2 output bytes per input byte is an upper bound.
  if (scratch.length < (end - start) * 2) scratch = Buffer.allocUnsafe((end - start) * 2) as Latin1Buffer;
  const output = scratch;
  let outputLength = 0;
  let state = 0;
  for (let position = start; position < end; position++) {
    const byte = source[position]!;
    let entry = transitions[(state << 4) | (byte >> 4)]!;
    if (entry & INVALID) throw compressionError('Huffman string contains EOS or an invalid code (RFC 7541 §5.2)');
    if (entry & EMITS_SYMBOL) output[outputLength++] = entry >> SYMBOL_SHIFT;
    state = entry & NEXT_STATE_MASK;
    entry = transitions[(state << 4) | (byte & 0x0f)]!;
    if (entry & INVALID) throw compressionError('Huffman string contains EOS or an invalid code (RFC 7541 §5.2)');
    if (entry & EMITS_SYMBOL) output[outputLength++] = entry >> SYMBOL_SHIFT;
    state = entry & NEXT_STATE_MASK;
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
