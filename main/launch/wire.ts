/**
 * The agent protocol on the wire (hostmem's side): frames out of a byte stream, events out of EVENTS frames (with
 * their stacks joined back), and the frames hostmem sends down (WELCOME, POLICY, RESET). Every frame from the agent
 * is checked — a wrong length, an unknown type, a slot out of sequence — and a problem is a value, never a throw.
 */
import {
  COUNTERS_LAYOUT,
  EVENT_BYTES,
  EVENT_LAYOUT as E,
  FRAME_HEADER_BYTES,
  FRAMES_PER_SLOT,
  HELLO_LAYOUT as H,
  HELLO_MAGIC,
  MAX_FRAME_BYTES,
  MODULE_LAYOUT,
  MSG,
  OP,
  POLICY_LAYOUT as P,
} from './protocol';

export interface Frame {
  readonly type: number;
  readonly payload: Buffer;
}

/** Reassembles frames from the chunks a stream delivers. */
export class FrameReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  /** Frames completed by this chunk; a malformed header is an Error (the stream cannot be trusted past it). */
  push(chunk: Buffer): Frame[] | Error {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    const frames: Frame[] = [];
    let data = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    let at = 0;
    while (data.length - at >= FRAME_HEADER_BYTES) {
      const length = data.readUInt32LE(at);
      const type = data.readUInt16LE(at + 4);
      if (length < FRAME_HEADER_BYTES || length > MAX_FRAME_BYTES) {
        return new Error(`a frame of ${length} bytes (type ${type}): not a hostmem agent, or a damaged stream`);
      }
      if (data.length - at < length) break;
      frames.push({ type, payload: data.subarray(at + FRAME_HEADER_BYTES, at + length) });
      at += length;
    }
    data = data.subarray(at);
    this.pending = data.length > 0 ? [data] : [];
    this.pendingBytes = data.length;
    return frames;
  }

  get buffered(): number {
    return this.pendingBytes;
  }
}

export function frame(type: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const out = Buffer.alloc(FRAME_HEADER_BYTES + payload.length);
  out.writeUInt32LE(out.length, 0);
  out.writeUInt16LE(type, 4);
  payload.copy(out, FRAME_HEADER_BYTES);
  return out;
}

const u64 = (b: Buffer, at: number): number => b.readUInt32LE(at) + b.readUInt32LE(at + 4) * 0x1_0000_0000;

export interface Hello {
  readonly version: number;
  readonly os: number;
  readonly pid: number;
  readonly ppid: number;
  readonly pageSize: number;
  readonly flags: number;
  readonly monotonicNs: number;
  readonly realtimeNs: number;
  readonly ringSlots: number;
  readonly maxFrames: number;
  readonly exe: string;
}

export function parseHello(p: Buffer): Hello | Error {
  if (p.length < H.bytes) return new Error(`HELLO of ${p.length} bytes, expected at least ${H.bytes}`);
  if (p.readUInt32LE(H.magic) !== HELLO_MAGIC) return new Error('HELLO without the agent magic');
  const exeLength = p.readUInt16LE(H.exePathLength);
  if (p.length !== H.bytes + exeLength) return new Error('HELLO whose path length does not match its size');
  return {
    version: p.readUInt16LE(H.version),
    os: p.readUInt16LE(H.os),
    pid: p.readUInt32LE(H.pid),
    ppid: p.readUInt32LE(H.ppid),
    pageSize: p.readUInt32LE(H.pageSize),
    flags: p.readUInt32LE(H.flags),
    monotonicNs: u64(p, H.monotonicNs),
    realtimeNs: u64(p, H.realtimeNs),
    ringSlots: p.readUInt32LE(H.ringSlots),
    maxFrames: p.readUInt16LE(H.maxFrames),
    exe: p.toString('utf8', H.bytes),
  };
}

/** One hooked call, as the agent recorded it. */
export interface AgentEvent {
  readonly seq: number;
  readonly op: number;
  readonly level: number;
  readonly result: number;
  readonly prot: number;
  readonly tid: number;
  readonly timeNs: number;
  readonly addr: number;
  readonly size: number;
  readonly ret: number;
  readonly extra: number;
  readonly flags: number;
  readonly err: number;
  readonly aflags: number;
  /** Return addresses, innermost first (empty when the call carried no stack). */
  readonly frames: readonly number[];
}

