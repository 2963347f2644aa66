/**
 * Failure events in columns (typed arrays, about 50 bytes an event), never as one object each, so a million of them
 * stay small; writers iterate them one by one.
 */
import { FAILURE_GROUPS, hresultHex, hresultName, type FailureCounts, type FailureGroup } from '../host';
import type { FailureGroupSummary, ReportFailure } from './model-types';

const GROUP_INDEX: Readonly<Record<FailureGroup, number>> = {
  eTaskCritical: 0,
  eAppDomainCritical: 1,
  eProcessCritical: 2,
  other: 3,
};

/** Failure events in columns: appended in time order, read back one object at a time. */
export class FailureLog {
  private n = 0;
  private cap = 0;
  private seqs = new Float64Array(0);
  private times = new Float64Array(0);
  private sizes = new Float64Array(0);
  private flagWords = new Uint32Array(0);
  private hrs = new Uint32Array(0);
  private levels = new Uint8Array(0);
  private methodIds = new Uint16Array(0);
  private reasonIds = new Uint16Array(0);
  private tagIds = new Int32Array(0);
  private addresses: Array<string | null> = [];
  private readonly strings: string[] = [];
  private readonly hrText = new Map<number, readonly [string, string]>();
  private readonly stringIds = new Map<string, number>();
  private readonly counts: [number, number, number, number] = [0, 0, 0, 0];
  private readonly bytes: [number, number, number, number] = [0, 0, 0, 0];
  private readonly reasonsByGroup: Array<Map<string, number>> = [new Map(), new Map(), new Map(), new Map()];
  private readonly firstByGroup: Array<number | null> = [null, null, null, null];
  private readonly lastByGroup: Array<number | null> = [null, null, null, null];

  get length(): number {
    return this.n;
  }

  private intern(s: string): number {
    let id = this.stringIds.get(s);
    if (id === undefined) {
      id = this.strings.length;
      this.strings.push(s);
      this.stringIds.set(s, id);
    }
    return id;
  }

  private grow(): void {
    const cap = Math.max(1024, this.cap * 2);
    const f64 = (a: Float64Array) => {
      const b = new Float64Array(cap);
      b.set(a);
      return b;
    };
    this.seqs = f64(this.seqs);
    this.times = f64(this.times);
    this.sizes = f64(this.sizes);
    const u32 = (a: Uint32Array) => {
      const b = new Uint32Array(cap);
      b.set(a);
      return b;
    };
    this.flagWords = u32(this.flagWords);
    this.hrs = u32(this.hrs);
    const levels = new Uint8Array(cap);
    levels.set(this.levels);
    this.levels = levels;
    const u16 = (a: Uint16Array) => {
      const b = new Uint16Array(cap);
      b.set(a);
      return b;
    };
    this.methodIds = u16(this.methodIds);
    this.reasonIds = u16(this.reasonIds);
    const tags = new Int32Array(cap);
    tags.set(this.tagIds);
    this.tagIds = tags;
    this.cap = cap;
  }

  push(f: ReportFailure): void {
    if (this.n === this.cap) this.grow();
    const i = this.n++;
    const g = GROUP_INDEX[f.level];
    this.seqs[i] = f.seq;
    this.times[i] = f.time;
    this.sizes[i] = f.size;
    this.flagWords[i] = f.flags >>> 0;
    this.hrs[i] = f.hr >>> 0;
    this.levels[i] = g;
    this.methodIds[i] = this.intern(f.method);
    this.reasonIds[i] = this.intern(f.reason);
    // Tags are few (names of clerks); an unusual flood of distinct tags still works, as interned strings.
    this.tagIds[i] = f.tag === null ? -1 : this.intern(f.tag);
    this.addresses.push(f.address);
    this.counts[g]++;
    this.bytes[g] += f.size;
    const reasons = this.reasonsByGroup[g]!;
    reasons.set(f.reason, (reasons.get(f.reason) ?? 0) + 1);
    this.firstByGroup[g] ??= f.time;
    this.lastByGroup[g] = f.time;
  }

  at(i: number): ReportFailure {
    const hr = this.hrs[i]!;
    const tag = this.tagIds[i]!;
    let text = this.hrText.get(hr);
    if (text === undefined) this.hrText.set(hr, (text = [hresultHex(hr), hresultName(hr)]));
    return {
      seq: this.seqs[i]!,
      time: this.times[i]!,
      method: this.strings[this.methodIds[i]!]!,
      size: this.sizes[i]!,
      address: this.addresses[i] ?? null,
      flags: this.flagWords[i]!,
      level: FAILURE_GROUPS[this.levels[i]!]!,
      hr,
      hrHex: text[0],
      hrName: text[1],
      reason: this.strings[this.reasonIds[i]!]!,
      tag: tag < 0 ? null : this.strings[tag]!,
    };
  }

  /** Every event in order, or only those of one level. */
  *events(level?: FailureGroup): Generator<ReportFailure> {
    const g = level === undefined ? -1 : GROUP_INDEX[level];
    for (let i = 0; i < this.n; i++) if (g < 0 || this.levels[i] === g) yield this.at(i);
  }

  /** Time and level of every event, without building objects (the chart's markers). */
  forEachMark(fn: (time: number, level: FailureGroup) => void): void {
    for (let i = 0; i < this.n; i++) fn(this.times[i]!, FAILURE_GROUPS[this.levels[i]!]!);
  }

  countsByLevel(): FailureCounts {
    const [a, b, c, d] = this.counts;
    return { eTaskCritical: a, eAppDomainCritical: b, eProcessCritical: c, other: d };
  }

  byReason(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const m of this.reasonsByGroup) for (const [r, n] of m) out[r] = (out[r] ?? 0) + n;
    return out;
  }

  groups(): FailureGroupSummary[] {
    return FAILURE_GROUPS.map((level, g) => ({
      level,
      count: this.counts[g]!,
      bytes: this.bytes[g]!,
      reasons: Object.fromEntries(this.reasonsByGroup[g]!),
      first: this.firstByGroup[g]!,
      last: this.lastByGroup[g]!,
    }));
  }
}
