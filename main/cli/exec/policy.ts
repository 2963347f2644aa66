/**
 * The policy object (exec-protocol.md, "Policy object"), as written in a SetPolicy request or a `--policy` file,
 * turned into the host's `HostPolicy`. Sizes take strings like "64MiB"; a missing field takes its default from
 * `DEFAULT_POLICY` (not from the policy in force): a policy object always says the whole policy.
 */
import { z } from 'zod';
import {
  DEFAULT_POLICY,
  LEVELS,
  MAX_TIMER_MS,
  type FaultRule,
  type HostMethod,
  type HostPolicy,
  type LevelName,
} from '../../host/types';
import { field, formatIssues } from './fields';
import { describeValue, invalid, parsed, type Parsed } from './parsed';
import { parseSize } from './values';

/** Host methods a fault may name (`op`). */
/** The calls a fault can hit: the ones that allocate (a fault is an allocation failure). */
export const FAULT_OPS: readonly HostMethod[] = ['VirtualAlloc', 'Alloc', 'DebugAlloc'];

/** A limit: a size > 0, or null for none. */
function limit(value: unknown): Parsed<number | null> {
  if (value === null) return parsed(null);
  const size = parseSize(value);
  if (size.ok && size.value === 0) return invalid('expected a limit > 0, or null for no limit; got 0');
  return size;
}

function fraction(value: unknown): Parsed<number> {
  if (typeof value === 'number' && Number.isFinite(value) && value > 0 && value <= 1) return parsed(value);
  return invalid(`expected a fraction of the commit limit, in (0, 1], got ${describeValue(value)}`);
}

function levelName(value: unknown): Parsed<LevelName> {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < LEVELS.length) {
    return parsed(LEVELS[value] as LevelName);
  }
  if (typeof value === 'string' && (LEVELS as readonly string[]).includes(value)) return parsed(value as LevelName);
  return invalid(`expected a level (${LEVELS.join(', ')}, or 0, 1, 2), got ${describeValue(value)}`);
}

function faultOp(value: unknown): Parsed<HostMethod> {
  if (typeof value === 'string' && (FAULT_OPS as readonly string[]).includes(value)) return parsed(value as HostMethod);
  return invalid(`expected an allocating method (${FAULT_OPS.join(', ')}), got ${describeValue(value)}`);
}

function probability(value: unknown): Parsed<number> {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 1) return parsed(value);
  return invalid(`expected a probability 0..1, got ${describeValue(value)}`);
}

function positiveInteger(value: unknown): Parsed<number> {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 1) return parsed(value);
  return invalid(`expected an integer >= 1, got ${describeValue(value)}`);
}

function milliseconds(value: unknown): Parsed<number> {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= MAX_TIMER_MS) return parsed(value);
  return invalid(`expected milliseconds (a number from 0 to ${MAX_TIMER_MS}), got ${describeValue(value)}`);
}

function seed(value: unknown): Parsed<number> {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return parsed(value);
  return invalid(`expected an integer seed, got ${describeValue(value)}`);
}

const faultSchema = z
  .strictObject({
    op: field(faultOp).optional(),
    level: field(levelName).optional(),
    probability: field(probability).optional(),
    everyNth: field(positiveInteger).optional(),
    afterBytes: field(parseSize).optional(),
  })
  .refine(
    (fault) => fault.probability !== undefined || fault.everyNth !== undefined || fault.afterBytes !== undefined,
    {
      message: 'a fault needs "probability", "everyNth" or "afterBytes"',
    },
  );

/** The policy fields, shared by the `--policy` file and the SetPolicy request. */
export const POLICY_SHAPE = {
  commitLimit: field(limit).optional(),
  reserveLimit: field(limit).optional(),
  thresholds: z
    .strictObject({
      eTaskCritical: field(fraction).optional(),
      eAppDomainCritical: field(fraction).optional(),
      eProcessCritical: field(fraction).optional(),
    })
    .optional(),
  processCriticalWaitMs: field(milliseconds).optional(),
  faults: z.array(faultSchema).optional(),
  seed: field(seed).optional(),
};

const policySchema = z.strictObject(POLICY_SHAPE);

export type PolicyFields = z.output<typeof policySchema>;

/** Fill in the defaults: the result is a whole HostPolicy. */
export function toHostPolicy(fields: PolicyFields): HostPolicy {
  const thresholds = { ...DEFAULT_POLICY.thresholds };
  for (const level of LEVELS) {
    const value = fields.thresholds?.[level];
    if (value !== undefined) thresholds[level] = value;
  }
  const faults: FaultRule[] = (fields.faults ?? []).map((fault) => {
    const rule: { -readonly [K in keyof FaultRule]: FaultRule[K] } = {};
    if (fault.op !== undefined) rule.op = fault.op;
    if (fault.level !== undefined) rule.level = fault.level;
    if (fault.probability !== undefined) rule.probability = fault.probability;
    if (fault.everyNth !== undefined) rule.everyNth = fault.everyNth;
    if (fault.afterBytes !== undefined) rule.afterBytes = fault.afterBytes;
    return rule;
  });
  return {
    commitLimit: fields.commitLimit === undefined ? DEFAULT_POLICY.commitLimit : fields.commitLimit,
    reserveLimit: fields.reserveLimit === undefined ? DEFAULT_POLICY.reserveLimit : fields.reserveLimit,
    thresholds,
    processCriticalWaitMs: fields.processCriticalWaitMs ?? DEFAULT_POLICY.processCriticalWaitMs,
    faults,
    seed: fields.seed ?? DEFAULT_POLICY.seed,
  };
}

/** The field names allowed at a path of the policy object, for "unknown field" messages. */
export function policyFieldsAt(path: readonly PropertyKey[]): readonly string[] {
  if (path.length === 0) return Object.keys(POLICY_SHAPE);
  if (path[0] === 'thresholds') return [...LEVELS];
  if (path[0] === 'faults') return ['op', 'level', 'probability', 'everyNth', 'afterBytes'];
  return [];
}

/** Parse a policy object (already JSON-decoded). */
export function parsePolicy(value: unknown): Parsed<HostPolicy> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return invalid('a policy must be a JSON object');
  }
  const result = policySchema.safeParse(value);
  if (!result.success) return invalid(formatIssues(result.error.issues, policyFieldsAt));
  return parsed(toHostPolicy(result.data));
}
