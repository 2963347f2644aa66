/**
 * The policy for a launched program: hostmem's host policy (limits by critical level, the eProcessCritical wait,
 * seeded faults) plus what only a real program needs — faults and level rules that name the functions it calls
 * (`malloc`, `mmap`, …), level rules by size and by call site (module or function), a default level, and the heap
 * sampling period. It is turned into the agent's wire form here, where call-site conditions become address ranges
 * of the modules and functions loaded now (and again whenever the program loads more).
 */
import { z } from 'zod';
import { LEVELS, type HostPolicy, type LevelName } from '../host/types';
import { FAULT_KIND, HEAP_ALLOC_OPS, LEVEL_ANY, OP, OP_FUNCTION, VIRTUAL_ALLOC_OPS } from './protocol';
import type { WirePolicy } from './wire';

/** What a rule's `op` may name: a hooked function, or a host method for a whole family. */
export const FAMILY_OPS: Readonly<Record<string, readonly number[]>> = {
  VirtualAlloc: VIRTUAL_ALLOC_OPS,
  Alloc: HEAP_ALLOC_OPS,
  heap: HEAP_ALLOC_OPS,
  virtual: VIRTUAL_ALLOC_OPS,
};
const ALLOCATING_FUNCTIONS = [...VIRTUAL_ALLOC_OPS, ...HEAP_ALLOC_OPS].map((op) => OP_FUNCTION[op]!);
export const RULE_OPS: readonly string[] = [...Object.keys(FAMILY_OPS), ...ALLOCATING_FUNCTIONS];

/** Every heap sample carries the stack of one call in this many bytes allocated (per thread), like tcmalloc's. */
export const DEFAULT_SAMPLE_BYTES = 512 * 1024;

export interface LaunchFaultRule {
  readonly op?: readonly string[];
  readonly level?: LevelName;
  readonly probability?: number;
  readonly everyNth?: number;
  readonly afterBytes?: number;
}

export interface LevelRule {
  readonly op?: readonly string[];
  readonly minSize?: number;
  readonly maxSize?: number;
  /** A frame of the call's stack in this module (its file name, e.g. `libsqlite3.so.0`, or a path). */
  readonly module?: string;
  /** A frame of the call's stack in this function (its symbol name). */
  readonly function?: string;
  readonly level: LevelName;
}

export interface LaunchPolicy {
  /** Limits, thresholds, the eProcessCritical wait and the seed (its `faults` are unused: see `faults`). */
  readonly host: HostPolicy;
  readonly faults: readonly LaunchFaultRule[];
  readonly levelRules: readonly LevelRule[];
  readonly defaultLevel: LevelName;
  readonly sampleBytes: number;
  readonly followForks: boolean;
}

/** The module and function address ranges a call-site condition can name. */
export interface CallSiteIndex {
  /** [lo, hi) of each loaded module whose file name or path is `name`. */
  moduleRanges(name: string): readonly (readonly [number, number])[];
  /** [lo, hi) of each function called `name` in the loaded modules. */
  functionRanges(name: string): readonly (readonly [number, number])[];
}

function opMask(ops: readonly string[] | undefined): bigint {
  const codes = ops === undefined ? [...VIRTUAL_ALLOC_OPS, ...HEAP_ALLOC_OPS] : ops.flatMap(opCodes);
  let mask = 0n;
  for (const c of codes) mask |= 1n << BigInt(c);
  return mask;
}

function opCodes(name: string): readonly number[] {
  const family = FAMILY_OPS[name];
  if (family) return family;
  const code = Object.entries(OP_FUNCTION).find(([, f]) => f === name)?.[0];
  return code === undefined ? [] : [Number(code)];
}

const levelIndex = (l: LevelName): number => LEVELS.indexOf(l);

