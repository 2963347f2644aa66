/**
 * What the tray shows, as plain data (no Electron here): the tooltip text, the context menu as a template the shell
 * hands to Menu.buildFromTemplate (after attaching click handlers by `id`), the gauge's ratio, and the text of
 * desktop notifications. Labels in en, fr and zh-CN.
 */
import { hresultName } from '../host/hresult';
import type { FailureGroup, HostMethod, HostPolicy, HostStats, MemoryAvailable } from '../host/types';
import type { Language } from '../vocabulary';
import type { ThrottledNotification } from './throttle';

/** Windows keeps 127 UTF-16 units of a tray tooltip (NOTIFYICONDATA.szTip is 128 WCHARs with the terminator). */
export const TOOLTIP_MAX = 127;

interface Labels {
  readonly app: string;
  readonly unavailable: string;
  readonly memory: Readonly<Record<MemoryAvailable, string>>;
  readonly committed: string;
  readonly reserved: string;
  readonly noLimit: string;
  readonly failures: string;
  readonly noFailures: string;
  readonly levels: Readonly<Record<FailureGroup, string>>;
  /** Short level names for a tooltip that would not fit otherwise. */
  readonly levelsShort: Readonly<Record<FailureGroup, string>>;
  readonly open: string;
  readonly pause: string;
  readonly resume: string;
  readonly exportReport: string;
  readonly recentFailures: string;
  readonly startAtLogin: string;
  readonly quit: string;
  readonly notifyFailureTitle: (level: string) => string;
  readonly notifyLowTitle: string;
  readonly notifyLowBody: string;
  readonly more: (count: string, what: string) => string;
  readonly moreFailures: (level: string) => string;
  readonly moreLow: string;
  readonly colon: string;
}

const LABELS: Readonly<Record<Language, Labels>> = {
  en: {
    app: 'hostmem',
    unavailable: 'host unavailable',
    memory: { 1: 'memory Low', 2: 'memory Neutral', 3: 'memory High' },
    committed: 'Committed',
    reserved: 'Reserved',
    noLimit: 'no limit',
    failures: 'Failures',
    noFailures: 'none',
    levels: { eTaskCritical: 'Task', eAppDomainCritical: 'AppDomain', eProcessCritical: 'Process', other: 'Other' },
    levelsShort: { eTaskCritical: 'T', eAppDomainCritical: 'AD', eProcessCritical: 'P', other: 'O' },
    open: 'Open hostmem',
    pause: 'Pause workloads',
    resume: 'Resume workloads',
    exportReport: 'Export report…',
    recentFailures: 'Recent failures',
    startAtLogin: 'Start at login',
    quit: 'Quit',
    notifyFailureTitle: (level) => `${level}-critical allocation failure`,
    notifyLowTitle: 'Low memory',
    notifyLowBody: 'The host is short of memory (Low).',
    more: (count, what) => `${count} more ${what}`,
    moreFailures: (level) => `${level}-critical failures`,
    moreLow: 'Low memory notifications',
    colon: ': ',
  },
  fr: {
    app: 'hostmem',
    unavailable: 'hôte indisponible',
    memory: { 1: 'mémoire basse', 2: 'mémoire neutre', 3: 'mémoire haute' },
    committed: 'Engagé',
    reserved: 'Réservé',
    noLimit: 'sans limite',
    failures: 'Échecs',
    noFailures: 'aucun',
    levels: {
      eTaskCritical: 'Tâche',
      eAppDomainCritical: "Domaine d'app.",
      eProcessCritical: 'Processus',
      other: 'Autre',
    },
    levelsShort: { eTaskCritical: 'T', eAppDomainCritical: 'DA', eProcessCritical: 'P', other: 'A' },
    open: 'Ouvrir hostmem',
    pause: 'Suspendre les charges',
    resume: 'Reprendre les charges',
    exportReport: 'Exporter un rapport…',
    recentFailures: 'Échecs récents',
    startAtLogin: 'Lancer à l’ouverture de session',
    quit: 'Quitter',
    notifyFailureTitle: (level) => `Échec d’allocation critique (${level})`,
    notifyLowTitle: 'Mémoire basse',
    notifyLowBody: 'L’hôte manque de mémoire (Low).',
    more: (count, what) => `${count} de plus : ${what}`,
    moreFailures: (level) => `échecs critiques (${level})`,
    moreLow: 'alertes de mémoire basse',
    colon: ' : ',
  },
  'zh-CN': {
    app: 'hostmem',
    unavailable: '宿主不可用',
    memory: { 1: '内存低', 2: '内存中', 3: '内存高' },
    committed: '已提交',
    reserved: '已保留',
    noLimit: '无上限',
    failures: '失败',
    noFailures: '无',
    levels: { eTaskCritical: '任务', eAppDomainCritical: '应用程序域', eProcessCritical: '进程', other: '其他' },
    levelsShort: { eTaskCritical: '任', eAppDomainCritical: '域', eProcessCritical: '进', other: '他' },
    open: '打开 hostmem',
    pause: '暂停工作负载',
    resume: '恢复工作负载',
    exportReport: '导出报告…',
    recentFailures: '最近的失败',
    startAtLogin: '登录时启动',
    quit: '退出',
    notifyFailureTitle: (level) => `${level}关键级分配失败`,
    notifyLowTitle: '内存不足',
    notifyLowBody: '宿主内存不足（Low）。',
    more: (count, what) => `另有 ${count} 条${what}`,
    moreFailures: (level) => `${level}关键级失败`,
    moreLow: '内存不足通知',
    colon: '：',
  },
};

