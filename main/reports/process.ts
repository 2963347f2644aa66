/**
 * Reports of a watched process: the summary by type, the committed / reserved / resident chart, the largest regions
 * and the diff of the first and last walks, in the same four formats as the host's reports (HTML, CSV, JSON, PDF)
 * and the same JSON schema (`hostmem.report/1`, its versioned `process` section: docs/report-schema.md).
 *
 * Built from a live watch (the service's, for Export… in the Processes view) or from a recorded watch (a session
 * with `process-walk` / `process-delta` / `process-exit` records, read with main/telemetry's readers). Also here: the
 * pure conversions from the inspector's walks to the contract's rows, totals and diffs, which the service shares.
 */
import { basename, dirname, extname, join } from 'node:path';
import type { ProcessRegion, ProcessWalk } from '../../native';
import {
  MAX_PROCESS_DIFF_ENTRIES,
  PROCESS_REGION_TYPES,
  type ProcessDiff,
  type ProcessEnd,
  type ProcessRegionRow,
  type ProcessRegionState,
  type ProcessRegionType,
  type ProcessSample,
  type ProcessTypeTotals,
} from '../telemetry/process-messages';
import { diffWalks, regionType, summarize, type RegionChange, type TypeSummary, type TypeTotals } from '../inspect';
import { isProcessRecordType, ProcessWalkReader } from '../telemetry/process-records';
import { SessionReader, type SessionIntegrity, type SessionReadOptions } from '../telemetry/session-reader';
import { csvLine, iso, type Cell } from './csv';
import { CSS, esc, protectName } from './html';
import { localizer } from './i18n';
import { formatHex, type Language } from '../vocabulary';
import { REPORT_SCHEMA, type ReportSource } from './model';
import { htmlToPdf, type PrintHtml } from './pdf';
import { checkTargets, writeAtomically, type ReportSink } from './write';

// ---------------------------------------------------------------------------------------------- conversions

const STATES: Readonly<Record<ProcessRegion['state'], ProcessRegionState>> = {
  MEM_COMMIT: 'commit',
  MEM_RESERVE: 'reserve',
  MEM_FREE: 'free',
};

/** A region as the region table and the reports show it. */
export function processRow(r: ProcessRegion): ProcessRegionRow {
  return {
    base: r.baseAddress,
    size: r.size,
    state: STATES[r.state],
    type: regionType(r),
    protect: r.state === 'MEM_COMMIT' ? r.protect : 0,
    committed: r.committed,
    resident: r.resident,
    private: r.private,
    file: r.file ?? r.label,
  };
}

/** The totals by type of a summary, in VMMap's order. */
export function typeTotals(summary: TypeSummary): ProcessTypeTotals[] {
  return PROCESS_REGION_TYPES.map((type) => ({ type, ...summary.byType[type] }));
}

/** One walk's point on the chart: committed, reserved (the address space in use) and resident, free left out. */
export function processSample(walk: ProcessWalk, summary: TypeSummary = summarize(walk)): ProcessSample {
  return {
    t: walk.takenAt,
    committed: summary.total.committed,
    reserved: summary.total.size,
    resident: summary.total.resident,
    regions: summary.total.regions,
  };
}

const figure = (before: number, after: number) => ({ before, after, delta: after - before });

