/**
 * Non-overlapping ranges ordered by start address, with O(log n) "which range holds this address".
 *
 * A list of small sorted chunks (the layout of Python's sortedcontainers): a binary search over the chunks' first
 * keys, then one inside a chunk. Each chunk keeps its keys in a plain number array beside its entries, so a
 * search reads contiguous doubles and touches one entry object only at the end; inserting or removing moves at
 * most one chunk's worth of entries. A million live ranges cost little more than a thousand, and no tree nodes are
 * allocated. (Not a Map keyed by address: V8 hashes 64 KiB-aligned doubles so poorly that Map.set dominated whole
 * host calls at 10,000 live regions.)
 */
export interface Ranged {
  readonly base: number;
  readonly size: number;
}

/** Chunks split past twice this size; small chunks keep each splice short. */
const CHUNK = 64;

interface Chunk<T> {
  keys: number[];
  items: T[];
}

/** Position of the last key ≤ value in a sorted array, or -1. */
function floorOf(keys: readonly number[], value: number): number {
  let lo = 0;
  let hi = keys.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! <= value) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

export class SortedIndex<T extends Ranged> {
  private chunks: Chunk<T>[] = [];
  /** First key of each chunk. */
  private firsts: number[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** The entry with the greatest base ≤ address. */
  floor(address: number): T | undefined {
    const c = floorOf(this.firsts, address);
    if (c < 0) return undefined;
    const chunk = this.chunks[c]!;
    const i = floorOf(chunk.keys, address);
    return i < 0 ? undefined : chunk.items[i];
  }

  /** The entry whose [base, base+size) holds address. */
  containing(address: number): T | undefined {
    const e = this.floor(address);
    return e !== undefined && address < e.base + e.size ? e : undefined;
  }

  /** Any entry that overlaps [start, start+size). */
  overlapping(start: number, size: number): T | undefined {
    const e = this.floor(start + size - 1);
    return e !== undefined && e.base + e.size > start ? e : undefined;
  }

  /** Insert an entry that overlaps no other. */
  insert(entry: T): void {
    this.count++;
    const key = entry.base;
    if (this.chunks.length === 0) {
      this.chunks.push({ keys: [key], items: [entry] });
      this.firsts.push(key);
      return;
    }
    const c = Math.max(0, floorOf(this.firsts, key));
    const chunk = this.chunks[c]!;
    const i = floorOf(chunk.keys, key) + 1;
    chunk.keys.splice(i, 0, key);
    chunk.items.splice(i, 0, entry);
    if (i === 0) this.firsts[c] = key;
    if (chunk.keys.length > 2 * CHUNK) {
      const tail: Chunk<T> = { keys: chunk.keys.splice(CHUNK), items: chunk.items.splice(CHUNK) };
      this.chunks.splice(c + 1, 0, tail);
      this.firsts.splice(c + 1, 0, tail.keys[0]!);
    }
  }

  /** Remove the entry that starts at `base`; returns it. */
  remove(base: number): T | undefined {
    const c = floorOf(this.firsts, base);
    if (c < 0) return undefined;
    const chunk = this.chunks[c]!;
    const i = floorOf(chunk.keys, base);
    if (i < 0 || chunk.keys[i] !== base) return undefined;
    chunk.keys.splice(i, 1);
    const [removed] = chunk.items.splice(i, 1);
    this.count--;
    if (chunk.keys.length === 0) {
      this.chunks.splice(c, 1);
      this.firsts.splice(c, 1);
    } else if (i === 0) this.firsts[c] = chunk.keys[0]!;
    return removed;
  }

  /** Entries in address order, from the one holding `address` (or the first after it). */
  *from(address: number): IterableIterator<T> {
    let c = Math.max(0, floorOf(this.firsts, address));
    const first = this.chunks[c];
    if (first === undefined) return;
    let i = Math.max(0, floorOf(first.keys, address));
    const e = first.items[i];
    if (e !== undefined && e.base + e.size <= address) i++;
    for (; c < this.chunks.length; c++, i = 0) {
      const items = this.chunks[c]!.items;
      for (; i < items.length; i++) yield items[i]!;
    }
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (const chunk of this.chunks) yield* chunk.items;
  }

  clear(): void {
    this.chunks = [];
    this.firsts = [];
    this.count = 0;
  }
}