/** The supported locale for a tag: 'fr-CA' → 'fr', 'zh', 'zh-Hans-CN' → 'zh-CN', anything else → 'en'. */
export function resolveLocale(locale: string | undefined): Language {
  const tag = (locale ?? 'en').toLowerCase();
  if (tag === 'fr' || tag.startsWith('fr-')) return 'fr';
  if (tag === 'zh' || tag.startsWith('zh-')) return 'zh-CN';
  return 'en';
}

// ---- numbers ---------------------------------------------------------------------------------------------------

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'] as const;

/**
 * Binary units, at most three significant digits: '0 B', '512 KiB', '1.5 GiB', '12.3 TiB'; '?' for a value that is
 * not a number or infinite, '>1023 YiB' past the last unit.
 */
export function formatBytes(bytes: number, locale: Language): string {
  if (!Number.isFinite(bytes)) return '?';
  let unit = 0;
  let value = bytes > 0 ? bytes : 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  if (value >= 1024) return `>1023 ${UNITS[UNITS.length - 1]}`;
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  const text = new Intl.NumberFormat(locale, { maximumFractionDigits: digits, useGrouping: false }).format(value);
  return `${text} ${UNITS[unit]}`;
}

/** A count: plain up to 9 999, compact beyond ('12K', '3.4M' / '1.2万'), '≥1e15' past that. */
export function formatCount(count: number, locale: Language): string {
  const n = Number.isFinite(count) && count > 0 ? Math.floor(count) : 0;
  if (n < 10_000) return String(n);
  if (n >= 1e15) return '≥1e15';
  return new Intl.NumberFormat(locale, { notation: 'compact', maximumFractionDigits: 1 }).format(n);
}

/**
 * What the gauge shows, 0..1: committed / commit limit when the policy sets one, else the OS memory load (percent,
 * null when unknown → 0).
 */
export function gaugeRatio(
  stats: Pick<HostStats, 'committed'>,
  policy: Pick<HostPolicy, 'commitLimit'>,
  osLoad: number | null,
): number {
  const limit = policy.commitLimit;
  const raw = limit !== null && limit > 0 ? stats.committed / limit : (osLoad ?? 0) / 100;
  return Number.isFinite(raw) ? Math.min(1, Math.max(0, raw)) : 0;
}

// ---- tooltip ---------------------------------------------------------------------------------------------------

const GROUPS: readonly FailureGroup[] = ['eTaskCritical', 'eAppDomainCritical', 'eProcessCritical', 'other'];