/** The diff of two walks as the contract carries it (lists capped at MAX_PROCESS_DIFF_ENTRIES). */
export function processDiff(
  pid: number,
  from: { id: number; time: number; label: string | null; walk: ProcessWalk },
  to: { id: number; time: number; label: string | null; walk: ProcessWalk },
): ProcessDiff {
  const d = diffWalks(from.walk, to.walk);
  const cap = <T>(list: readonly T[]): T[] => list.slice(0, MAX_PROCESS_DIFF_ENTRIES);
  const change = (c: { before: ProcessRegion; after: ProcessRegion }) => ({
    before: processRow(c.before),
    after: processRow(c.after),
  });
  // Grown: larger, or the same size with more committed bytes (a reservation committed further), or the same
  // mapping with more resident or private bytes (pages touched: the leak signal on Linux). Shrunk: the opposite.
  const byBase = (a: { after: ProcessRegion }, b: { after: ProcessRegion }) =>
    a.after.baseAddress - b.after.baseAddress;
  const direction = (c: RegionChange): number =>
    Math.sign(c.committedDelta) || Math.sign(c.residentDelta ?? 0) || Math.sign(c.privateDelta ?? 0);
  const grown = [...d.grown, ...d.changed.filter((c) => direction(c) > 0)].sort(byBase);
  const shrunk = [...d.shrunk, ...d.changed.filter((c) => direction(c) < 0)].sort(byBase);
  const truncated = [d.added, d.removed, grown, shrunk].some((l) => l.length > MAX_PROCESS_DIFF_ENTRIES);
  const matched = to.walk.regions.filter((r) => r.state !== 'MEM_FREE').length - d.added.length;
  return {
    pid,
    from: { id: from.id, time: from.time, label: from.label },
    to: { id: to.id, time: to.time, label: to.label },
    added: cap(d.added).map(processRow),
    removed: cap(d.removed).map(processRow),
    grown: cap(grown).map(change),
    shrunk: cap(shrunk).map(change),
    unchanged: Math.max(0, matched - grown.length - shrunk.length),
    byType: PROCESS_REGION_TYPES.map((type) => {
      const x = d.byType[type];
      return {
        type,
        committed: figure(x.before.committed, x.after.committed),
        size: figure(x.before.size, x.after.size),
        regions: figure(x.before.regions, x.after.regions),
      };
    }),
    totals: {
      committed: figure(d.total.before.committed, d.total.after.committed),
      reserved: figure(d.total.before.size, d.total.after.size),
    },
    truncated,
  };
}

// ---------------------------------------------------------------------------------------------- the model

/** The version of the report's `process` section (docs/report.schema.json). */
export const PROCESS_SECTION_VERSION = 1;
/** Largest regions listed (by committed bytes). */
export const LARGEST_REGIONS = 50;
/** Regions listed per list of the first-to-last diff. */
export const DIFF_REGIONS = 100;

export interface ProcessReportSection {
  readonly version: typeof PROCESS_SECTION_VERSION;
  readonly pid: number;
  readonly name: string;
  readonly backend: 'win32' | 'posix';
  readonly pageSize: number;
  /** The first and last walks' times, ms since the epoch. */
  readonly startedAt: number;
  readonly endedAt: number;
  readonly walks: number;
  /** Set when the watch ended (the process exited, or reading it was refused). */
  readonly end: ProcessEnd | null;
  /** The last walk's totals by type, in VMMap's order. */
  readonly byType: readonly ProcessTypeTotals[];
  /** The last walk's total, free left out. */
  readonly total: TypeTotals;
  readonly samples: readonly ProcessSample[];
  /** The last walk's largest regions by committed bytes (free left out). */
  readonly largest: readonly ProcessRegionRow[];
  /** First walk to last walk (lists capped at DIFF_REGIONS; `truncated` says so). */
  readonly diff: ProcessDiff;
  /** Every region of the last walk (the CSV lists them; JSON and HTML carry `largest` only). */
  readonly regions: readonly ProcessRegionRow[];
}

export interface ProcessReportModel {
  readonly schema: typeof REPORT_SCHEMA;
  readonly generatedAt: number;
  readonly language: Language;
  readonly source: ReportSource;
  readonly process: ProcessReportSection;
}

export interface ProcessWatchRecord {
  readonly pid: number;
  readonly name: string;
  readonly first: ProcessWalk;
  readonly last: ProcessWalk;
  readonly history: readonly ProcessSample[];
  readonly end: ProcessEnd | null;
  /** Walks made (default: the samples' count). */
  readonly walks?: number;
}

export function buildProcessReport(
  watch: ProcessWatchRecord,
  options: { readonly language?: Language; readonly source: ReportSource; readonly now?: () => number },
): ProcessReportModel {
  const summary = summarize(watch.last);
  const regions = watch.last.regions.map(processRow);
  const largest = regions
    .filter((r) => r.state !== 'free')
    .sort((a, b) => b.committed - a.committed || b.size - a.size || a.base - b.base)
    .slice(0, LARGEST_REGIONS);
  const full = processDiff(
    watch.pid,
    { id: 1, time: watch.first.takenAt, label: null, walk: watch.first },
    { id: 2, time: watch.last.takenAt, label: null, walk: watch.last },
  );
  const cap = <T>(list: readonly T[]): readonly T[] => list.slice(0, DIFF_REGIONS);
  const diff: ProcessDiff = {
    ...full,
    added: cap(full.added),
    removed: cap(full.removed),
    grown: cap(full.grown),
    shrunk: cap(full.shrunk),
    truncated:
      full.truncated || [full.added, full.removed, full.grown, full.shrunk].some((l) => l.length > DIFF_REGIONS),
  };
  return {
    schema: REPORT_SCHEMA,
    generatedAt: (options.now ?? Date.now)(),
    language: options.language ?? 'en',
    source: options.source,
    process: {
      version: PROCESS_SECTION_VERSION,
      pid: watch.pid,
      name: watch.name,
      backend: watch.last.backend,
      pageSize: watch.last.pageSize,
      startedAt: watch.first.takenAt,
      endedAt: watch.last.takenAt,
      walks: watch.walks ?? watch.history.length,
      end: watch.end,
      byType: typeTotals(summary),
      total: summary.total,
      samples: watch.history,
      largest,
      diff,
      regions,
    },
  };
}

