/**
 * A launched program in a session file (`hostmem launch --record FILE`): versioned record kinds beside the host's
 * lines, read by the one session reader like every other kind, so `report` and `replay` rebuild the program's books
 * from them. Every record names its process (`pid`): a followed fork or exec is its own process.
 *
 *   {"type":"launch-start","v":1,"t":…,"pid":…,"ppid":…,"parent":null|pid,"exe":…,"program":…,"args":[…],"cwd":…,
 *    "sampleBytes":…,"pageSize":…,"policy":{…}}
 *   {"type":"launch-modules","v":1,"t":…,"pid":…,"modules":[{"path":…,"loadBias":"0x…","start":"0x…","end":"0x…"}]}
 *   {"type":"launch-stacks","v":1,"t":…,"pid":…,"stacks":[{"id":N,"frames":["0x…"…],"names":["mod!fn+0x…"…]}]}
 *   {"type":"launch-calls","v":1,"t":…,"pid":…,"calls":[[seq,op,tid,time,level,result,addr,size,ret,extra,flags,prot,aflags,err,stack]…]}
 *   {"type":"launch-counters","v":1,"t":…,"pid":…,"counters":{…},"lost":N,"abandoned":N}
 *   {"type":"launch-end","v":1,"t":…,"pid":…,"code":…|null,"signal":…|null,"status":…|null,"bye":bool,"lost":N,…}
 *
 * A `launch-calls` row is one hooked call in the order the agent recorded it (`time` in ms since the epoch; `stack`
 * the id of a stack written before it in a `launch-stacks` record of the same pid, or 0). Stacks are interned in
 * order, so a reader that interns them again gets the same ids (checked). Numbers only: a row costs ~60 bytes.
 */
import { z } from 'zod';
import type { FailureEvent } from '../host/types';
import { LaunchBooks } from '../launch/books';
import type { LaunchPolicy } from '../launch/policy';
import type { LaunchListener, TracedProcess } from '../launch/launcher';
import type { AgentCounters, AgentModule, EventColumns } from '../launch/wire';
import { toExecPolicy, type SessionWriter } from './session';

export const LAUNCH_RECORD_VERSION = 1;

const MAX_TIME = 8.64e15;
const time = z.number().min(0).max(MAX_TIME);
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const pid = z.number().int().min(1).max(0x7fffffff);
const hex = z
  .string()
  .regex(/^0x[0-9a-f]{1,13}$/i, 'an address as "0x…" below 2^52')
  .transform((s) => Number.parseInt(s.slice(2), 16));
const text = z.string().max(65536);
const v = z.literal(LAUNCH_RECORD_VERSION);

/** One call row: 15 numbers (see the file's header). */
const callRow = z.tuple([
  count, // seq
  z.number().int().min(0).max(63), // op
  count, // tid
  time,
  z.number().int().min(0).max(255), // level
  z.number().int().min(0).max(5), // result
  count, // addr
  count, // size
  count, // ret
  count, // extra
  z.number().int().min(0).max(0xffffffff), // flags
  z.number().int().min(0).max(255), // prot
  z.number().int().min(0).max(0xffff), // aflags
  z.number().int().min(0).max(0xffff), // err
  count, // stack
]);

const levelRuleJson = z.looseObject({ level: z.string() });

export const LAUNCH_RECORD_SCHEMAS = {
  'launch-start': z.strictObject({
    type: z.literal('launch-start'),
    v,
    t: time,
    pid,
    ppid: z.number().int().min(0),
    parent: pid.nullable(),
    exe: text,
    program: text,
    args: z.array(text).max(100000),
    cwd: text,
    sampleBytes: count,
    pageSize: count,
    policy: z.looseObject({
      levelRules: z.array(levelRuleJson).optional(),
      defaultLevel: z.string().optional(),
      followForks: z.boolean().optional(),
    }),
  }),
  'launch-modules': z.strictObject({
    type: z.literal('launch-modules'),
    v,
    t: time,
    pid,
    modules: z.array(z.strictObject({ path: text, loadBias: hex, start: hex, end: hex })).max(100000),
  }),
  'launch-stacks': z.strictObject({
    type: z.literal('launch-stacks'),
    v,
    t: time,
    pid,
    stacks: z
      .array(z.strictObject({ id: count, frames: z.array(hex).min(1).max(256), names: z.array(text).max(256) }))
      .max(1000000),
  }),
  'launch-calls': z.strictObject({ type: z.literal('launch-calls'), v, t: time, pid, calls: z.array(callRow) }),
  'launch-counters': z.strictObject({
    type: z.literal('launch-counters'),
    v,
    t: time,
    pid,
    counters: z.strictObject({
      events: count,
      nested: count,
      early: count,
      skipped: count,
      committed: z.number().int(),
      reserved: z.number().int(),
      heap: z.number().int(),
      waits: count,
      unavailable: z.boolean(),
      heapPeak: z.number().int(),
      unsent: z.record(z.string().regex(/^\d{1,2}$/), count),
      unsentFrees: count,
      unsentBytes: count,
    }),
    lost: count,
    abandoned: count,
  }),
  'launch-end': z.strictObject({
    type: z.literal('launch-end'),
    v,
    t: time,
    pid,
    code: z.number().int().nullable(),
    signal: z.string().max(32).nullable(),
    status: z.number().int().nullable(),
    bye: z.boolean(),
    lost: count,
    abandoned: count,
    events: count,
  }),
} as const;

