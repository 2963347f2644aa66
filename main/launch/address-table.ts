/**
 * Heap blocks by address, for a launched program's books: millions of inserts and deletes a second with nothing
 * allocated per block. An open-addressing table (linear probing, backward-shift deletion: no tombstones) keyed by
 * address in a Float64Array, whose values index block columns (typed arrays) recycled through a free list. A V8 Map
 * keyed by heap addresses (doubles above 2^31) allocates a number per key and was most of the cost of a call.
 */
const EMPTY = 0;

export class AddressTable {
  private keys = new Float64Array(1 << 12);
  private slots = new Int32Array(1 << 12);
  private mask = (1 << 12) - 1;
  private count = 0;

  // The blocks' columns, indexed by slot.
  size = new Float64Array(1 << 10);
  usable = new Float64Array(1 << 10);
  time = new Float64Array(1 << 10);
  stack = new Int32Array(1 << 10);
  level = new Uint8Array(1 << 10);
  private free = new Int32Array(1 << 10);
  private freeCount = 0;
  private used = 0;

  get length(): number {
    return this.count;
  }

  private home(address: number): number {
    const lo = address % 4294967296;
    const hi = (address - lo) / 4294967296;
    return Math.imul((lo >>> 4) ^ (hi * 0x9e3779b1), 0x85ebca6b) & this.mask;
  }

  /** The slot of the block at `address`, or -1. */
  get(address: number): number {
    const keys = this.keys;
    for (let i = this.home(address); ; i = (i + 1) & this.mask) {
      const k = keys[i]!;
      if (k === address) return this.slots[i]!;
      if (k === EMPTY) return -1;
    }
  }

  /** A new block at `address` (replacing one already there): its slot, to fill the columns. */
  set(address: number): number {
    if ((this.count + 1) * 2 > this.keys.length) this.grow();
    const keys = this.keys;
    for (let i = this.home(address); ; i = (i + 1) & this.mask) {
      const k = keys[i]!;
      if (k === address) return this.slots[i]!;
      if (k === EMPTY) {
        const slot = this.take();
        keys[i] = address;
        this.slots[i] = slot;
        this.count++;
        return slot;
      }
    }
  }

  /** Remove the block at `address`; returns its slot (valid until the next set) or -1. */
  delete(address: number): number {
    const keys = this.keys;
    let i = this.home(address);
    for (; ; i = (i + 1) & this.mask) {
      const k = keys[i]!;
      if (k === EMPTY) return -1;
      if (k === address) break;
    }
    const slot = this.slots[i]!;
    this.count--;
    this.free[this.freeCount++] = slot;
    // Backward-shift deletion: later members of the probe run move into the hole.
    let hole = i;
    for (let j = (i + 1) & this.mask; ; j = (j + 1) & this.mask) {
      const k = keys[j]!;
      if (k === EMPTY) break;
      const home = this.home(k);
      const between = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!between) {
        keys[hole] = k;
        this.slots[hole] = this.slots[j]!;
        hole = j;
      }
    }
    keys[hole] = EMPTY;
    return slot;
  }

  /** Every live block: address and slot. */
  *entries(): IterableIterator<[number, number]> {
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i] !== EMPTY) yield [this.keys[i]!, this.slots[i]!];
  }

  /** A copy (a forked child's books start from its parent's). */
  clone(): AddressTable {
    const t = new AddressTable();
    t.keys = this.keys.slice();
    t.slots = this.slots.slice();
    t.mask = this.mask;
    t.count = this.count;
    t.size = this.size.slice();
    t.usable = this.usable.slice();
    t.time = this.time.slice();
    t.stack = this.stack.slice();
    t.level = this.level.slice();
    t.free = this.free.slice();
    t.freeCount = this.freeCount;
    t.used = this.used;
    return t;
  }

  private take(): number {
    if (this.freeCount > 0) return this.free[--this.freeCount]!;
    if (this.used === this.size.length) this.growColumns();
    return this.used++;
  }

  private growColumns(): void {
    const n = this.size.length * 2;
    const widen = <T extends Float64Array | Int32Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.size = widen(this.size, (k) => new Float64Array(k));
    this.usable = widen(this.usable, (k) => new Float64Array(k));
    this.time = widen(this.time, (k) => new Float64Array(k));
    this.stack = widen(this.stack, (k) => new Int32Array(k));
    this.level = widen(this.level, (k) => new Uint8Array(k));
    this.free = widen(this.free, (k) => new Int32Array(k));
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldSlots = this.slots;
    this.keys = new Float64Array(oldKeys.length * 2);
    this.slots = new Int32Array(oldKeys.length * 2);
    this.mask = this.keys.length - 1;
    for (let i = 0; i < oldKeys.length; i++) {
      const k = oldKeys[i]!;
      if (k === EMPTY) continue;
      for (let j = this.home(k); ; j = (j + 1) & this.mask) {
        if (this.keys[j] === EMPTY) {
          this.keys[j] = k;
          this.slots[j] = oldSlots[i]!;
          break;
        }
      }
    }
  }
}