export class NoRecordedWatchError extends Error {}

/**
 * What a session holds: host calls, process walks (a recorded watch), or both. Reads it through; the first lines
 * decide in practice, but a watch recorded after host calls counts too.
 */
/** The source of a report of a live watch (Export… in the Processes view): the watcher's last walk, no file. */
export const LIVE_WATCH_SOURCE: ReportSource = {
  kind: 'live',
  session: null,
  command: null,
  torn: false,
  capped: false,
  damaged: 0,
  damage: [],
  allocationsFrom: 'walk',
};

export async function sessionKinds(
  path: string,
  options: SessionReadOptions = {},
): Promise<{ readonly calls: boolean; readonly walks: boolean }> {
  let calls = false;
  let walks = false;
  const reader = new SessionReader(path, options);
  await reader.header();
  outer: for await (const batch of reader.entries()) {
    for (const { record } of batch) {
      // Process records are session records of their own kinds (main/telemetry/process-records.ts).
      if (record.type === 'call') calls = true;
      else if (isProcessRecordType(record.type)) walks = true;
      if (calls && walks) break outer;
    }
  }
  return { calls, walks };
}

/**
 * The report of a recorded watch: the session's process records rebuilt walk by walk (one pid: `pid`, or the
 * session's only one), read by the one session reader (damaged lines skipped and counted, as for every report).
 * Throws SessionFormatError for a file that is not a session, NoRecordedWatchError when it holds no walk (of that
 * pid).
 */
export async function buildRecordedWatchReport(
  path: string,
  options: {
    readonly language?: Language;
    readonly pid?: number;
    readonly now?: () => number;
    readonly maxLineBytes?: number;
    /** Told what reading found (damage, a torn last line) once the whole file is read. */
    readonly onRead?: (integrity: SessionIntegrity) => void;
  } = {},
): Promise<ProcessReportModel> {
  const walks = new ProcessWalkReader();
  const byPid = new Map<number, { first: ProcessWalk; last: ProcessWalk; history: ProcessSample[] }>();
  const reader = new SessionReader(
    path,
    options.maxLineBytes === undefined ? {} : { maxLineBytes: options.maxLineBytes },
  );
  const header = await reader.header();
  const command = header.command ?? null;
  for await (const batch of reader.entries()) {
    for (const { record } of batch) {
      let walk: ProcessWalk | undefined;
      try {
        walk = walks.accept(record);
      } catch {
        // A delta whose walk line was damaged (and skipped, counted as damage): nothing to apply it to until the
        // next whole walk of its process.
        continue;
      }
      if (walk === undefined || (options.pid !== undefined && walk.pid !== options.pid)) continue;
      const w = byPid.get(walk.pid);
      if (w === undefined) byPid.set(walk.pid, { first: walk, last: walk, history: [processSample(walk)] });
      else {
        w.last = walk;
        w.history.push(processSample(walk));
      }
    }
  }
  const integrity = reader.integrity;
  options.onRead?.(integrity);
  if (byPid.size === 0) {
    throw new NoRecordedWatchError(
      `${path}: no recorded watch${options.pid === undefined ? '' : ` of process ${options.pid}`} (no process-walk record)`,
    );
  }
  if (byPid.size > 1) {
    throw new NoRecordedWatchError(
      `${path}: watches of several processes (${[...byPid.keys()].join(', ')}): give --pid`,
    );
  }
  const [pid, w] = [...byPid][0]!;
  const exitedAt = walks.exitedAt(pid);
  return buildProcessReport(
    {
      pid,
      name: w.last.name ?? `pid ${pid}`,
      first: w.first,
      last: w.last,
      history: w.history,
      end: exitedAt === undefined ? null : { reason: 'exited', time: exitedAt, message: `process ${pid} exited` },
    },
    {
      ...(options.language && { language: options.language }),
      ...(options.now && { now: options.now }),
      source: {
        kind: 'session',
        session: path,
        command,
        torn: integrity.torn,
        capped: false,
        damaged: integrity.damaged,
        damage: integrity.damage,
        allocationsFrom: 'walk',
      },
    },
  );
}