/** The policy as the agent applies it, with call-site conditions resolved against what is loaded now. */
export function toWire(policy: LaunchPolicy, sites: CallSiteIndex, unavailable: boolean): WirePolicy {
  const h = policy.host;
  const faults: WirePolicy['faults'][number][] = [];
  for (const f of policy.faults) {
    const base = { opMask: opMask(f.op), level: f.level === undefined ? LEVEL_ANY : levelIndex(f.level) };
    // One wire rule per condition: each counts the same matching calls, so together they fire as the one rule.
    if (f.everyNth !== undefined) faults.push({ ...base, kind: FAULT_KIND.EVERY_NTH, value: f.everyNth });
    if (f.afterBytes !== undefined) faults.push({ ...base, kind: FAULT_KIND.AFTER_BYTES, value: f.afterBytes });
    if (f.probability !== undefined) faults.push({ ...base, kind: FAULT_KIND.PROBABILITY, value: f.probability });
  }
  const levelRules = policy.levelRules.map((r) => {
    const ranges: (readonly [number, number])[] = [];
    if (r.module !== undefined) ranges.push(...sites.moduleRanges(r.module));
    if (r.function !== undefined) ranges.push(...sites.functionRanges(r.function));
    const callSite = r.module !== undefined || r.function !== undefined;
    return {
      opMask: opMask(r.op),
      minSize: r.minSize ?? 0,
      maxSize: r.maxSize ?? 0,
      // A call-site condition that names nothing loaded (yet) matches no call: an empty range, not "any".
      ranges: callSite && ranges.length === 0 ? [[0, 0] as const] : ranges,
      level: levelIndex(r.level),
    };
  });
  return {
    commitLimit: h.commitLimit,
    reserveLimit: h.reserveLimit,
    thresholdPermille: [
      Math.round(h.thresholds.eTaskCritical * 1000),
      Math.round(h.thresholds.eAppDomainCritical * 1000),
      Math.round(h.thresholds.eProcessCritical * 1000),
    ],
    processCriticalWaitMs: h.processCriticalWaitMs,
    seed: h.seed,
    sampleBytes: policy.sampleBytes,
    unavailable,
    followForks: policy.followForks,
    // With sampling, heap calls that carry no stack are counted in the agent, not sent: a malloc-heavy program runs
    // at the agent's speed, not at the speed hostmem reads events (docs/spec/agent-protocol.md, "Events").
    sampledHeap: policy.sampleBytes > 0,
    defaultLevel: levelIndex(policy.defaultLevel),
    faults,
    levelRules,
  };
}

/** The host-policy view of a launch policy (its faults by host method), for the books, sessions and reports. */
export function hostView(policy: LaunchPolicy): HostPolicy {
  return {
    ...policy.host,
    faults: policy.faults.map((f) => {
      const families = new Set(
        (f.op ?? []).map((o) => (opCodes(o).some((c) => HEAP_ALLOC_OPS.includes(c)) ? 'Alloc' : 'VirtualAlloc')),
      );
      const op = families.size === 1 ? ([...families][0] as 'Alloc' | 'VirtualAlloc') : undefined;
      return {
        ...(op ? { op } : {}),
        ...(f.level ? { level: f.level } : {}),
        ...(f.probability !== undefined ? { probability: f.probability } : {}),
        ...(f.everyNth !== undefined ? { everyNth: f.everyNth } : {}),
        ...(f.afterBytes !== undefined ? { afterBytes: f.afterBytes } : {}),
      };
    }),
  };
}

// ------------------------------------------------------------------------------------------------ parsing

/** A size parser (the CLI's: "64MiB", 65536), given by the caller so that every command parses sizes one way. */
export type SizeParser = (value: unknown) => { ok: true; value: number } | { ok: false; error: string };

const opList = z
  .union([z.string(), z.array(z.string()).min(1)])
  .transform((v) => (typeof v === 'string' ? [v] : v))
  .refine((ops) => ops.every((o) => RULE_OPS.includes(o)), {
    message: `op must name allocating calls: ${RULE_OPS.join(', ')}`,
  });
const level = z
  .union([z.enum(LEVELS), z.literal(0), z.literal(1), z.literal(2)])
  .transform((v) => (typeof v === 'number' ? LEVELS[v]! : v));

