/**
 * The host's reservations by address.
 *
 * Every reservation starts on a 64 KiB granule, so "which reservation holds this address" is, for the common small
 * reservation, one hash lookup of the address's granule: reservations of up to SMALL_GRANULES granules are entered
 * under each granule they cover in an open-addressing table keyed by granule number (typed arrays, linear probing,
 * backward-shift deletion: no tombstones, no rehash storms under churn — both of which made V8's Map, keyed by
 * address or by granule, dominate whole host calls at 10,000 to 1,000,000 live regions). Larger reservations are
 * few and live in a sorted index, searched in O(log n).
 */
import { SortedIndex, type Ranged } from './sorted-index';

const GRANULE = 0x10000;
/** Reservations spanning at most this many granules (1 MiB) go in the hash; larger ones in the sorted index. */
const SMALL_GRANULES = 16;

function granule(address: number): number {
  return Math.floor(address / GRANULE);
}

const EMPTY = -1;

/** Granule number → entry: open addressing with linear probing over typed arrays. */
class GranuleTable<T> {
  private keys = new Int32Array(1024).fill(EMPTY);
  private values: (T | undefined)[] = new Array<T | undefined>(1024);
  private mask = 1023;
  private shift = 22;
  private count = 0;

  get size(): number {
    return this.count;
  }

  private slot(key: number): number {
    return Math.imul(key, 0x9e3779b1) >>> this.shift;
  }

  get(key: number): T | undefined {
    const keys = this.keys;
    for (let i = this.slot(key); ; i = (i + 1) & this.mask) {
      const k = keys[i]!;
      if (k === key) return this.values[i];
      if (k === EMPTY) return undefined;
    }
  }

  set(key: number, value: T): void {
    if ((this.count + 1) * 2 > this.keys.length) this.grow();
    const keys = this.keys;
    for (let i = this.slot(key); ; i = (i + 1) & this.mask) {
      const k = keys[i]!;
      if (k === key || k === EMPTY) {
        if (k === EMPTY) this.count++;
        keys[i] = key;
        this.values[i] = value;
        return;
      }
    }
  }

  delete(key: number): void {
    const keys = this.keys;
    let i = this.slot(key);
    for (; ; i = (i + 1) & this.mask) {
      const k = keys[i]!;
      if (k === EMPTY) return;
      if (k === key) break;
    }
    this.count--;
    // Backward-shift deletion: pull later members of the probe run into the hole so lookups never stop early.
    let hole = i;
    for (let j = (i + 1) & this.mask; ; j = (j + 1) & this.mask) {
      const k = keys[j]!;
      if (k === EMPTY) break;
      const home = this.slot(k);
      // Move k into the hole when its home is not in (hole, j] (cyclically).
      const between = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!between) {
        keys[hole] = k;
        this.values[hole] = this.values[j];
        hole = j;
      }
    }
    keys[hole] = EMPTY;
    this.values[hole] = undefined;
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldValues = this.values;
    const capacity = oldKeys.length * 2;
    this.keys = new Int32Array(capacity).fill(EMPTY);
    this.values = new Array<T | undefined>(capacity);
    this.mask = capacity - 1;
    this.shift = 32 - Math.log2(capacity);
    this.count = 0;
    for (let i = 0; i < oldKeys.length; i++) if (oldKeys[i] !== EMPTY) this.set(oldKeys[i]!, oldValues[i]!);
  }

  /** Calls `fn` for every entry (no iterator objects: this runs over every live region). */
  forEach(fn: (key: number, value: T) => void): void {
    const keys = this.keys;
    for (let i = 0; i < keys.length; i++) if (keys[i] !== EMPTY) fn(keys[i]!, this.values[i]!);
  }

  *entries(): IterableIterator<[number, T]> {
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i] !== EMPTY) yield [this.keys[i]!, this.values[i]!];
  }

  *valuesIter(): IterableIterator<T> {
    for (const [, v] of this.entries()) yield v;
  }

  clear(): void {
    this.keys = new Int32Array(1024).fill(EMPTY);
    this.values = new Array<T | undefined>(1024);
    this.mask = 1023;
    this.shift = 22;
    this.count = 0;
  }
}

export class RegionMap<T extends Ranged> {
  private readonly small = new GranuleTable<T>();
  private readonly large = new SortedIndex<T>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  private isSmall(entry: Ranged): boolean {
    return granule(entry.base + entry.size - 1) - granule(entry.base) < SMALL_GRANULES;
  }

  /** The entry whose [base, base+size) holds address. */
  containing(address: number): T | undefined {
    const s = this.small.get(granule(address));
    if (s !== undefined && address >= s.base && address < s.base + s.size) return s;
    return this.large.size === 0 ? undefined : this.large.containing(address);
  }

  /** Any entry that overlaps [start, start+size). */
  overlapping(start: number, size: number): T | undefined {
    const first = granule(start);
    const last = granule(start + size - 1);
    const meets = (s: T | undefined): s is T => s !== undefined && s.base < start + size && start < s.base + s.size;
    if (last - first < this.small.size) {
      // Small entries can only be met in the granules the range covers.
      for (let g = first; g <= last; g++) {
        const s = this.small.get(g);
        if (meets(s)) return s;
      }
    } else {
      // A range wider than there are small entries: walking the entries is cheaper than walking the granules.
      for (const s of this.small.valuesIter()) if (meets(s)) return s;
    }
    return this.large.overlapping(start, size);
  }

  /** Insert an entry that overlaps no other. */
  insert(entry: T): void {
    this.count++;
    if (!this.isSmall(entry)) {
      this.large.insert(entry);
      return;
    }
    const last = granule(entry.base + entry.size - 1);
    for (let g = granule(entry.base); g <= last; g++) this.small.set(g, entry);
  }

  /** Remove `entry` (as inserted). */
  remove(entry: T): void {
    if (!this.isSmall(entry)) {
      if (this.large.remove(entry.base) !== undefined) this.count--;
      return;
    }
    const first = granule(entry.base);
    if (this.small.get(first) !== entry) return;
    const last = granule(entry.base + entry.size - 1);
    for (let g = first; g <= last; g++) this.small.delete(g);
    this.count--;
  }

  /** Every entry, in no particular order. */
  *[Symbol.iterator](): IterableIterator<T> {
    for (const [g, entry] of this.small.entries()) if (granule(entry.base) === g) yield entry;
    yield* this.large;
  }

  /** Every entry in address order: the bases sorted as a typed array, then each found again in O(1). */
  sorted(): T[] {
    const bases = new Float64Array(this.count);
    let n = 0;
    this.small.forEach((g, entry) => {
      if (granule(entry.base) === g) bases[n++] = entry.base;
    });
    for (const entry of this.large) bases[n++] = entry.base;
    bases.sort();
    const out = new Array<T>(n);
    for (let i = 0; i < n; i++) out[i] = this.containing(bases[i]!)!;
    return out;
  }

  clear(): void {
    this.small.clear();
    this.large.clear();
    this.count = 0;
  }
}