// ---------------------------------------------------------------------------------------------- JSON

const hex = (n: number): string => `0x${n.toString(16)}`;

function rowJson(r: ProcessRegionRow): Record<string, unknown> {
  return { ...r, base: hex(r.base) };
}

/** The JSON object of a process report (schema hostmem.report/1 with its `process` section). */
export function processReportJson(model: ProcessReportModel): Record<string, unknown> {
  const p = model.process;
  return {
    schema: model.schema,
    generatedAt: model.generatedAt,
    language: model.language,
    source: { ...model.source, omitted: [] },
    process: {
      version: p.version,
      pid: p.pid,
      name: p.name,
      backend: p.backend,
      pageSize: p.pageSize,
      startedAt: p.startedAt,
      endedAt: p.endedAt,
      walks: p.walks,
      end: p.end,
      byType: p.byType,
      total: p.total,
      samples: p.samples,
      largest: p.largest.map(rowJson),
      diff: {
        from: p.diff.from.time,
        to: p.diff.to.time,
        added: p.diff.added.map(rowJson),
        removed: p.diff.removed.map(rowJson),
        grown: p.diff.grown.map((c) => ({ before: rowJson(c.before), after: rowJson(c.after) })),
        shrunk: p.diff.shrunk.map((c) => ({ before: rowJson(c.before), after: rowJson(c.after) })),
        byType: p.diff.byType,
        totals: p.diff.totals,
        truncated: p.diff.truncated,
      },
    },
  };
}

// ---------------------------------------------------------------------------------------------- HTML

interface ProcessLabels {
  readonly title: string;
  readonly process: string;
  readonly period: string;
  readonly walks: string;
  readonly exited: string;
  readonly ended: string;
  readonly byType: string;
  readonly type: string;
  readonly size: string;
  readonly committed: string;
  readonly reserved: string;
  readonly resident: string;
  readonly private: string;
  readonly regions: string;
  readonly total: string;
  readonly chart: string;
  readonly largest: string;
  readonly address: string;
  readonly state: string;
  readonly protect: string;
  readonly file: string;
  readonly diff: string;
  readonly added: string;
  readonly removed: string;
  readonly grown: string;
  readonly shrunk: string;
  readonly none: string;
  /** A region that moved: "was at 0x…". */
  readonly wasAt: string;
  /** Column heads of the change tables: before → after, and the change. */
  readonly beforeAfter: string;
  readonly truncated: string;
  readonly generated: string;
  readonly types: Readonly<Record<ProcessRegionType, string>>;
  readonly states: Readonly<Record<ProcessRegionState, string>>;
}

