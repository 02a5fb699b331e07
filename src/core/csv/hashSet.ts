/**
 * Compact sets for duplicate detection and distinct counting over files of millions of rows.
 *
 * Holding every key as a JavaScript string would cost 100+ bytes a row; a 1 GB export has about four million rows.
 * Instead each key is reduced to a 64-bit hash and kept in an open-addressing table of two `Uint32Array`s:
 * 8 bytes a slot, at most 85% full, so about 9–19 bytes a distinct key.
 *
 * Collision risk: two different keys share a hash with probability about n² / 2^65 for n keys (about 5 × 10^-7 at
 * ten million rows). A collision makes a row look like a duplicate (it is reported with its line, never dropped
 * unnoticed) or undercounts distinct principals by one. The hash is fixed (not seeded per run) so results are
 * reproducible.
 */

/** The two 32-bit halves of the last {@link hash64} call (module state, so that hashing allocates nothing). */
export const lastHash = { hi: 0, lo: 0 };

/**
 * A 64-bit hash of a string's UTF-16 code units, in {@link lastHash}: two 32-bit multiplicative lanes with a final
 * cross-mix (the cyrb53 construction, keeping all 64 bits). Not cryptographic; exports are not adversaries here.
 */
export function hash64(s: string): void {
  begin();
  feed(s);
  finish();
}

/** The two lanes of the hash being computed (module state, like {@link lastHash}). */
let lane1 = 0;
let lane2 = 0;

function begin(): void {
  lane1 = 0xdeadbeef;
  lane2 = 0x41c6ce57;
}

/** Mixes a string's code units into both lanes; hashing parts one after the other equals hashing them joined. */
function feed(s: string): void {
  let h1 = lane1;
  let h2 = lane2;
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  lane1 = h1;
  lane2 = h2;
}

/** The final cross-mix of both lanes into {@link lastHash}. */
function finish(): void {
  let h1 = lane1;
  let h2 = lane2;
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  lastHash.hi = h2 >>> 0;
  lastHash.lo = h1 >>> 0;
}

// Linear probing stays cheap up to about 85% full (about 3.8 probes for a hit, 22 for a miss with a good hash), and
// at a million rows every 10% of load is 1 MB.
const MAX_LOAD = 0.85;
const TWO_32 = 4294967296;

/** A set of 64-bit hashes (linear probing; slot `(0,0)` means empty, so the hash `(0,0)` is stored as `(0,1)`). */
export class Hash64Set {
  private hi: Uint32Array;
  private lo: Uint32Array;
  private count = 0;

  constructor(initialCapacity = 1024) {
    const capacity = Math.max(16, Math.ceil(initialCapacity));
    this.hi = new Uint32Array(capacity);
    this.lo = new Uint32Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** Slots allocated (for memory estimates): 8 bytes each. */
  get capacity(): number {
    return this.hi.length;
  }

  /** Hashes `key` and adds it; true when it was not in the set yet. */
  addString(key: string): boolean {
    hash64(key);
    return this.add(lastHash.hi, lastHash.lo);
  }

  /**
   * Adds the key `parts[indexes[0]] + "\u0000" + parts[indexes[1]] + …` (the same hash as {@link addString} of that
   * string) without building the string; true when it was not in the set yet.
   */
  addJoined(parts: readonly string[], indexes: readonly number[]): boolean {
    begin();
    for (let k = 0; k < indexes.length; k++) {
      if (k > 0) feed('\u0000');
      feed(parts[indexes[k]!]!);
    }
    finish();
    return this.add(lastHash.hi, lastHash.lo);
  }

  /** Adds a hash; true when it was not in the set yet. */
  add(hi: number, lo: number): boolean {
    if (hi === 0 && lo === 0) lo = 1;
    if ((this.count + 1) > this.hi.length * MAX_LOAD) this.resize(this.hi.length * 2);
    const added = insert(this.hi, this.lo, hi, lo);
    if (added) this.count++;
    return added;
  }

  /**
   * Makes room for `expected` keys in one step, so that a large file does not pay for repeated doubling (whose old
   * and new tables briefly coexist). Never shrinks.
   */
  reserve(expected: number): void {
    const wanted = Math.ceil(expected / MAX_LOAD);
    if (wanted > this.hi.length) this.resize(wanted);
  }

  private resize(capacity: number): void {
    const oldHi = this.hi;
    const oldLo = this.lo;
    this.hi = new Uint32Array(capacity);
    this.lo = new Uint32Array(capacity);
    for (let i = 0; i < oldHi.length; i++) {
      const h = oldHi[i]!;
      const l = oldLo[i]!;
      if (h !== 0 || l !== 0) insert(this.hi, this.lo, h, l);
    }
  }
}

function insert(his: Uint32Array, los: Uint32Array, hi: number, lo: number): boolean {
  const capacity = his.length;
  // Multiply-shift range reduction works for any capacity, not only powers of two (so reserve() can size exactly).
  let i = Math.min(capacity - 1, Math.floor((hi / TWO_32) * capacity));
  for (;;) {
    const h = his[i]!;
    const l = los[i]!;
    if (h === 0 && l === 0) {
      his[i] = hi;
      los[i] = lo;
      return true;
    }
    if (h === hi && l === lo) return false;
    i++;
    if (i === capacity) i = 0;
  }
}