export type LaunchRecordType = keyof typeof LAUNCH_RECORD_SCHEMAS;
export type LaunchRecordOf<K extends LaunchRecordType> = z.infer<(typeof LAUNCH_RECORD_SCHEMAS)[K]>;

const hexOf = (n: number): string => `0x${n.toString(16)}`;

/** The launch policy as a session records it: the exec policy object plus the launch-only fields. */
export function launchPolicyJson(policy: LaunchPolicy): Record<string, unknown> {
  return {
    ...toExecPolicy(policy.host),
    faults: policy.faults.map((f) => ({ ...f })),
    levelRules: policy.levelRules.map((r) => ({ ...r })),
    defaultLevel: policy.defaultLevel,
    sampleBytes: policy.sampleBytes,
    followForks: policy.followForks,
  };
}

export interface LaunchRecorderOptions {
  readonly program: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly policy: LaunchPolicy;
}

/** Writes a launch into a session as it happens: a listener of `Launch`. */
export class LaunchRecorder implements LaunchListener {
  private readonly written = new Map<number, number>();

  constructor(
    private readonly writer: SessionWriter,
    private readonly options: LaunchRecorderOptions,
    /** Exit of the root program, once known (set by the caller before processEnded of the root). */
    private readonly exitOf: (
      p: TracedProcess,
    ) => { code: number | null; signal: string | null; status: number } | null,
  ) {}

  processStarted(p: TracedProcess): void {
    this.writer.append({
      type: 'launch-start',
      v: LAUNCH_RECORD_VERSION,
      t: p.startedAt,
      pid: p.pid,
      ppid: p.hello.ppid,
      parent: p.parent?.pid ?? null,
      exe: p.hello.exe,
      program: this.options.program,
      args: [...this.options.args],
      cwd: this.options.cwd,
      sampleBytes: this.options.policy.sampleBytes,
      pageSize: p.hello.pageSize,
      policy: launchPolicyJson(this.options.policy),
    });
  }

  modules(p: TracedProcess, modules: readonly AgentModule[]): void {
    this.writer.append({
      type: 'launch-modules',
      v: LAUNCH_RECORD_VERSION,
      t: Date.now(),
      pid: p.pid,
      modules: modules.map((m) => ({
        path: m.path,
        loadBias: hexOf(m.loadBias),
        start: hexOf(m.start),
        end: hexOf(m.end),
      })),
    });
  }

  events(p: TracedProcess, c: EventColumns, n: number, stacks: Int32Array): void {
    const list = p.books.stackList();
    const told = this.written.get(p.pid) ?? (p.parent ? p.parent.books.stackList().length : 0);
    if (list.length > told) {
      this.writer.append({
        type: 'launch-stacks',
        v: LAUNCH_RECORD_VERSION,
        t: Date.now(),
        pid: p.pid,
        stacks: list.slice(told).map((s) => ({ id: s.id, frames: s.frames.map(hexOf), names: p.frames(s.id) })),
      });
      this.written.set(p.pid, list.length);
    }
    if (n === 0) return;
    // Written by hand: hundreds of thousands of rows a second, numbers only.
    const rows = new Array<string>(n);
    for (let i = 0; i < n; i++) {
      rows[i] =
        `[${c.seq[i]},${c.op[i]},${c.tid[i]},${p.toMs(c.timeNs[i]!)},${c.level[i]},${c.result[i]},${c.addr[i]},${c.size[i]},${c.ret[i]},${c.extra[i]},${c.flags[i]},${c.prot[i]},${c.aflags[i]},${c.err[i]},${stacks[i]}]`;
    }
    this.writer.appendText(
      `{"type":"launch-calls","v":1,"t":${Date.now()},"pid":${p.pid},"calls":[${rows.join(',')}]}\n`,
    );
  }

  counters(p: TracedProcess, c: AgentCounters): void {
    this.writer.append({
      type: 'launch-counters',
      v: LAUNCH_RECORD_VERSION,
      t: Date.now(),
      pid: p.pid,
      counters: { ...c },
      lost: p.decoder.lost,
      abandoned: p.decoder.abandoned,
    });
  }