const LABELS: Readonly<Record<Language, ProcessLabels>> = {
  en: {
    title: 'Process memory report',
    process: 'Process',
    period: 'Watched',
    walks: 'Walks',
    exited: 'The process exited',
    ended: 'The watch ended',
    byType: 'Summary by type (last walk)',
    type: 'Type',
    size: 'Size',
    committed: 'Committed',
    reserved: 'Reserved',
    resident: 'Resident',
    private: 'Private',
    regions: 'Regions',
    total: 'Total (without free)',
    chart: 'Committed, reserved and resident over time',
    largest: 'Largest regions (by committed bytes)',
    address: 'Address',
    state: 'State',
    protect: 'Protection',
    file: 'File',
    diff: 'From the first walk to the last',
    added: 'Added',
    removed: 'Removed',
    grown: 'Grown',
    shrunk: 'Shrunk',
    none: 'none',
    wasAt: 'was at',
    beforeAfter: 'before → after (change)',
    truncated: 'Lists cut to their first entries.',
    generated: 'Generated',
    types: {
      image: 'Image',
      mapped: 'Mapped file',
      shareable: 'Shareable',
      heap: 'Heap',
      stack: 'Stack',
      private: 'Private data',
      free: 'Free',
    },
    states: { commit: 'Commit', reserve: 'Reserve', free: 'Free' },
  },
  fr: {
    title: 'Rapport mémoire d’un processus',
    process: 'Processus',
    period: 'Surveillé',
    walks: 'Parcours',
    exited: 'Le processus s’est terminé',
    ended: 'La surveillance s’est arrêtée',
    byType: 'Résumé par type (dernier parcours)',
    type: 'Type',
    size: 'Taille',
    committed: 'Engagé',
    reserved: 'Réservé',
    resident: 'Résident',
    private: 'Privé',
    regions: 'Régions',
    total: 'Total (hors libre)',
    chart: 'Engagé, réservé et résident au fil du temps',
    largest: 'Plus grandes régions (par octets engagés)',
    address: 'Adresse',
    state: 'État',
    protect: 'Protection',
    file: 'Fichier',
    diff: 'Du premier parcours au dernier',
    added: 'Ajoutées',
    removed: 'Retirées',
    grown: 'Agrandies',
    shrunk: 'Réduites',
    none: 'aucune',
    wasAt: 'était à',
    beforeAfter: 'avant → après (écart)',
    truncated: 'Listes limitées à leurs premières entrées.',
    generated: 'Généré',
    types: {
      image: 'Image',
      mapped: 'Fichier mappé',
      shareable: 'Partageable',
      heap: 'Tas',
      stack: 'Pile',
      private: 'Données privées',
      free: 'Libre',
    },
    states: { commit: 'Engagé', reserve: 'Réservé', free: 'Libre' },
  },
  'zh-CN': {
    title: '进程内存报告',
    process: '进程',
    period: '监视时段',
    walks: '遍历次数',
    exited: '进程已退出',
    ended: '监视已停止',
    byType: '按类型汇总（最后一次遍历）',
    type: '类型',
    size: '大小',
    committed: '已提交',
    reserved: '已保留',
    resident: '驻留',
    private: '私有',
    regions: '区域数',
    total: '合计（不含空闲）',
    chart: '已提交、已保留与驻留随时间变化',
    largest: '最大的区域（按已提交字节）',
    address: '地址',
    state: '状态',
    protect: '保护',
    file: '文件',
    diff: '从第一次遍历到最后一次',
    added: '新增',
    removed: '移除',
    grown: '增长',
    shrunk: '缩小',
    none: '无',
    wasAt: '原位于',
    beforeAfter: '之前 → 之后（变化）',
    truncated: '列表仅显示前若干项。',
    generated: '生成时间',
    types: {
      image: '映像',
      mapped: '映射文件',
      shareable: '可共享',
      heap: '堆',
      stack: '栈',
      private: '私有数据',
      free: '空闲',
    },
    states: { commit: '已提交', reserve: '已保留', free: '空闲' },
  },
};

/** VMMap's colours (the dashboard's bar uses the same). */
const TYPE_COLOURS: Readonly<Record<ProcessRegionType, string>> = {
  image: '#a371f7',
  mapped: '#4f9be8',
  shareable: '#2aa198',
  heap: '#e5534b',
  stack: '#e3873b',
  private: '#e0c040',
  free: '#d0d7de',
};
const LINE_COLOURS = { committed: '#1a7f37', reserved: '#2f81f7', resident: '#bf8700' } as const;

