/**
 * Process walks in a session file: three versioned record kinds beside the host's call/sample/snapshot lines, so a
 * `hostmem inspect --record FILE` session is an ordinary session (header first, then JSON Lines) that the session
 * reader, `replay` and `report` read, and old session files (which have none of these lines) read as before.
 *
 *   {"type":"process-walk","v":1,"t":…,"pid":…,"name":…,"backend":…,"pageSize":…,"durationMs":…,"addressLimit":"0x…","regions":[Region…]}
 *   {"type":"process-delta","v":1,"t":…,"pid":…,"durationMs":…,"removed":["0x…"…],"upserted":[Region…]}
 *   {"type":"process-exit","v":1,"t":…,"pid":…,"walks":N}
 *
 * A `process-walk` is a whole walk; each `process-delta` after it is the next walk of the same pid as the bases of
 * the regions that are gone or replaced, and the regions that are new or differ in any field (free ones included,
 * so the rebuilt walk is exact). `Region` is `{ base, size, state, type, protect, allocationBase, allocationProtect,
 * committed, file, label, use, resident, private, pss, swap }` with addresses as `"0x…"` strings (the same object
 * `hostmem inspect --json` prints). Only native/ types are used here: main/inspect is a sibling, not a dependency.
 */
import { hostname, release } from 'node:os';
import { z } from 'zod';
import type { ProcessRegion, ProcessWalk } from '../../native';
import { durationMs, hexAddressText, time } from './record-fields';
import { SESSION_FORMAT, type SessionHeader, type SessionWriter } from './session';
import { BACKENDS, type Backend } from '../vocabulary';

export const PROCESS_RECORD_VERSION = 1;
export const PROCESS_RECORD_TYPES = ['process-walk', 'process-delta', 'process-exit'] as const;
export type ProcessRecordType = (typeof PROCESS_RECORD_TYPES)[number];

const hex = (n: number): string => `0x${n.toString(16)}`;
const address = hexAddressText.transform((s) => Number.parseInt(s.slice(2), 16));
const bytes = z.number().int().nonnegative();
const nullableBytes = bytes.nullable();

/** One region as JSON (records and `hostmem inspect --json`). */
export const regionJsonSchema = z.strictObject({
  base: address,
  size: bytes,
  state: z.enum(['MEM_COMMIT', 'MEM_RESERVE', 'MEM_FREE']),
  type: z.enum(['MEM_PRIVATE', 'MEM_MAPPED', 'MEM_IMAGE']).nullable(),
  protect: bytes,
  allocationBase: address,
  allocationProtect: bytes,
  committed: bytes,
  file: z.string().nullable(),
  label: z.string().nullable(),
  use: z.enum(['heap', 'stack', 'shareable']).nullable(),
  resident: nullableBytes,
  private: nullableBytes,
  pss: nullableBytes,
  swap: nullableBytes,
});
export type RegionJson = z.input<typeof regionJsonSchema>;

export function regionToJson(r: ProcessRegion): RegionJson {
  return {
    base: hex(r.baseAddress),
    size: r.size,
    state: r.state,
    type: r.type ?? null,
    protect: r.protect,
    allocationBase: hex(r.allocationBase),
    allocationProtect: r.allocationProtect,
    committed: r.committed,
    file: r.file,
    label: r.label,
    use: r.use,
    resident: r.resident,
    private: r.private,
    pss: r.pss,
    swap: r.swap,
  };
}

export function regionFromJson(json: z.output<typeof regionJsonSchema>): ProcessRegion {
  const { base, type, ...rest } = json;
  return { ...rest, baseAddress: base, type: type ?? undefined };
}

const recordBase = { v: z.literal(PROCESS_RECORD_VERSION), t: time, pid: z.number().int().positive() };

export const processWalkRecordSchema = z.strictObject({
  type: z.literal('process-walk'),
  ...recordBase,
  name: z.string().nullable(),
  backend: z.enum(BACKENDS),
  pageSize: bytes,
  durationMs,
  addressLimit: address,
  regions: z.array(regionJsonSchema),
});

export const processDeltaRecordSchema = z.strictObject({
  type: z.literal('process-delta'),
  ...recordBase,
  durationMs,
  removed: z.array(address),
  upserted: z.array(regionJsonSchema),
});

export const processExitRecordSchema = z.strictObject({
  type: z.literal('process-exit'),
  ...recordBase,
  walks: z.number().int().nonnegative(),
});

/** Per record type, its schema (for a session reader's table of kinds). */
export const PROCESS_RECORD_SCHEMAS = {
  'process-walk': processWalkRecordSchema,
  'process-delta': processDeltaRecordSchema,
  'process-exit': processExitRecordSchema,
} as const satisfies Record<ProcessRecordType, z.ZodType>;

export type ProcessRecord =
  | z.output<typeof processWalkRecordSchema>
  | z.output<typeof processDeltaRecordSchema>
  | z.output<typeof processExitRecordSchema>;

export function isProcessRecordType(type: unknown): type is ProcessRecordType {
  return typeof type === 'string' && (PROCESS_RECORD_TYPES as readonly string[]).includes(type);
}

function sameRegion(a: ProcessRegion, b: ProcessRegion): boolean {
  return (
    a.size === b.size &&
    a.state === b.state &&
    a.type === b.type &&
    a.protect === b.protect &&
    a.allocationBase === b.allocationBase &&
    a.allocationProtect === b.allocationProtect &&
    a.committed === b.committed &&
    a.file === b.file &&
    a.label === b.label &&
    a.use === b.use &&
    a.resident === b.resident &&
    a.private === b.private &&
    a.pss === b.pss &&
    a.swap === b.swap
  );
}