/** Decodes EVENTS frames of one connection, checking that no slot is lost or repeated. */
export class EventDecoder {
  /** The next sequence number expected. */
  private next = 0;
  /** Slots missing between batches, or whose mark was not theirs. */
  lost = 0;
  /** Slots the agent abandoned (a writer that never finished). */
  abandoned = 0;
  slots = 0;
  /** An event whose frames continue into the next batch. */
  private partial: { event: Omit<AgentEvent, 'frames'>; frames: number[]; want: number } | undefined;

  decode(p: Buffer, out: AgentEvent[]): Error | undefined {
    if (p.length < 8 || (p.length - 8) % EVENT_BYTES !== 0) return new Error(`EVENTS of ${p.length} bytes`);
    const first = u64(p, 0);
    if (this.next !== 0 && first !== this.next) {
      if (first > this.next) this.lost += first - this.next;
      else return new Error(`EVENTS from slot ${first}, already past ${this.next}: repeated`);
      this.partial = undefined;
    }
    const n = (p.length - 8) / EVENT_BYTES;
    this.slots += n;
    this.next = first + n;
    for (let i = 0; i < n; i++) {
      const at = 8 + i * EVENT_BYTES;
      const seq = first + i;
      if (p.readUInt32LE(at + E.mark) !== seq % 0x1_0000_0000) {
        this.lost++;
        this.partial = undefined;
        continue;
      }
      const op = p[at + E.op]!;
      if (op === OP.FRAMES) {
        const count = p[at + 5]!;
        if (count === 0) {
          this.abandoned++;
          this.partial = undefined;
          continue;
        }
        const partial = this.partial;
        if (partial === undefined) continue; // frames of an event that was lost: already counted
        for (let k = 0; k < count && k < FRAMES_PER_SLOT; k++) partial.frames.push(u64(p, at + 8 + k * 8));
        if (partial.frames.length >= partial.want) {
          out.push({ ...partial.event, frames: partial.frames });
          this.partial = undefined;
        }
        continue;
      }
      if (this.partial !== undefined) {
        // The frames it announced never came: the event still counts, with what arrived.
        out.push({ ...this.partial.event, frames: this.partial.frames });
        this.lost++;
        this.partial = undefined;
      }
      const event = {
        seq,
        op,
        level: p[at + E.level]!,
        result: p[at + E.result]!,
        prot: p[at + E.prot]!,
        tid: p.readUInt32LE(at + E.tid),
        timeNs: u64(p, at + E.timeNs),
        addr: u64(p, at + E.addr),
        size: u64(p, at + E.size),
        ret: u64(p, at + E.ret),
        extra: u64(p, at + E.extra),
        flags: p.readUInt32LE(at + E.flags),
        err: p.readUInt16LE(at + E.err),
        aflags: p.readUInt16LE(at + E.aflags),
      };
      const want = p.readUInt32LE(at + E.frames);
      if (want === 0) out.push({ ...event, frames: NO_FRAMES });
      else this.partial = { event, frames: [], want };
    }
    return undefined;
  }
}

const NO_FRAMES: readonly number[] = Object.freeze([]);

export interface AgentModule {
  readonly path: string;
  readonly loadBias: number;
  readonly start: number;
  readonly end: number;
}

export function parseModules(p: Buffer): AgentModule[] | Error {
  if (p.length < MODULE_LAYOUT.headerBytes) return new Error('MODULES too short');
  const count = p.readUInt32LE(0);
  const out: AgentModule[] = [];
  let at: number = MODULE_LAYOUT.headerBytes;
  for (let i = 0; i < count; i++) {
    if (at + MODULE_LAYOUT.bytes > p.length) return new Error(`MODULES cut short at module ${i} of ${count}`);
    const length = p.readUInt32LE(at + MODULE_LAYOUT.pathLength);
    const end = at + MODULE_LAYOUT.bytes + length;
    if (end > p.length) return new Error(`MODULES cut short in the path of module ${i}`);
    out.push({
      loadBias: u64(p, at + MODULE_LAYOUT.loadBias),
      start: u64(p, at + MODULE_LAYOUT.start),
      end: u64(p, at + MODULE_LAYOUT.end),
      path: p.toString('utf8', at + MODULE_LAYOUT.bytes, end),
    });
    at = end;
  }
  return out;
}

export interface AgentCounters {
  readonly events: number;
  readonly nested: number;
  readonly early: number;
  readonly skipped: number;
  readonly committed: number;
  readonly reserved: number;
  /** Signed: frees of blocks allocated before the agent was ready take it below what the books hold. */
  readonly heap: number;
  readonly waits: number;
  readonly unavailable: boolean;
}