function chartSvg(samples: readonly ProcessSample[], l: ReturnType<typeof localizer>, L: ProcessLabels): string {
  const W = 1000;
  const H = 260;
  const pad = { left: 80, right: 16, top: 12, bottom: 28 };
  if (samples.length === 0) return '';
  const t0 = samples[0]!.t;
  const t1 = Math.max(samples[samples.length - 1]!.t, t0 + 1);
  const max = Math.max(1, ...samples.map((s) => Math.max(s.reserved, s.committed, s.resident ?? 0)));
  const x = (t: number) => pad.left + ((t - t0) / (t1 - t0)) * (W - pad.left - pad.right);
  const y = (v: number) => H - pad.bottom - (v / max) * (H - pad.top - pad.bottom);
  const path = (pick: (s: ProcessSample) => number | null) =>
    samples
      .filter((s) => pick(s) !== null)
      .map((s, i) => `${i === 0 ? 'M' : 'L'}${x(s.t).toFixed(1)},${y(pick(s)!).toFixed(1)}`)
      .join('');
  const grid = [0, 0.25, 0.5, 0.75, 1]
    .map(
      (f) =>
        `<line x1="${pad.left}" x2="${W - pad.right}" y1="${y(max * f)}" y2="${y(max * f)}" stroke="#d0d7de"/><text x="${pad.left - 6}" y="${y(max * f) + 4}" text-anchor="end" font-size="11" fill="#5c6670">${esc(l.bytes(max * f))}</text>`,
    )
    .join('');
  const times = `<text x="${pad.left}" y="${H - 8}" font-size="11" fill="#5c6670">${esc(l.time(t0))}</text><text x="${W - pad.right}" y="${H - 8}" text-anchor="end" font-size="11" fill="#5c6670">${esc(l.time(t1))}</text>`;
  const lines = (['reserved', 'committed', 'resident'] as const)
    .map(
      (k) =>
        `<path d="${path((s) => s[k])}" fill="none" stroke="${LINE_COLOURS[k]}" stroke-width="${k === 'committed' ? 2 : 1.5}"/>`,
    )
    .join('');
  const legend = (['committed', 'reserved', 'resident'] as const)
    .map((k) => `<span class="lg"><i style="background:${LINE_COLOURS[k]}"></i>${esc(L[k])}</span>`)
    .join(' ');
  return `<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(L.chart)}">${grid}${times}${lines}</svg><p class="legend">${legend}</p>`;
}

function typeBar(byType: readonly ProcessTypeTotals[], L: ProcessLabels, l: ReturnType<typeof localizer>): string {
  const used = byType.filter((t) => t.type !== 'free');
  const whole = used.reduce((n, t) => n + t.size, 0) || 1;
  let at = 0;
  const rects = used
    .filter((t) => t.size > 0)
    .map((t) => {
      const w = (t.size / whole) * 1000;
      const r = `<rect x="${at.toFixed(1)}" y="0" width="${w.toFixed(1)}" height="24" fill="${TYPE_COLOURS[t.type]}"><title>${esc(`${L.types[t.type]}: ${l.bytes(t.size)}`)}</title></rect>`;
      at += w;
      return r;
    })
    .join('');
  return `<svg class="bar" viewBox="0 0 1000 24" preserveAspectRatio="none" role="img" aria-label="${esc(L.byType)}">${rects}</svg>`;
}

const PROCESS_CSS = `
.chart { width: 100%; height: auto; border: 1px solid var(--line); border-radius: 6px; }
.bar { width: 100%; height: 24px; border: 1px solid var(--line); border-radius: 4px; }
.legend .lg { margin-right: 12px; white-space: nowrap; }
.legend i, .sw { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; vertical-align: -1px; }
tfoot td, tfoot th { font-weight: 600; border-top: 2px solid var(--line); }
`;