function rulesSchema(size: SizeParser) {
  const bytes = z.union([z.number(), z.string()]).transform((v, ctx) => {
    const r = size(v);
    if (!r.ok) {
      ctx.addIssue({ code: 'custom', message: r.error });
      return z.NEVER;
    }
    return r.value;
  });
  const fault = z
    .strictObject({
      op: opList.optional(),
      level: level.optional(),
      probability: z.number().min(0).max(1).optional(),
      everyNth: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
      afterBytes: bytes.optional(),
    })
    .refine((f) => f.probability !== undefined || f.everyNth !== undefined || f.afterBytes !== undefined, {
      message: 'a fault needs probability, everyNth or afterBytes',
    });
  const levelRule = z
    .strictObject({
      op: opList.optional(),
      minSize: bytes.optional(),
      maxSize: bytes.optional(),
      module: z.string().min(1).max(4096).optional(),
      function: z.string().min(1).max(4096).optional(),
      level,
    })
    .refine((r) => r.minSize === undefined || r.maxSize === undefined || r.minSize <= r.maxSize, {
      message: 'minSize must not be above maxSize',
    });
  return { fault, levelRule, bytes };
}

export interface LaunchRulesInput {
  readonly faults?: unknown;
  readonly levelRules?: unknown;
  readonly defaultLevel?: unknown;
  readonly sampleBytes?: unknown;
}

export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

function problem(error: z.ZodError, where: string): string {
  const issue = error.issues[0];
  const path = [where, ...(issue?.path ?? []).map(String)].filter((p) => p !== '').join('.');
  return `${path}: ${issue?.message ?? 'invalid'}`;
}

/** The launch-only parts of a policy file (faults that name functions, level rules, default level, sampling). */
export function parseLaunchRules(
  input: LaunchRulesInput,
  size: SizeParser,
): Checked<Pick<LaunchPolicy, 'faults' | 'levelRules'> & Partial<Pick<LaunchPolicy, 'defaultLevel' | 'sampleBytes'>>> {
  const s = rulesSchema(size);
  const faults = z.array(s.fault).max(256).optional().safeParse(input.faults);
  if (!faults.success) return { ok: false, error: problem(faults.error, 'faults') };
  const rules = z.array(s.levelRule).max(256).optional().safeParse(input.levelRules);
  if (!rules.success) return { ok: false, error: problem(rules.error, 'levelRules') };
  const def = level.optional().safeParse(input.defaultLevel);
  if (!def.success) return { ok: false, error: problem(def.error, 'defaultLevel') };
  const sample = s.bytes.optional().safeParse(input.sampleBytes);
  if (!sample.success) return { ok: false, error: problem(sample.error, 'sampleBytes') };
  return {
    ok: true,
    value: {
      faults: faults.data ?? [],
      levelRules: rules.data ?? [],
      ...(def.data !== undefined ? { defaultLevel: def.data } : {}),
      ...(sample.data !== undefined ? { sampleBytes: sample.data } : {}),
    },
  };
}

/**
 * A fault rule as `--fault` writes it: `key=value` pairs separated by commas, the keys of a policy file's fault
 * (`op`, `level`, `probability`, `everyNth`, `afterBytes`); `op` may list several calls with `+`.
 * E.g. `op=malloc+calloc,level=eTaskCritical,everyNth=100` or `op=mmap,afterBytes=64MiB`.
 */
export function parseFaultText(text: string, size: SizeParser): Checked<LaunchFaultRule> {
  const fields: Record<string, unknown> = {};
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return { ok: false, error: `"${part.slice(0, 200)}" is not key=value` };
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key in fields) return { ok: false, error: `${key} given twice` };
    if (key === 'op') fields.op = value.split('+');
    else if (key === 'probability' || key === 'everyNth') {
      const n = Number(value);
      fields[key] = value === '' || !Number.isFinite(n) ? value : n;
    } else if (key === 'level') fields.level = /^\d$/.test(value) ? Number(value) : value;
    else fields[key] = value;
  }
  const parsed = parseLaunchRules({ faults: [fields] }, size);
  if (!parsed.ok) return { ok: false, error: parsed.error.replace(/^faults\.0\.?/, '').replace(/^: /, '') };
  return { ok: true, value: parsed.value.faults[0]! };
}

export { OP };