export function parseCounters(p: Buffer): AgentCounters | Error {
  if (p.length !== COUNTERS_LAYOUT.bytes) return new Error(`COUNTERS of ${p.length} bytes`);
  const s64 = (at: number): number => Number(p.readBigInt64LE(at));
  return {
    events: u64(p, COUNTERS_LAYOUT.events),
    nested: u64(p, COUNTERS_LAYOUT.nested),
    early: u64(p, COUNTERS_LAYOUT.early),
    skipped: u64(p, COUNTERS_LAYOUT.skipped),
    committed: s64(COUNTERS_LAYOUT.committed),
    reserved: s64(COUNTERS_LAYOUT.reserved),
    heap: s64(COUNTERS_LAYOUT.heap),
    waits: u64(p, COUNTERS_LAYOUT.waits),
    unavailable: p.readUInt32LE(COUNTERS_LAYOUT.state) !== 0,
  };
}

export function welcomeFrame(trace: boolean): Buffer {
  const p = Buffer.alloc(8);
  p.writeUInt32LE(trace ? 1 : 0, 0);
  return frame(MSG.WELCOME, p);
}

/** The policy as the agent applies it (sizes in bytes, levels 0..2, rules already turned into masks and ranges). */
export interface WirePolicy {
  readonly commitLimit: number | null;
  readonly reserveLimit: number | null;
  readonly thresholdPermille: readonly [number, number, number];
  readonly processCriticalWaitMs: number;
  readonly seed: number;
  readonly sampleBytes: number;
  readonly unavailable: boolean;
  readonly followForks: boolean;
  readonly defaultLevel: number;
  readonly faults: readonly {
    readonly opMask: bigint;
    readonly level: number;
    readonly kind: number;
    readonly value: number;
  }[];
  readonly levelRules: readonly {
    readonly opMask: bigint;
    readonly minSize: number;
    readonly maxSize: number;
    readonly ranges: readonly (readonly [number, number])[];
    readonly level: number;
  }[];
}

export function policyFrame(w: WirePolicy): Buffer {
  const nRanges = w.levelRules.reduce((n, r) => n + r.ranges.length, 0);
  const p = Buffer.alloc(
    P.bytes + w.faults.length * P.faultBytes + w.levelRules.length * P.levelRuleBytes + nRanges * P.rangeBytes,
  );
  p.writeBigUInt64LE(BigInt(w.commitLimit ?? 0), P.commitLimit);
  p.writeBigUInt64LE(BigInt(w.reserveLimit ?? 0), P.reserveLimit);
  w.thresholdPermille.forEach((t, i) => p.writeUInt32LE(t, P.thresholdPermille + 4 * i));
  p.writeUInt32LE(w.processCriticalWaitMs, P.processCriticalWaitMs);
  p.writeBigUInt64LE(BigInt.asUintN(64, BigInt(w.seed)), P.seed);
  p.writeBigUInt64LE(BigInt(w.sampleBytes), P.sampleBytes);
  p.writeUInt32LE((w.unavailable ? 1 : 0) | (w.followForks ? 2 : 0), P.flags);
  p.writeUInt8(w.defaultLevel, P.defaultLevel);
  p.writeUInt16LE(w.faults.length, P.nFaults);
  p.writeUInt16LE(w.levelRules.length, P.nLevelRules);
  p.writeUInt32LE(nRanges, P.nRanges);
  let at = P.bytes;
  for (const f of w.faults) {
    p.writeBigUInt64LE(f.opMask, at);
    p.writeUInt8(f.level, at + 8);
    p.writeUInt8(f.kind, at + 9);
    p.writeDoubleLE(f.value, at + 16);
    at += P.faultBytes;
  }
  let range = 0;
  const rangesAt = at + w.levelRules.length * P.levelRuleBytes;
  for (const r of w.levelRules) {
    p.writeBigUInt64LE(r.opMask, at);
    p.writeBigUInt64LE(BigInt(r.minSize), at + 8);
    p.writeBigUInt64LE(BigInt(r.maxSize), at + 16);
    p.writeUInt32LE(range, at + 24);
    p.writeUInt32LE(r.ranges.length, at + 28);
    p.writeUInt8(r.level, at + 32);
    for (const [lo, hi] of r.ranges) {
      p.writeBigUInt64LE(BigInt(lo), rangesAt + range * P.rangeBytes);
      p.writeBigUInt64LE(BigInt(hi), rangesAt + range * P.rangeBytes + 8);
      range++;
    }
    at += P.levelRuleBytes;
  }
  return frame(MSG.POLICY, p);
}