/** The process report as one self-contained HTML page (inline CSS and SVG, no script). */
export function processReportHtml(model: ProcessReportModel): string {
  const l = localizer(model.language);
  const L = LABELS[model.language];
  const p = model.process;
  const nullable = (n: number | null) => (n === null ? '—' : esc(l.bytes(n)));
  const regionRowsHtml = (rows: readonly ProcessRegionRow[]) =>
    rows
      .map(
        (r) =>
          `<tr><td class="code">${formatHex(r.base)}</td><td class="n">${esc(l.bytes(r.size))}</td><td>${esc(L.states[r.state])}</td><td class="nw"><span class="sw" style="background:${TYPE_COLOURS[r.type]}"></span>${esc(L.types[r.type])}</td><td class="code">${r.protect === 0 ? '—' : esc(protectName(r.protect))}</td><td class="n">${esc(l.bytes(r.committed))}</td><td class="n">${nullable(r.resident)}</td><td class="n">${nullable(r.private)}</td><td class="code">${esc(r.file ?? '')}</td></tr>`,
      )
      .join('\n');
  const regionHead = `<tr><th>${esc(L.address)}</th><th class="n">${esc(L.size)}</th><th>${esc(L.state)}</th><th>${esc(L.type)}</th><th>${esc(L.protect)}</th><th class="n">${esc(L.committed)}</th><th class="n">${esc(L.resident)}</th><th class="n">${esc(L.private)}</th><th>${esc(L.file)}</th></tr>`;
  const regionTable = (rows: readonly ProcessRegionRow[]) =>
    rows.length === 0
      ? `<p class="cap">${esc(L.none)}</p>`
      : `<table><thead>${regionHead}</thead><tbody>${regionRowsHtml(rows)}</tbody></table>`;
  const summaryRows = p.byType
    .map(
      (t) =>
        `<tr><th class="nw"><span class="sw" style="background:${TYPE_COLOURS[t.type]}"></span>${esc(L.types[t.type])}</th><td class="n">${esc(l.bytes(t.size))}</td><td class="n">${esc(l.bytes(t.committed))}</td><td class="n">${nullable(t.resident)}</td><td class="n">${nullable(t.private)}</td><td class="n">${esc(l.number(t.regions))}</td></tr>`,
    )
    .join('\n');
  const d = p.diff;
  const firstSample = p.samples[0];
  const lastSample = p.samples[p.samples.length - 1];
  const residentDelta =
    firstSample?.resident != null && lastSample?.resident != null ? lastSample.resident - firstSample.resident : null;
  const signed = (n: number) => `${n > 0 ? '+' : n < 0 ? '−' : ''}${l.bytes(Math.abs(n))}`;
  // A change: before → after and the change of each figure, and where the region was when it moved.
  const figureCell = (a: number | null, b: number | null): string => {
    if (a === null || b === null) return `${nullable(a)} → ${nullable(b)}`;
    const delta = b - a;
    return `${esc(l.bytes(a))} → ${esc(l.bytes(b))}<br><b>${delta === 0 ? '=' : esc(signed(delta))}</b>`;
  };
  const changeHead = `<tr><th>${esc(L.address)}</th><th>${esc(L.type)}</th><th class="n">${esc(L.size)}</th><th class="n">${esc(L.committed)}</th><th class="n">${esc(L.resident)}</th><th class="n">${esc(L.private)}</th><th>${esc(L.file)}</th></tr><tr><th></th><th></th><th class="n" colspan="4">${esc(L.beforeAfter)}</th><th></th></tr>`;
  const changeRows = (list: ProcessDiff['grown']) =>
    list.length === 0
      ? `<p class="cap">${esc(L.none)}</p>`
      : `<table class="changes"><thead>${changeHead}</thead><tbody>${list
          .map(
            ({ before: a, after: b }) =>
              `<tr><td class="code">${hex(b.base)}${a.base === b.base ? '' : `<br><span class="cap">${esc(L.wasAt)} ${hex(a.base)}</span>`}</td><td><span class="sw" style="background:${TYPE_COLOURS[b.type]}"></span>${esc(L.types[b.type])}</td><td class="n">${figureCell(a.size, b.size)}</td><td class="n">${figureCell(a.committed, b.committed)}</td><td class="n">${figureCell(a.resident, b.resident)}</td><td class="n">${figureCell(a.private, b.private)}</td><td class="code">${esc(b.file ?? '')}</td></tr>`,
          )
          .join('\n')}</tbody></table>`;
  const endNote =
    p.end === null
      ? ''
      : `<p class="note">${esc(p.end.reason === 'exited' ? L.exited : L.ended)}: ${esc(l.dateTime(p.end.time))} — ${esc(p.end.message)}</p>`;
  return `<!DOCTYPE html>
<html lang="${model.language}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="generator" content="hostmem"><title>${esc(L.title)} — ${esc(p.name)} (${p.pid})</title><style>${CSS}${PROCESS_CSS}</style></head><body>
<h1>${esc(L.title)}</h1>
<p class="meta"><span>${esc(L.process)}: ${esc(p.name)} (PID ${p.pid}, ${p.backend})</span><span>${esc(L.period)}: ${esc(l.dateTime(p.startedAt))} – ${esc(l.time(p.endedAt))} (${esc(l.duration(p.endedAt - p.startedAt))})</span><span>${esc(L.walks)}: ${esc(l.number(p.walks))}</span><span>${esc(L.generated)}: ${esc(l.dateTime(model.generatedAt))}</span></p>
${endNote}
<h2>${esc(L.byType)}</h2>
${typeBar(p.byType, L, l)}
<table><thead><tr><th>${esc(L.type)}</th><th class="n">${esc(L.size)}</th><th class="n">${esc(L.committed)}</th><th class="n">${esc(L.resident)}</th><th class="n">${esc(L.private)}</th><th class="n">${esc(L.regions)}</th></tr></thead>
<tbody>${summaryRows}</tbody>
<tfoot><tr><th>${esc(L.total)}</th><td class="n">${esc(l.bytes(p.total.size))}</td><td class="n">${esc(l.bytes(p.total.committed))}</td><td class="n">${nullable(p.total.resident)}</td><td class="n">${nullable(p.total.private)}</td><td class="n">${esc(l.number(p.total.regions))}</td></tr></tfoot></table>
<h2>${esc(L.chart)}</h2>
${chartSvg(p.samples, l, L)}
<h2>${esc(L.largest)}</h2>
${regionTable(p.largest)}
<h2>${esc(L.diff)}</h2>
<p class="meta"><span>${esc(L.committed)}: ${esc(signed(d.totals.committed.delta))}</span><span>${esc(L.reserved)}: ${esc(signed(d.totals.reserved.delta))}</span>${residentDelta === null ? '' : `<span>${esc(L.resident)}: ${esc(signed(residentDelta))}</span>`}</p>
${d.truncated ? `<p class="cap">${esc(L.truncated)}</p>` : ''}
<h3>${esc(L.added)} (${d.added.length})</h3>
${regionTable(d.added)}
<h3>${esc(L.removed)} (${d.removed.length})</h3>
${regionTable(d.removed)}
<h3>${esc(L.grown)} (${d.grown.length})</h3>
${changeRows(d.grown)}
<h3>${esc(L.shrunk)} (${d.shrunk.length})</h3>
${changeRows(d.shrunk)}
</body></html>
`;
}