/** Cut to `max` UTF-16 units with an ellipsis, never splitting a surrogate pair. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = Math.max(0, max - 1);
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return `${text.slice(0, end).trimEnd()}…`;
}

/**
 * The tray tooltip, at most 127 UTF-16 units whatever the numbers or the language:
 *
 *     hostmem · memory Low
 *     Committed 1.5 GiB / 2 GiB (75%)
 *     Reserved 3 GiB
 *     Failures: Task 3 · AppDomain 1 · Process 0 · Other 2
 *
 * An unavailable host says so on the first line. When the text is too long the failures line goes short
 * ('T 3 · AD 1 …', zero groups left out), then lines are dropped from the end, then it is cut with '…'.
 */
export function trayTooltip(
  stats: HostStats,
  policy: Pick<HostPolicy, 'commitLimit'>,
  memoryAvailable: MemoryAvailable,
  locale?: string,
): string {
  const loc = resolveLocale(locale);
  const L = LABELS[loc];
  const head = `${L.app} · ${stats.state === 'unavailable' ? L.unavailable : L.memory[memoryAvailable]}`;
  const limit = policy.commitLimit;
  const committed =
    limit !== null && limit > 0
      ? `${L.committed} ${formatBytes(stats.committed, loc)} / ${formatBytes(limit, loc)} (${formatPercent(stats.committed / limit)})`
      : `${L.committed} ${formatBytes(stats.committed, loc)} (${L.noLimit})`;
  const reserved = `${L.reserved} ${formatBytes(stats.reserved, loc)}`;
  const total = GROUPS.reduce((n, g) => n + (stats.failures[g] > 0 ? stats.failures[g] : 0), 0);
  const failureLine = (names: Readonly<Record<FailureGroup, string>>, skipZero: boolean): string => {
    if (total === 0) return `${L.failures}${L.colon}${L.noFailures}`;
    const parts = GROUPS.filter((g) => !skipZero || stats.failures[g] > 0).map(
      (g) => `${names[g]} ${formatCount(stats.failures[g], loc)}`,
    );
    return `${L.failures}${L.colon}${parts.join(' · ')}`;
  };

  const candidates: string[][] = [
    [head, committed, reserved, failureLine(L.levels, false)],
    [head, committed, reserved, failureLine(L.levels, true)],
    [head, committed, reserved, failureLine(L.levelsShort, true)],
    [head, committed, failureLine(L.levelsShort, true)],
    [head, committed],
  ];
  for (const lines of candidates) {
    const text = lines.join('\n');
    if (text.length <= TOOLTIP_MAX) return text;
  }
  return truncate([head, committed].join('\n'), TOOLTIP_MAX);
}

function formatPercent(ratio: number): string {
  if (Number.isNaN(ratio)) return '?';
  if (ratio <= 0) return '0%';
  const p = ratio * 100;
  if (p >= 10_000) return '>9999%'; // Infinity included
  return `${p < 10 ? p.toFixed(1).replace(/\.0$/, '') : Math.round(p)}%`;
}

// ---- menu ------------------------------------------------------------------------------------------------------

/** A menu item as plain data; the shell attaches a click handler per `id`. */
export interface MenuItemSpec {
  readonly id?: string;
  readonly label?: string;
  readonly type: 'normal' | 'checkbox' | 'separator' | 'submenu';
  readonly checked?: boolean;
  readonly enabled?: boolean;
  readonly submenu?: readonly MenuItemSpec[];
}

/** The ids the shell handles; a recent failure's item is `failure:<seq>`. */
export const MENU_IDS = {
  open: 'open',
  pause: 'pause-workloads',
  resume: 'resume-workloads',
  exportReport: 'export-report',
  recentFailures: 'recent-failures',
  startAtLogin: 'start-at-login',
  quit: 'quit',
} as const;

/** What a recent-failure item needs (a FailureEvent or a telemetry FailureRow both fit). */
export interface RecentFailure {
  readonly seq: number;
  /** ms since the epoch. */
  readonly time: number;
  readonly method: HostMethod;
  readonly hr: number;
  readonly level: FailureGroup;
}

