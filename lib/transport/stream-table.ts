/**
 * A map from stream id (a positive 31-bit integer) to a value, for the per-connection stream
 * tables of the read and the write path. A Map churns: every stream is one set() and one
 * delete(), and its hash table is reallocated as deleted entries pile up (~110 bytes per stream
 * measured, and those tables live long enough to be promoted to old space). This one is open
 * addressing with linear probing and backward-shift deletion: no tombstones, so once it has grown
 * to the connection's concurrency it allocates nothing.
 *
 * Stream ids of one side go up by 2, so `id >>> 1` is the hash: consecutive streams take
 * consecutive slots. Iteration (forEach, toArray) is in slot order, which is id order until the
 * ids wrap around the table.
 */
export class StreamTable<T> {
  /** 0: an empty slot (stream 0 is the connection, never a key). */
  private keys: Int32Array;
  private slots: (T | undefined)[];
  private mask: number;
  private count = 0;

  constructor(initialCapacity = 16) {
    let capacity = 16;
    while (capacity < initialCapacity) capacity *= 2;
    this.keys = new Int32Array(capacity);
    this.slots = new Array<T | undefined>(capacity).fill(undefined);
    this.mask = capacity - 1;
  }

  get size(): number {
    return this.count;
  }

  get(id: number): T | undefined {
    const keys = this.keys;
    for (let slot = (id >>> 1) & this.mask; ; slot = (slot + 1) & this.mask) {
      const key = keys[slot];
      if (key === id) return this.slots[slot];
      if (key === 0) return undefined;
    }
  }

  has(id: number): boolean {
    return this.get(id) !== undefined;
  }

  /** Adds or replaces the value of `id` (a positive integer; values must not be undefined). */
  set(id: number, value: T): void {
    // At most half full, so probes stay short and there is always an empty slot to stop at.
    if ((this.count + 1) * 2 > this.keys.length) this.grow();
    const keys = this.keys;
    for (let slot = (id >>> 1) & this.mask; ; slot = (slot + 1) & this.mask) {
      const key = keys[slot];
      if (key === id) {
        this.slots[slot] = value;
        return;
      }
      if (key === 0) {
        keys[slot] = id;
        this.slots[slot] = value;
        this.count++;
        return;
      }
    }
  }

  /** Removes `id`; returns whether it was there. */
  delete(id: number): boolean {
    const keys = this.keys;
    const mask = this.mask;
    let slot = (id >>> 1) & mask;
    for (; ; slot = (slot + 1) & mask) {
      const key = keys[slot];
      if (key === id) break;
      if (key === 0) return false;
    }
    this.count--;
    // Backward shift: pull later entries of the probe run into the hole when the hole lies
    // between their home slot and where they are, so every lookup still finds them.
    let hole = slot;
    for (let next = (hole + 1) & mask; keys[next] !== 0; next = (next + 1) & mask) {
      const home = (keys[next] >>> 1) & mask;
      if (((next - home) & mask) >= ((next - hole) & mask)) {
        keys[hole] = keys[next];
        this.slots[hole] = this.slots[next];
        hole = next;
      }
    }
    keys[hole] = 0;
    this.slots[hole] = undefined;
    return true;
  }

  /** Calls `fn` for each value; `fn` must not add or remove entries (use toArray() for that). */
  forEach(fn: (value: T) => void): void {
    const keys = this.keys;
    for (let slot = 0; slot < keys.length; slot++) if (keys[slot] !== 0) fn(this.slots[slot] as T);
  }

  /** The values, as an array of their own (safe to change the table while walking it). */
  toArray(): T[] {
    const values: T[] = [];
    this.forEach((value) => values.push(value));
    return values;
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldSlots = this.slots;
    const capacity = oldKeys.length * 2;
    this.keys = new Int32Array(capacity);
    this.slots = new Array<T | undefined>(capacity).fill(undefined);
    this.mask = capacity - 1;
    this.count = 0;
    for (let slot = 0; slot < oldKeys.length; slot++) if (oldKeys[slot] !== 0) this.set(oldKeys[slot], oldSlots[slot] as T);
  }
}