// ---------------------------------------------------------------------------------------------- CSV

export const PROCESS_REGION_COLUMNS = [
  'base',
  'size',
  'state',
  'type',
  'protect',
  'committed',
  'resident',
  'private',
  'file',
] as const;
export const PROCESS_TYPE_COLUMNS = ['type', 'size', 'committed', 'resident', 'private', 'regions'] as const;
export const PROCESS_SAMPLE_COLUMNS = ['time', 't', 'committed', 'reserved', 'resident', 'regions'] as const;

/** A CSV target's three files: the regions of the last walk, NAME.types.csv and NAME.samples.csv. */
export function processCsvPaths(path: string): [string, string, string] {
  const ext = extname(path);
  const stem = join(dirname(path), basename(path, ext));
  return [path, `${stem}.types${ext}`, `${stem}.samples${ext}`];
}

function writeCsv(sink: ReportSink, header: readonly string[], rows: Iterable<readonly Cell[]>): void {
  sink.write(csvLine(header));
  for (const row of rows) sink.write(csvLine(row));
}

// ---------------------------------------------------------------------------------------------- writing

/** Write a process report to `path` in the format of its extension; resolves with the files written. */
export async function writeProcessReport(
  model: ProcessReportModel,
  path: string,
  options: { readonly force?: boolean; readonly print?: PrintHtml } = {},
): Promise<string[]> {
  const force = options.force ?? false;
  const ext = extname(path).toLowerCase();
  switch (ext) {
    case '.html':
    case '.htm':
      await writeAtomically([path], { force }, async ([sink]) => {
        sink!.write(processReportHtml(model));
      });
      return [path];
    case '.json':
      await writeAtomically([path], { force }, async ([sink]) => {
        sink!.write(`${JSON.stringify(processReportJson(model), null, 2)}\n`);
      });
      return [path];
    case '.csv': {
      const paths = processCsvPaths(path);
      const p = model.process;
      await writeAtomically(paths, { force }, async ([regions, types, samples]) => {
        writeCsv(
          regions!,
          PROCESS_REGION_COLUMNS,
          p.regions.map((r) => [
            hex(r.base),
            r.size,
            r.state,
            r.type,
            r.protect === 0 ? '' : protectName(r.protect),
            r.committed,
            r.resident,
            r.private,
            r.file,
          ]),
        );
        writeCsv(
          types!,
          PROCESS_TYPE_COLUMNS,
          p.byType.map((t) => [t.type, t.size, t.committed, t.resident, t.private, t.regions]),
        );
        writeCsv(
          samples!,
          PROCESS_SAMPLE_COLUMNS,
          p.samples.map((s) => [iso(s.t), s.t, s.committed, s.reserved, s.resident, s.regions]),
        );
      });
      return paths;
    }
    case '.pdf': {
      await checkTargets([path], force);
      if (options.print === undefined) throw new Error(`${path}: a PDF needs a printer (Chromium)`);
      await htmlToPdf(processReportHtml(model), options.print, path, { force });
      return [path];
    }
    default:
      throw new Error(`${path}: unknown report format (use .html, .csv, .json or .pdf)`);
  }
}