export interface TrayMenuModel {
  readonly locale?: string;
  /** Workloads paused: the item offers Resume; running: Pause. */
  readonly paused: boolean;
  readonly startAtLogin: boolean;
  /** Failures, in any order; the newest `maxRecent` are listed, newest first. */
  readonly recentFailures: readonly RecentFailure[];
  /** Default 10. */
  readonly maxRecent?: number;
  /** IANA zone for the failure times (the tests pin 'UTC'); the system's by default. */
  readonly timeZone?: string;
}

/** 'HH:MM:SS · VirtualAlloc · E_OUTOFMEMORY · AppDomain'. */
export function failureLabel(failure: RecentFailure, locale: Language, timeZone?: string): string {
  const time = new Intl.DateTimeFormat('en-GB', {
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
    ...(timeZone ? { timeZone } : {}),
  }).format(new Date(failure.time));
  return [time, failure.method, hresultName(failure.hr), LABELS[locale].levels[failure.level]].join(' · ');
}

export function trayMenu(model: TrayMenuModel): MenuItemSpec[] {
  const loc = resolveLocale(model.locale);
  const L = LABELS[loc];
  const max = Math.max(0, Math.floor(model.maxRecent ?? 10));
  const recent = [...model.recentFailures].sort((a, b) => b.time - a.time || b.seq - a.seq).slice(0, max);
  const separator: MenuItemSpec = { type: 'separator' };
  return [
    { id: MENU_IDS.open, label: L.open, type: 'normal', enabled: true },
    model.paused
      ? { id: MENU_IDS.resume, label: L.resume, type: 'normal', enabled: true }
      : { id: MENU_IDS.pause, label: L.pause, type: 'normal', enabled: true },
    { id: MENU_IDS.exportReport, label: L.exportReport, type: 'normal', enabled: true },
    separator,
    {
      id: MENU_IDS.recentFailures,
      label: L.recentFailures,
      type: 'submenu',
      enabled: recent.length > 0,
      submenu: recent.map((f) => ({
        id: `failure:${f.seq}`,
        label: failureLabel(f, loc, model.timeZone),
        type: 'normal' as const,
        enabled: true,
      })),
    },
    separator,
    { id: MENU_IDS.startAtLogin, label: L.startAtLogin, type: 'checkbox', checked: model.startAtLogin, enabled: true },
    separator,
    { id: MENU_IDS.quit, label: L.quit, type: 'normal', enabled: true },
  ];
}

// ---- notifications ---------------------------------------------------------------------------------------------

export interface NotificationText {
  readonly title: string;
  readonly body: string;
}

/**
 * The text of a desktop notification the throttle let through: what happened, and how many of the same kind were
 * held back since the last one ('3 more AppDomain-critical failures'). A watched process passing its threshold is
 * worded by tray-process.ts (`processThresholdText`, which knows the process): pass its text as `processText`.
 */
export function notificationText(
  n: ThrottledNotification,
  locale?: string,
  processText?: NotificationText,
): NotificationText {
  const loc = resolveLocale(locale);
  const L = LABELS[loc];
  if (n.kind === 'process-threshold') return processText ?? { title: L.app, body: '' };
  let title: string;
  let body: string;
  let what: string;
  if (n.kind === 'low-memory') {
    title = L.notifyLowTitle;
    body = L.notifyLowBody;
    what = L.moreLow;
  } else {
    const shown = L.levels[n.kind];
    title = L.notifyFailureTitle(shown);
    body = n.failure
      ? `${n.failure.method} · ${hresultName(n.failure.hr)}${n.failure.size > 0 ? ` · ${formatBytes(n.failure.size, loc)}` : ''}`
      : '';
    what = L.moreFailures(shown);
  }
  if (n.suppressed > 0) {
    const more = L.more(formatCount(n.suppressed, loc), what);
    body = body ? `${body}\n${more}` : more;
  }
  return { title, body };
}
