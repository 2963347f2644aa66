/**
 * Non-overlapping ranges ordered by start address, with O(log n) "which range holds this address".
 *
 * A list of sorted chunks (the layout of Python's sortedcontainers): a binary search over the chunks' first keys,
 * then one inside a chunk. Inserting or removing moves at most one chunk's worth of entries, so a million live
 * ranges cost about what a thousand do, and there is no per-node allocation as in a tree.
 */
export interface Ranged {
  readonly base: number;
  readonly size: number;
}

const CHUNK = 512;

export class SortedIndex<T extends Ranged> {
  private chunks: T[][] = [];
  /** First base of each chunk, kept beside `chunks` for a tight binary search. */
  private firsts: number[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Index of the last chunk whose first base is ≤ address, or -1. */
  private chunkFor(address: number): number {
    const firsts = this.firsts;
    let lo = 0;
    let hi = firsts.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (firsts[mid]! <= address) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /** Position of the last entry of `chunk` whose base is ≤ address, or -1. */
  private static floorIn<T extends Ranged>(chunk: T[], address: number): number {
    let lo = 0;
    let hi = chunk.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (chunk[mid]!.base <= address) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /** The entry with the greatest base ≤ address. */
  floor(address: number): T | undefined {
    const c = this.chunkFor(address);
    if (c < 0) return undefined;
    const chunk = this.chunks[c]!;
    const i = SortedIndex.floorIn(chunk, address);
    return i < 0 ? undefined : chunk[i];
  }

  /** The entry whose [base, base+size) holds address. */
  containing(address: number): T | undefined {
    const e = this.floor(address);
    return e !== undefined && address < e.base + e.size ? e : undefined;
  }

  /** Any entry that overlaps [start, start+size). */
  overlapping(start: number, size: number): T | undefined {
    const end = start + size;
    const e = this.floor(end - 1);
    return e !== undefined && e.base + e.size > start ? e : undefined;
  }

  /** Insert an entry that overlaps no other. */
  insert(entry: T): void {
    this.count++;
    if (this.chunks.length === 0) {
      this.chunks.push([entry]);
      this.firsts.push(entry.base);
      return;
    }
    let c = this.chunkFor(entry.base);
    if (c < 0) c = 0;
    const chunk = this.chunks[c]!;
    const i = SortedIndex.floorIn(chunk, entry.base) + 1;
    chunk.splice(i, 0, entry);
    if (i === 0) this.firsts[c] = entry.base;
    if (chunk.length > 2 * CHUNK) {
      const tail = chunk.splice(CHUNK);
      this.chunks.splice(c + 1, 0, tail);
      this.firsts.splice(c + 1, 0, tail[0]!.base);
    }
  }

  /** Remove the entry that starts at `base`; returns it. */
  remove(base: number): T | undefined {
    const c = this.chunkFor(base);
    if (c < 0) return undefined;
    const chunk = this.chunks[c]!;
    const i = SortedIndex.floorIn(chunk, base);
    if (i < 0 || chunk[i]!.base !== base) return undefined;
    const [removed] = chunk.splice(i, 1);
    this.count--;
    if (chunk.length === 0) {
      this.chunks.splice(c, 1);
      this.firsts.splice(c, 1);
    } else if (i === 0) this.firsts[c] = chunk[0]!.base;
    return removed;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (const chunk of this.chunks) yield* chunk;
  }

  clear(): void {
    this.chunks = [];
    this.firsts = [];
    this.count = 0;
  }
}
