/**
 * The agent protocol on the wire (hostmem's side): frames out of a byte stream, events out of EVENTS frames (with
 * their stacks joined back), and the frames hostmem sends down (WELCOME, POLICY, RESET). Every frame from the agent
 * is checked — a wrong length, an unknown type, a slot out of sequence — and a problem is a value, never a throw.
 */
import {
  COUNTERS_LAYOUT,
  EVENT_BYTES,
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

/** A decoded batch of events, one typed array per field (reused from batch to batch: nothing per event). */
export class EventColumns {
  capacity = 0;
  seq = new Float64Array(0);
  op = new Uint8Array(0);
  level = new Uint8Array(0);
  result = new Uint8Array(0);
  prot = new Uint8Array(0);
  tid = new Uint32Array(0);
  timeNs = new Float64Array(0);
  addr = new Float64Array(0);
  size = new Float64Array(0);
  ret = new Float64Array(0);
  extra = new Float64Array(0);
  flags = new Uint32Array(0);
  err = new Uint16Array(0);
  aflags = new Uint16Array(0);
  /** Where each event's frames start in `frames`, and how many it has (0: none). */
  frameAt = new Int32Array(0);
  frameCount = new Int32Array(0);
  frames: number[] = [];

  reserve(n: number): void {
    if (n <= this.capacity) return;
    const c = Math.max(n, this.capacity * 2, 1024);
    this.capacity = c;
    this.seq = new Float64Array(c);
    this.op = new Uint8Array(c);
    this.level = new Uint8Array(c);
    this.result = new Uint8Array(c);
    this.prot = new Uint8Array(c);
    this.tid = new Uint32Array(c);
    this.timeNs = new Float64Array(c);
    this.addr = new Float64Array(c);
    this.size = new Float64Array(c);
    this.ret = new Float64Array(c);
    this.extra = new Float64Array(c);
    this.flags = new Uint32Array(c);
    this.err = new Uint16Array(c);
    this.aflags = new Uint16Array(c);
    this.frameAt = new Int32Array(c);
    this.frameCount = new Int32Array(c);
  }

  /** The frames of event i (a new array). */
  framesOf(i: number): number[] {
    const at = this.frameAt[i]!;
    return this.frames.slice(at, at + this.frameCount[i]!);
  }

  /** Event i as an object (tests, and the rare paths that want one). */
  event(i: number): AgentEvent {
    return {
      seq: this.seq[i]!,
      op: this.op[i]!,
      level: this.level[i]!,
      result: this.result[i]!,
      prot: this.prot[i]!,
      tid: this.tid[i]!,
      timeNs: this.timeNs[i]!,
      addr: this.addr[i]!,
      size: this.size[i]!,
      ret: this.ret[i]!,
      extra: this.extra[i]!,
      flags: this.flags[i]!,
      err: this.err[i]!,
      aflags: this.aflags[i]!,
      frames: this.framesOf(i),
    };
  }
}

const SLOT_WORDS = EVENT_BYTES / 4;

/** Decodes EVENTS frames of one connection, checking that no slot is lost or repeated. */
export class EventDecoder {
  /** The next sequence number expected. */
  private next = 0;
  /** Slots missing between batches, or whose mark was not theirs. */
  lost = 0;
  /** Slots the agent abandoned (a writer that never finished). */
  abandoned = 0;
  slots = 0;
  private aligned = new Uint32Array(0);

  /** Decode one EVENTS payload into `out` (cleared first); resolves to the number of events, or an Error. */
  decode(p: Buffer, out: EventColumns): number | Error {
    if (p.length < 8 || (p.length - 8) % EVENT_BYTES !== 0) return new Error(`EVENTS of ${p.length} bytes`);
    const first = u64(p, 0);
    if (this.next !== 0 && first !== this.next) {
      if (first > this.next) this.lost += first - this.next;
      else return new Error(`EVENTS from slot ${first}, already past ${this.next}: repeated`);
    }
    const n = (p.length - 8) / EVENT_BYTES;
    this.slots += n;
    this.next = first + n;
    // One copy into aligned words, then plain array reads.
    if (this.aligned.length < n * SLOT_WORDS)
      this.aligned = new Uint32Array(Math.max(n * SLOT_WORDS, this.aligned.length * 2));
    const w = this.aligned;
    Buffer.from(w.buffer, w.byteOffset, n * EVENT_BYTES).set(p.subarray(8));
    out.reserve(n);
    out.frames.length = 0;
    let count = 0;
    let partial = -1;
    let want = 0;
    for (let i = 0; i < n; i++) {
      const b = i * SLOT_WORDS;
      const seq = first + i;
      if (w[b]! !== seq % 0x1_0000_0000) {
        this.lost++;
        partial = -1;
        continue;
      }
      const head = w[b + 1]!;
      const op = head & 0xff;
      if (op === OP.FRAMES) {
        const frameCount = (head >>> 8) & 0xff;
        if (frameCount === 0) {
          this.abandoned++;
          partial = -1;
          continue;
        }
        if (partial < 0) continue; // frames of an event that was lost: already counted
        for (let k = 0; k < frameCount && k < FRAMES_PER_SLOT; k++) {
          out.frames.push(w[b + 2 + 2 * k]! + w[b + 3 + 2 * k]! * 0x1_0000_0000);
        }
        out.frameCount[partial]! += Math.min(frameCount, FRAMES_PER_SLOT);
        if (out.frameCount[partial]! >= want) partial = -1;
        continue;
      }
      partial = -1;
      const j = count++;
      out.seq[j] = seq;
      out.op[j] = op;
      out.level[j] = (head >>> 8) & 0xff;
      out.result[j] = (head >>> 16) & 0xff;
      out.prot[j] = head >>> 24;
      out.tid[j] = w[b + 2]!;
      out.timeNs[j] = w[b + 4]! + w[b + 5]! * 0x1_0000_0000;
      out.addr[j] = w[b + 6]! + w[b + 7]! * 0x1_0000_0000;
      out.size[j] = w[b + 8]! + w[b + 9]! * 0x1_0000_0000;
      out.ret[j] = w[b + 10]! + w[b + 11]! * 0x1_0000_0000;
      out.extra[j] = w[b + 12]! + w[b + 13]! * 0x1_0000_0000;
      out.flags[j] = w[b + 14]!;
      out.err[j] = w[b + 15]! & 0xffff;
      out.aflags[j] = w[b + 15]! >>> 16;
      out.frameAt[j] = out.frames.length;
      out.frameCount[j] = 0;
      const frames = w[b + 3]!;
      if (frames > 0) {
        partial = j;
        want = frames;
      }
    }
    // An event's frames never continue into the next batch: the agent sends an event and its frames slots together.
    return count;
  }
}

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
  /** Under sampled heap events: the heap's peak, and what was counted and not sent. */
  readonly heapPeak: number;
  /** Successful calls not sent, by op code (MALLOC .. PVALLOC). */
  readonly unsent: Readonly<Record<number, number>>;
  readonly unsentFrees: number;
  readonly unsentBytes: number;
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
    heapPeak: s64(COUNTERS_LAYOUT.heapPeak),
    unsent: Object.fromEntries(
      Array.from({ length: 9 }, (_, i) => [OP.MALLOC + i, u64(p, COUNTERS_LAYOUT.unsent + 8 * i)] as const).filter(
        ([, n]) => n > 0,
      ),
    ),
    unsentFrees: u64(p, COUNTERS_LAYOUT.unsentFrees),
    unsentBytes: u64(p, COUNTERS_LAYOUT.unsentBytes),
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
  /** Heap calls without a stack are counted in the agent, not sent (the default sampling mode). */
  readonly sampledHeap: boolean;
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
  p.writeUInt32LE((w.unavailable ? 1 : 0) | (w.followForks ? 2 : 0) | (w.sampledHeap ? 4 : 0), P.flags);
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