/** The header of a session that holds process records only (no host ran: the policy is empty). */
export function processSessionHeader(backend: Backend, pageSize: number, command?: string): SessionHeader {
  return {
    format: SESSION_FORMAT,
    createdAt: new Date().toISOString(),
    hostmem: '0.1.0',
    host: { hostname: hostname() },
    os: { platform: process.platform, release: release(), arch: process.arch },
    backend,
    pageSize,
    policy: {},
    ...(command === undefined ? {} : { command }),
  };
}

/** Writes walks of one process into a session: the first as a whole walk, the next ones as deltas. */
export class ProcessRecordWriter {
  private last: ProcessWalk | undefined;
  private count = 0;

  constructor(private readonly writer: SessionWriter) {}

  /** Walks written so far. */
  get walks(): number {
    return this.count;
  }

  write(walk: ProcessWalk): void {
    const prev = this.last;
    this.last = walk;
    this.count++;
    if (prev === undefined || prev.pid !== walk.pid) {
      this.writer.append({
        type: 'process-walk',
        v: PROCESS_RECORD_VERSION,
        t: walk.takenAt,
        pid: walk.pid,
        name: walk.name,
        backend: walk.backend,
        pageSize: walk.pageSize,
        durationMs: walk.durationMs,
        addressLimit: hex(walk.addressLimit),
        regions: walk.regions.map(regionToJson),
      });
      return;
    }
    const removed: string[] = [];
    const upserted: RegionJson[] = [];
    let i = 0;
    let j = 0;
    const a = prev.regions;
    const b = walk.regions;
    while (i < a.length || j < b.length) {
      const x = a[i];
      const y = b[j];
      if (x !== undefined && (y === undefined || x.baseAddress < y.baseAddress)) {
        removed.push(hex(x.baseAddress));
        i++;
      } else if (y !== undefined && (x === undefined || y.baseAddress < x.baseAddress)) {
        upserted.push(regionToJson(y));
        j++;
      } else if (x !== undefined && y !== undefined) {
        if (x !== y && !sameRegion(x, y)) upserted.push(regionToJson(y));
        i++;
        j++;
      }
    }
    this.writer.append({
      type: 'process-delta',
      v: PROCESS_RECORD_VERSION,
      t: walk.takenAt,
      pid: walk.pid,
      durationMs: walk.durationMs,
      removed,
      upserted,
    });
  }

  /** The process exited (or vanished): say when. */
  exit(pid: number, at: number): void {
    this.writer.append({ type: 'process-exit', v: PROCESS_RECORD_VERSION, t: at, pid, walks: this.count });
  }
}

export class ProcessRecordError extends Error {}

/**
 * Rebuilds walks from a session's lines (any order of kinds; other lines are ignored). Validates each process
 * record; a delta with no walk of its pid before it is an error.
 */
export class ProcessWalkReader {
  private readonly current = new Map<number, ProcessWalk>();
  private readonly exits = new Map<number, number>();

  /**
   * Feed one raw session line (parsed JSON, not yet validated): validated here by its kind's schema; returns the walk
   * it completes, if it is a walk or delta record. Lines of other kinds are ignored.
   */
  acceptLine(line: { readonly type: string; readonly t: number }): ProcessWalk | undefined {
    if (!isProcessRecordType(line.type)) return undefined;
    const parsed = PROCESS_RECORD_SCHEMAS[line.type].safeParse(line);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ProcessRecordError(
        `bad ${line.type} record: ${issue ? `${issue.path.join('.') || '(record)'}: ${issue.message}` : 'invalid'}`,
      );
    }
    return this.accept(parsed.data);
  }

  /**
   * Feed one record as the one session reader yields it (already validated against PROCESS_RECORD_SCHEMAS, in
   * their output form); records of other kinds are ignored. Returns the walk it completes, if any.
   */
  accept(line: { readonly type: string }): ProcessWalk | undefined {
    if (!isProcessRecordType(line.type)) return undefined;
    const record = line as ProcessRecord;
    if (record.type === 'process-exit') {
      this.exits.set(record.pid, record.t);
      return undefined;
    }
    if (record.type === 'process-walk') {
      const walk: ProcessWalk = {
        pid: record.pid,
        name: record.name,
        backend: record.backend,
        pageSize: record.pageSize,
        takenAt: record.t,
        durationMs: record.durationMs,
        addressLimit: record.addressLimit,
        regions: record.regions.map(regionFromJson),
      };
      this.current.set(record.pid, walk);
      return walk;
    }
    const prev = this.current.get(record.pid);
    if (prev === undefined) throw new ProcessRecordError(`process-delta for pid ${record.pid} before its process-walk`);
    const removed = new Set(record.removed);
    const byBase = new Map<number, ProcessRegion>();
    for (const r of prev.regions) if (!removed.has(r.baseAddress)) byBase.set(r.baseAddress, r);
    for (const r of record.upserted) byBase.set(r.base, regionFromJson(r));
    const regions = [...byBase.values()].sort((x, y) => x.baseAddress - y.baseAddress);
    const walk: ProcessWalk = { ...prev, takenAt: record.t, durationMs: record.durationMs, regions };
    this.current.set(record.pid, walk);
    return walk;
  }

  /** When each pid's exit was recorded, ms since the epoch. */
  exitedAt(pid: number): number | undefined {
    return this.exits.get(pid);
  }
}
