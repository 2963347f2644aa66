/**
 * Rate limiting for desktop notifications (pure; the clock is injected). Four kinds notify: AppDomain-critical
 * failures, Process-critical failures, the host entering Low memory, and the process the tray watches passing its
 * threshold. Each kind shows at most one notification
 * per interval (30 s by default); what arrives in between is counted, and the next notification of that kind says
 * how many were held back. `due()` releases a held-back summary once its interval has passed even if nothing new
 * arrives (the shell calls it at `nextDueAt()`), so a burst is never silently forgotten.
 */
import type { FailureGroup, HostMethod, MemoryAvailable } from '../host/types';

export type NotifyKind = 'eAppDomainCritical' | 'eProcessCritical' | 'low-memory' | 'process-threshold';
export const NOTIFY_KINDS: readonly NotifyKind[] = [
  'eAppDomainCritical',
  'eProcessCritical',
  'low-memory',
  'process-threshold',
];

/** What a failure notification needs (a host FailureEvent or a telemetry FailureRow both fit). */
export interface NotifiableFailure {
  readonly level: FailureGroup;
  readonly method: HostMethod;
  readonly hr: number;
  readonly size: number;
}

export interface ThrottledNotification {
  readonly kind: NotifyKind;
  /** When it was let through (the injected clock). */
  readonly time: number;
  /** The failure it reports (the latest held back one, for a summary); absent for low-memory. */
  readonly failure?: NotifiableFailure;
  /** Events of this kind held back since the previous notification and not shown individually. */
  readonly suppressed: number;
}

export interface ThrottleOptions {
  /** Minimum time between two notifications of one kind, ms (default 30 000). */
  readonly intervalMs?: number;
  readonly now?: () => number;
}

interface KindState {
  lastShown: number | null;
  /** Held back since lastShown. */
  held: number;
  latest: NotifiableFailure | undefined;
}

export function notifyKindOfFailure(level: FailureGroup): NotifyKind | null {
  return level === 'eAppDomainCritical' || level === 'eProcessCritical' ? level : null;
}

export class NotificationThrottle {
  readonly intervalMs: number;
  private readonly now: () => number;
  private readonly kinds = new Map<NotifyKind, KindState>();
  private memory: MemoryAvailable | null = null;

  constructor(options: ThrottleOptions = {}) {
    const interval = options.intervalMs ?? 30_000;
    if (!Number.isFinite(interval) || interval < 0) throw new RangeError(`intervalMs ${interval} is not a duration`);
    this.intervalMs = interval;
    this.now = options.now ?? Date.now;
    for (const kind of NOTIFY_KINDS) this.kinds.set(kind, { lastShown: null, held: 0, latest: undefined });
  }

  /** A failure happened: a notification to show now, or null (not a notifying level, or held back). */
  failure(failure: NotifiableFailure): ThrottledNotification | null {
    const kind = notifyKindOfFailure(failure.level);
    return kind ? this.offer(kind, failure) : null;
  }

  /** The notification state changed: entering Low notifies (staying Low, or any other state, does not). */
  memoryAvailable(next: MemoryAvailable): ThrottledNotification | null {
    const previous = this.memory;
    this.memory = next;
    if (next !== 1 || previous === 1) return null;
    return this.offer('low-memory', undefined);
  }

  /** The watched process crossed its threshold (tray-process.ts decides when): shown now, or held back. */
  processThreshold(): ThrottledNotification | null {
    return this.offer('process-threshold', undefined);
  }

  /** Summaries of held-back events whose interval has passed; each resets its kind's interval. */
  due(): ThrottledNotification[] {
    const now = this.now();
    const out: ThrottledNotification[] = [];
    for (const kind of NOTIFY_KINDS) {
      const s = this.state(kind);
      if (s.held === 0 || !this.elapsed(s, now)) continue;
      // The latest held-back event is the one shown; the others are counted.
      out.push(this.show(kind, s, now, s.latest, s.held - 1));
    }
    return out;
  }

  /** When `due()` will next have something to release (ms, the injected clock's time), or null. */
  nextDueAt(): number | null {
    let next: number | null = null;
    for (const kind of NOTIFY_KINDS) {
      const s = this.state(kind);
      if (s.held === 0 || s.lastShown === null) continue;
      const at = s.lastShown + this.intervalMs;
      if (next === null || at < next) next = at;
    }
    return next;
  }

  /** Held-back counts per kind (for diagnostics and tests). */
  pending(): Record<NotifyKind, number> {
    return {
      eAppDomainCritical: this.state('eAppDomainCritical').held,
      eProcessCritical: this.state('eProcessCritical').held,
      'low-memory': this.state('low-memory').held,
      'process-threshold': this.state('process-threshold').held,
    };
  }

  private offer(kind: NotifyKind, failure: NotifiableFailure | undefined): ThrottledNotification | null {
    const now = this.now();
    const s = this.state(kind);
    if (this.elapsed(s, now)) return this.show(kind, s, now, failure, s.held);
    s.held++;
    s.latest = failure;
    return null;
  }

  private show(
    kind: NotifyKind,
    s: KindState,
    now: number,
    failure: NotifiableFailure | undefined,
    suppressed: number,
  ): ThrottledNotification {
    s.lastShown = now;
    s.held = 0;
    s.latest = undefined;
    return failure ? { kind, time: now, failure, suppressed } : { kind, time: now, suppressed };
  }

  /** The interval has passed (a clock that went backwards counts as passed rather than muting for ever). */
  private elapsed(s: KindState, now: number): boolean {
    return s.lastShown === null || now < s.lastShown || now - s.lastShown >= this.intervalMs;
  }

  private state(kind: NotifyKind): KindState {
    const s = this.kinds.get(kind);
    if (!s) throw new Error(`unknown notification kind ${kind}`);
    return s;
  }
}
