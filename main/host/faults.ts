/**
 * Seeded fault injection: each rule matches calls by method and level and fires by probability, on every Nth
 * matching call, or once matching calls have asked for more than a byte budget. Same seed and same calls,
 * same faults.
 */
import { seededRandom } from './random';
import { MAX_TIMER_MS, type FaultRule, type HostMethod, type HostPolicy, type LevelName } from './types';

/** Methods a fault may hit when a rule names none: the ones that allocate. */
const ALLOCATING: ReadonlySet<HostMethod> = new Set<HostMethod>(['VirtualAlloc', 'Alloc', 'DebugAlloc']);

interface RuleState {
  readonly rule: FaultRule;
  calls: number;
  bytes: number;
}

export class FaultInjector {
  private readonly rules: RuleState[];
  private readonly random: () => number;

  constructor(policy: HostPolicy) {
    this.rules = policy.faults.map((rule) => ({ rule, calls: 0, bytes: 0 }));
    this.random = seededRandom(policy.seed);
  }

  get empty(): boolean {
    return this.rules.length === 0;
  }

  /** True when a fault fires for this call. Every matching rule counts the call, fired or not. */
  fires(method: HostMethod, level: LevelName | undefined, size: number): boolean {
    let fired = false;
    for (const s of this.rules) {
      const r = s.rule;
      if (r.op !== undefined ? r.op !== method : !ALLOCATING.has(method)) continue;
      if (r.level !== undefined && r.level !== level) continue;
      s.calls++;
      s.bytes += size;
      if (r.everyNth !== undefined && s.calls % r.everyNth === 0) fired = true;
      if (r.afterBytes !== undefined && s.bytes > r.afterBytes) fired = true;
      // Draw only for probability rules, so adding a counting rule does not shift the random sequence.
      if (r.probability !== undefined && this.random() < r.probability) fired = true;
    }
    return fired;
  }
}

/** Why a policy cannot be used, or undefined when it can. */
export function policyProblem(p: HostPolicy): string | undefined {
  const size = (v: number | null, name: string): string | undefined =>
    v === null || (Number.isSafeInteger(v) && v > 0) ? undefined : `${name} must be a positive byte count`;
  const problem = size(p.commitLimit, 'commitLimit') ?? size(p.reserveLimit, 'reserveLimit');
  if (problem) return problem;
  for (const [level, t] of Object.entries(p.thresholds)) {
    if (!(typeof t === 'number' && t > 0 && t <= 1)) return `thresholds.${level} must be in (0, 1]`;
  }
  if (!(Number.isFinite(p.processCriticalWaitMs) && p.processCriticalWaitMs >= 0)) {
    return 'processCriticalWaitMs must be a non-negative number';
  }
  if (p.processCriticalWaitMs > MAX_TIMER_MS) return `processCriticalWaitMs must be at most ${MAX_TIMER_MS} ms`;
  if (!Number.isSafeInteger(p.seed)) return 'seed must be an integer';
  for (const [i, f] of p.faults.entries()) {
    if (f.op !== undefined && !ALLOCATING.has(f.op)) {
      return `faults[${i}].op must be an allocating call (${[...ALLOCATING].join(', ')})`;
    }
    if (f.probability === undefined && f.everyNth === undefined && f.afterBytes === undefined) {
      return `faults[${i}] needs probability, everyNth or afterBytes`;
    }
    if (f.probability !== undefined && !(f.probability >= 0 && f.probability <= 1)) {
      return `faults[${i}].probability must be in [0, 1]`;
    }
    if (f.everyNth !== undefined && !(Number.isSafeInteger(f.everyNth) && f.everyNth > 0)) {
      return `faults[${i}].everyNth must be a positive integer`;
    }
    if (f.afterBytes !== undefined && !(Number.isSafeInteger(f.afterBytes) && f.afterBytes >= 0)) {
      return `faults[${i}].afterBytes must be a non-negative integer`;
    }
  }
  return undefined;
}
