/**
 * The HPACK static table (RFC 7541 Appendix A), taken from hpack.js so the 61 entries are not
 * transcribed a second time, and re-shaped for our hot paths: plain arrays for the decoder's
 * index → field lookups and a Map for the encoder's name → index lookups.
 */

interface HpackStaticEntry {
  name: string;
  value: string;
}

interface HpackStaticTableModule {
  table: HpackStaticEntry[];
}

// hpack.js ships no types; we read only its static table data (see the interface above), from
// its data file alone (the package's entry point also loads its stream codec, which we never run).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const hpackStaticTable = require('hpack.js/lib/hpack/static-table') as HpackStaticTableModule;

/** Number of static entries; dynamic table indices start right after (RFC 7541 §2.3.3). */
export const STATIC_TABLE_LENGTH = hpackStaticTable.table.length;

/** Static field names by HPACK index; slot 0 is unused because index 0 is invalid (RFC 7541 §6.1). */
export const staticTableNames: string[] = [''];
/** Static field values by HPACK index, parallel to staticTableNames. */
export const staticTableValues: string[] = [''];

/** What the encoder needs to know about a name that appears in the static table. */
export interface StaticNameEntry {
  /** The lowest index with this name, used as the name reference of a literal (RFC 7541 §6.2). */
  readonly nameIndex: number;
  /** Full (name, value) matches, so the field can be sent as a one-byte index (RFC 7541 §6.1). */
  readonly valueIndexes: ReadonlyMap<string, number>;
  /** Send literals of this name as never indexed (RFC 7541 §6.2.3) so intermediaries do not index credentials. */
  readonly neverIndexed: boolean;
}

/** Names for which a literal is sent "never indexed" (RFC 7541 §7.1.3). */
const SENSITIVE_NAMES: ReadonlySet<string> = new Set(['authorization']);

/**
 * A Map rather than hpack.js's plain-object `map`: a header named "constructor" or "__proto__"
 * would otherwise hit Object.prototype properties and crash or mis-encode.
 */
export const staticNameTable: ReadonlyMap<string, StaticNameEntry> = (() => {
  const table = new Map<string, { nameIndex: number; valueIndexes: Map<string, number>; neverIndexed: boolean }>();
  hpackStaticTable.table.forEach((entry, position) => {
    const index = position + 1;
    staticTableNames.push(entry.name);
    staticTableValues.push(entry.value);
    let nameEntry = table.get(entry.name);
    if (nameEntry === undefined) {
      nameEntry = { nameIndex: index, valueIndexes: new Map(), neverIndexed: SENSITIVE_NAMES.has(entry.name) };
      table.set(entry.name, nameEntry);
    }
    // Keep the first index when a (name, value) pair were ever listed twice.
    if (!nameEntry.valueIndexes.has(entry.value)) nameEntry.valueIndexes.set(entry.value, index);
  });
  return table;
})();
