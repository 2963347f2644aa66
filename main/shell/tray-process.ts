/**
 * The tray watching one process, as plain data (no Electron): the tooltip line with its committed bytes, the host
 * tooltip with that line fitted into Windows' 127 characters, when a user-set threshold is crossed (with hysteresis,
 * so a process hovering at the threshold does not notify on every walk; the notification throttle then limits what
 * is shown), and the notification's words in en, fr and zh-CN.
 */
import type { LeakSignal } from '../inspect/growth';
import type { Language } from '../vocabulary';
import { formatBytes, resolveLocale, TOOLTIP_MAX, truncate } from './tray-model';

/** The process the tray watches: its last walk's committed bytes (null before the first walk or once unreadable). */
export interface TrayProcess {
  readonly pid: number;
  readonly name: string;
  readonly committed: number | null;
  /** The watch ended: the process exited, or reading it was refused. */
  readonly ended: 'exited' | 'access-denied' | 'failed' | null;
}

interface Labels {
  readonly committed: string;
  readonly exited: string;
  readonly denied: string;
  readonly failed: string;
  readonly waiting: string;
  readonly title: (name: string, threshold: string) => string;
  readonly body: (committed: string, threshold: string) => string;
  readonly more: (count: number) => string;
  /** The leak signal: "grows 12 MiB/min; reaches 2 GiB in ~40 min". */
  readonly grows: (perMinute: string, reaches: string | null, eta: string | null) => string;
  readonly eta: (minutes: number) => string;
}

const LABELS: Readonly<Record<Language, Labels>> = {
  en: {
    committed: 'committed',
    exited: 'exited',
    denied: 'access denied',
    failed: 'cannot be read',
    waiting: 'reading…',
    title: (name, threshold) => `${name} passed ${threshold} committed`,
    body: (committed, threshold) => `Committed: ${committed} (threshold ${threshold})`,
    more: (count) => `${count} more crossing${count === 1 ? '' : 's'} since the last notification`,
    grows: (rate, reaches, eta) => `grows ${rate}/min${reaches && eta ? `; reaches ${reaches} in ${eta}` : ''}`,
    eta: (m) => (m < 1 ? 'under a minute' : m < 120 ? `~${Math.round(m)} min` : `~${Math.round(m / 60)} h`),
  },
  fr: {
    committed: 'engagés',
    exited: 'terminé',
    denied: 'accès refusé',
    failed: 'illisible',
    waiting: 'lecture…',
    title: (name, threshold) => `${name} dépasse ${threshold} engagés`,
    body: (committed, threshold) => `Engagé : ${committed} (seuil ${threshold})`,
    more: (count) => `${count} dépassement${count === 1 ? '' : 's'} de plus depuis la dernière alerte`,
    grows: (rate, reaches, eta) => `croît de ${rate}/min${reaches && eta ? ` ; atteint ${reaches} dans ${eta}` : ''}`,
    eta: (m) => (m < 1 ? 'moins d’une minute' : m < 120 ? `~${Math.round(m)} min` : `~${Math.round(m / 60)} h`),
  },
  'zh-CN': {
    committed: '已提交',
    exited: '已退出',
    denied: '拒绝访问',
    failed: '无法读取',
    waiting: '读取中…',
    title: (name, threshold) => `${name} 已提交超过 ${threshold}`,
    body: (committed, threshold) => `已提交：${committed}（阈值 ${threshold}）`,
    more: (count) => `自上次通知以来另有 ${count} 次超过阈值`,
    grows: (rate, reaches, eta) => `每分钟增长 ${rate}${reaches && eta ? `；约 ${eta}后达到 ${reaches}` : ''}`,
    eta: (m) => (m < 1 ? '不到一分钟' : m < 120 ? `${Math.round(m)} 分钟` : `${Math.round(m / 60)} 小时`),
  },
};

/** 'node (4242): 1.5 GiB committed', 'node (4242): exited'; the name is cut so the line stays ≤ 60 characters. */
export function processTooltipLine(p: TrayProcess, locale?: string): string {
  const loc = resolveLocale(locale);
  const L = LABELS[loc];
  const state =
    p.ended === 'exited'
      ? L.exited
      : p.ended === 'access-denied'
        ? L.denied
        : p.ended === 'failed'
          ? L.failed
          : p.committed === null
            ? L.waiting
            : `${formatBytes(p.committed, loc)} ${L.committed}`;
  const tail = ` (${p.pid}): ${state}`;
  return `${truncate(p.name, Math.max(4, 60 - tail.length))}${tail}`;
}

/**
 * The host's tooltip with the process line as its second line (after the head), within 127 UTF-16 units: the host's
 * last lines give way first, then the process line is cut.
 */
export function trayTooltipWithProcess(hostTooltip: string, p: TrayProcess | null, locale?: string): string {
  if (p === null) return hostTooltip;
  const line = processTooltipLine(p, locale);
  const [head, ...rest] = hostTooltip.split('\n');
  for (let keep = rest.length; keep >= 0; keep--) {
    const text = [head, line, ...rest.slice(0, keep)].join('\n');
    if (text.length <= TOOLTIP_MAX) return text;
  }
  return truncate(`${head}\n${line}`, TOOLTIP_MAX);
}

/**
 * Crossing detection with hysteresis: `update` answers true when committed bytes go above the threshold (the
 * first walk above it included); it re-arms only once they fall below `rearm` × threshold (90 %), so a process
 * wavering around the threshold notifies once per real crossing.
 */
export class ThresholdWatch {
  private armed = true;

  constructor(
    readonly threshold: number,
    readonly rearm = 0.9,
  ) {
    if (!(threshold > 0) || !Number.isFinite(threshold)) throw new RangeError(`threshold ${threshold} is not > 0`);
    if (!(rearm > 0 && rearm <= 1)) throw new RangeError(`rearm ${rearm} is not in (0, 1]`);
  }

  /** A walk's committed bytes; true when this walk crossed the threshold upwards. */
  update(committed: number): boolean {
    if (committed > this.threshold) {
      if (!this.armed) return false;
      this.armed = false;
      return true;
    }
    if (committed < this.threshold * this.rearm) this.armed = true;
    return false;
  }

  /** Above the threshold now (not re-armed yet). */
  get above(): boolean {
    return !this.armed;
  }
}

/**
 * The notification of a crossing (`suppressed`: crossings the throttle held back since the previous one), with the
 * leak signal when the watch has one: how fast committed bytes grow, and when they reach the limit at that pace.
 */
export function processThresholdText(
  p: { readonly name: string; readonly pid: number; readonly committed: number },
  threshold: number,
  suppressed: number,
  locale?: string,
  growth?: LeakSignal | null,
): { title: string; body: string } {
  const loc = resolveLocale(locale);
  const L = LABELS[loc];
  const t = formatBytes(threshold, loc);
  let body = L.body(formatBytes(p.committed, loc), t);
  if (growth && growth.total.committed > 0) {
    const eta = growth.projection?.etaMs;
    body += `\n${L.grows(
      formatBytes(growth.total.committed * 60, loc),
      growth.projection ? formatBytes(growth.projection.limit.bytes, loc) : null,
      eta === undefined || eta === null ? null : L.eta(eta / 60_000),
    )}`;
  }
  return {
    title: L.title(`${p.name} (${p.pid})`, t),
    body: suppressed > 0 ? `${body}\n${L.more(suppressed)}` : body,
  };
}