  processEnded(p: TracedProcess): void {
    const exit = this.exitOf(p);
    this.writer.append({
      type: 'launch-end',
      v: LAUNCH_RECORD_VERSION,
      t: Date.now(),
      pid: p.pid,
      code: exit?.code ?? null,
      signal: exit?.signal ?? null,
      status: exit?.status ?? null,
      bye: p.said,
      lost: p.decoder.lost,
      abandoned: p.decoder.abandoned,
      events: p.books.events,
    });
  }
}

/** One traced process rebuilt from a session. */
export interface RebuiltProcess {
  readonly start: LaunchRecordOf<'launch-start'>;
  readonly books: LaunchBooks;
  /** Stack id → symbolised frames, as recorded. */
  readonly names: Map<number, readonly string[]>;
  modules: LaunchRecordOf<'launch-modules'>['modules'];
  counters: LaunchRecordOf<'launch-counters'> | undefined;
  end: LaunchRecordOf<'launch-end'> | undefined;
  /** Calls applied. */
  calls: number;
  /** Problems with the records (a stack id out of order, calls of an unknown pid): counted, never thrown. */
  problems: string[];
  /** The failure events of its calls, in order. */
  readonly failures: FailureEvent[];
}

const innermostProgramFrame = (names: readonly string[] | undefined): string | undefined =>
  names?.find((n) => !/!(operator new|__libc_|_int_malloc)/.test(n)) ?? names?.[0];

/** Rebuilds each traced process's books from launch records, in file order. */
export class LaunchRebuilder {
  readonly processes = new Map<number, RebuiltProcess>();
  readonly order: RebuiltProcess[] = [];

  accept(record: { type: string } & Record<string, unknown>): boolean {
    switch (record.type) {
      case 'launch-start': {
        const r = record as unknown as LaunchRecordOf<'launch-start'>;
        const parent = r.parent === null ? undefined : this.processes.get(r.parent);
        const names = new Map<number, readonly string[]>(parent?.names ?? []);
        const callSite = (stack: number): string | undefined => innermostProgramFrame(names.get(stack));
        const books = parent
          ? parent.books.cloneFor(r.pid)
          : new LaunchBooks({
              pid: r.pid,
              pageSize: r.pageSize,
              backend: 'posix',
              sampleBytes: r.sampleBytes,
              callSite,
            });
        if (parent) books.setCallSite(callSite);
        const p: RebuiltProcess = {
          start: r,
          books,
          names,
          modules: [],
          counters: undefined,
          end: undefined,
          calls: 0,
          problems: [],
          failures: [],
        };
        books.subscribe((e) => {
          if (e.kind === 'failure') p.failures.push(e.failure);
        });
        this.processes.set(r.pid, p);
        this.order.push(p);
        return true;
      }
      case 'launch-modules': {
        const r = record as unknown as LaunchRecordOf<'launch-modules'>;
        const p = this.processes.get(r.pid);
        if (p) p.modules = r.modules;
        return true;
      }
      case 'launch-stacks': {
        const r = record as unknown as LaunchRecordOf<'launch-stacks'>;
        const p = this.processes.get(r.pid);
        if (!p) return true;
        for (const s of r.stacks) {
          const id = p.books.internFrames(s.frames);
          if (id !== s.id) p.problems.push(`stack ${s.id} rebuilt as ${id}`);
          p.names.set(id, s.names);
        }
        return true;
      }
      case 'launch-calls': {
        const r = record as unknown as LaunchRecordOf<'launch-calls'>;
        const p = this.processes.get(r.pid);
        if (!p) return true;
        for (const row of r.calls) {
          const [, op, , t, level, result, addr, size, ret, extra, flags, prot, aflags, , stack] = row;
          p.books.applyCall(op, level, result, prot, aflags, flags, addr, size, ret, extra, stack, t);
          p.calls++;
        }
        return true;
      }
      case 'launch-counters': {
        const r = record as unknown as LaunchRecordOf<'launch-counters'>;
        const p = this.processes.get(r.pid);
        if (p) {
          p.counters = r;
          const unsent: Record<number, number> = {};
          for (const [op, n] of Object.entries(r.counters.unsent)) unsent[Number(op)] = n;
          p.books.applyCounters({ ...r.counters, unsent });
        }
        return true;
      }
      case 'launch-end': {
        const r = record as unknown as LaunchRecordOf<'launch-end'>;
        const p = this.processes.get(r.pid);
        if (p) p.end = r;
        return true;
      }
      default:
        return false;
    }
  }

  /** The launched program itself: the first process that is nobody's fork. */
  get root(): RebuiltProcess | undefined {
    return this.order.find((p) => p.start.parent === null);
  }
}
