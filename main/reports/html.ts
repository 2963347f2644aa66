/**
 * The HTML report: one self-contained file (inline CSS and SVG, no script, no external resource) that opens offline
 * and prints well. Sections: summary, the reserved-vs-committed chart with failure markers by level, clerks (per
 * tag), failures grouped by critical level, the live allocations, policy and host. Text in the model's language,
 * numbers and dates through Intl. Long lists are capped (the CSV and JSON reports have everything), and written a
 * row at a time. A section left out of the model (`selectSections`) is named at the top and says so in its place,
 * never shown as an empty table (which means "none").
 */
import { BASE_PROTECTIONS, PAGE, PROTECTION_MODIFIERS } from '../vocabulary';
import { FAILURE_GROUPS, LEVELS, type FailureGroup } from '../host/types';
import { LEVEL_KEYS, localizer, type Localizer, type MessageKey } from './i18n';
import {
  isOmitted,
  omittedSections,
  type ReportModel,
  type ReportSample,
  type ReportSection,
  type ReportTotals,
} from './model';
import type { ReportSink } from './write';

export interface HtmlOptions {
  /** Rows of the allocation table (default 10,000). */
  readonly maxAllocationRows?: number;
  /** Events listed per critical level (default 1,000). */
  readonly maxEventsPerLevel?: number;
}

export const LEVEL_COLORS: Readonly<Record<FailureGroup, string>> = {
  eTaskCritical: '#e0a800',
  eAppDomainCritical: '#e8590c',
  eProcessCritical: '#c92a2a',
  other: '#868e96',
};

const SERIES = {
  reserved: '#1c7ed6',
  committed: '#2f9e44',
  external: '#868e96',
  heap: '#9c36b5',
} as const;

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};
export const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

const hex = (n: number): string => `0x${n.toString(16)}`;

const BASE_PROTECT_NAMES: ReadonlyMap<number, string> = new Map(BASE_PROTECTIONS);

/** PAGE_READWRITE, PAGE_READONLY|PAGE_GUARD…; hex for anything else. */
export function protectName(p: number): string {
  const base = BASE_PROTECT_NAMES.get(p & 0xff);
  if (base === undefined) return hex(p);
  const rest = p & ~0xff & ~(PAGE.GUARD | PAGE.NOCACHE | PAGE.WRITECOMBINE);
  if (rest !== 0) return hex(p);
  return [base, ...PROTECTION_MODIFIERS.filter(([bit]) => (p & bit) !== 0).map(([, name]) => name)].join('|');
}

/** The reports' page style (the process report adds to it). */
export const CSS = `
:root { color-scheme: light; --fg: #1b1f24; --muted: #5c6670; --line: #d0d7de; --band: #f6f8fa; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Sans CJK SC",
  "Microsoft YaHei", "PingFang SC", sans-serif; color: var(--fg); margin: 0 auto; padding: 24px; max-width: 1100px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 8px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
h3 { font-size: 15px; margin: 18px 0 6px; display: flex; align-items: center; gap: 8px; }
.meta { color: var(--muted); margin: 0 0 8px; }
.meta span + span::before { content: " · "; }
.note { background: #fff4e6; border-left: 4px solid #e8590c; padding: 6px 10px; margin: 8px 0; }
.note.warn { background: #fff0f0; border-left-color: #c92a2a; font-weight: 600; }
.cap { color: var(--muted); font-style: italic; margin: 6px 0; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--band); font-weight: 600; }
td.n, th.n { text-align: right; white-space: nowrap; }
td.t { white-space: nowrap; }
td.code { font-family: ui-monospace, "SFMono-Regular", Consolas, "Liberation Mono", monospace; font-size: 12px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(160px, 1fr)); gap: 8px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; }
.card .k { color: var(--muted); font-size: 12px; }
.card .v { font-size: 18px; font-weight: 600; }
.card .s { color: var(--muted); font-size: 12px; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; vertical-align: -1px; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 16px; margin: 6px 0; font-size: 12px; color: var(--muted); }
.legend .line { display: inline-block; width: 18px; height: 0; border-top: 3px solid; vertical-align: middle; }
.legend .dash { border-top-style: dashed; }
svg.chart { width: 100%; height: auto; display: block; border: 1px solid var(--line); border-radius: 6px; }
svg.chart text { font: 11px system-ui, sans-serif; fill: #5c6670; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0; }
dt { color: var(--muted); }
dd { margin: 0; }
.two { display: grid; grid-template-columns: 1fr 1fr; gap: 24px; }
footer { color: var(--muted); font-size: 12px; margin-top: 32px; border-top: 1px solid var(--line); padding-top: 8px; }
@page { size: A4; margin: 12mm; }
@media print {
  body { font-size: 9.5pt; padding: 0; max-width: none; }
  h2 { break-after: avoid; page-break-after: avoid; }
  h3 { break-after: avoid; page-break-after: avoid; }
  thead { display: table-header-group; }
  tr, .card, svg.chart, dl { break-inside: avoid; page-break-inside: avoid; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  td.code { font-size: 8pt; }
}
`;

// ---------------------------------------------------------------------------------------------- chart

const W = 960;
const H = 320;
const PAD = { left: 78, right: 16, top: 14, bottom: 78 };
const PLOT_W = W - PAD.left - PAD.right;
const PLOT_H = H - PAD.top - PAD.bottom;
const LANE_H = 8;

interface Bucketed {
  readonly x: number;
  readonly v: ReportTotals & { commitLimit: number | null };
}

/** At most one point per pixel column: the maximum of each series over the column (peaks stay visible). */
function bucketSamples(samples: readonly ReportSample[], x: (t: number) => number): Bucketed[] {
  const out: Bucketed[] = [];
  let col = -1;
  let cur: { reserved: number; committed: number; external: number; heap: number; regions: number } | undefined;
  let limit: number | null = null;
  const close = (): void => {
    if (cur) out.push({ x: col, v: { ...cur, commitLimit: limit } });
  };
  for (const s of samples) {
    const c = Math.round(x(s.t));
    if (c !== col || !cur) {
      close();
      col = c;
      cur = { reserved: s.reserved, committed: s.committed, external: s.external, heap: s.heap, regions: s.regions };
    } else {
      cur.reserved = Math.max(cur.reserved, s.reserved);
      cur.committed = Math.max(cur.committed, s.committed);
      cur.external = Math.max(cur.external, s.external);
      cur.heap = Math.max(cur.heap, s.heap);
    }
    limit = s.commitLimit;
  }
  close();
  return out;
}

function chartSvg(model: ReportModel, l: Localizer): string {
  const samples = model.samples;
  let t0 = Number.POSITIVE_INFINITY;
  let t1 = Number.NEGATIVE_INFINITY;
  if (samples.length > 0) {
    t0 = samples[0]!.t;
    t1 = samples.at(-1)!.t;
  }
  model.failures.forEachMark((t) => {
    if (t < t0) t0 = t;
    if (t > t1) t1 = t;
  });
  if (!Number.isFinite(t0)) return '';
  if (t1 <= t0) t1 = t0 + 1000;
  const x = (t: number): number => PAD.left + ((t - t0) / (t1 - t0)) * PLOT_W;
  const points = bucketSamples(samples, x);
  const policyLimit = model.policy.commitLimit;
  let top = Math.max(model.summary.peak.reserved, model.summary.peak.committed, 1);
  for (const p of points) top = Math.max(top, p.v.commitLimit ?? 0, p.v.external, p.v.heap);
  if (policyLimit !== null) top = Math.max(top, policyLimit);
  top *= 1.05;
  const y = (v: number): number => PAD.top + PLOT_H - (v / top) * PLOT_H;
  const f = (n: number): string => n.toFixed(1);

  const parts: string[] = [];
  parts.push(
    `<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(l.t('chart'))}">`,
  );
  // Grid and y labels.
  for (let i = 0; i <= 4; i++) {
    const v = (top / 1.05) * (i / 4);
    const yy = f(y(v));
    parts.push(
      `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${yy}" y2="${yy}" stroke="#e9ecef"/>`,
      `<text x="${PAD.left - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle">${esc(l.bytes(v))}</text>`,
    );
  }
  // x labels.
  for (let i = 0; i <= 4; i++) {
    const t = t0 + ((t1 - t0) * i) / 4;
    const anchor = i === 0 ? 'start' : i === 4 ? 'end' : 'middle';
    parts.push(
      `<line x1="${f(x(t))}" x2="${f(x(t))}" y1="${PAD.top}" y2="${PAD.top + PLOT_H}" stroke="#f1f3f5"/>`,
      `<text x="${f(x(t))}" y="${H - 6}" text-anchor="${anchor}">${esc(l.time(t, t1 - t0 < 20_000))}</text>`,
    );
  }
  parts.push(
    `<rect x="${PAD.left}" y="${PAD.top}" width="${PLOT_W}" height="${PLOT_H}" fill="none" stroke="#ced4da"/>`,
  );
  // Commit limit and each level's threshold.
  if (policyLimit !== null) {
    for (const level of LEVELS) {
      const ratio = model.policy.thresholds[level];
      if (ratio >= 1) continue;
      const yy = f(y(policyLimit * ratio));
      parts.push(
        `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${yy}" y2="${yy}" stroke="${LEVEL_COLORS[level]}" stroke-width="1" stroke-dasharray="2 4"/>`,
      );
    }
    const yy = f(y(policyLimit));
    parts.push(
      `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${yy}" y2="${yy}" stroke="#c92a2a" stroke-width="1.5" stroke-dasharray="6 4"/>`,
    );
  }
  const line = (key: keyof typeof SERIES, dash: string): void => {
    if (points.length === 0) return;
    if (key === 'external' || key === 'heap') {
      if (!points.some((p) => p.v[key] > 0)) return;
    }
    const d = points.map((p) => `${p.x},${f(y(p.v[key]))}`).join(' ');
    parts.push(
      `<polyline fill="none" stroke="${SERIES[key]}" stroke-width="${key === 'reserved' ? 3 : key === 'committed' ? 2 : 1.5}"${dash ? ` stroke-dasharray="${dash}"` : ''} stroke-linejoin="round" points="${d}"/>`,
    );
  };
  if (points.length > 1) {
    // Reserved as a light area under its line: where committed equals reserved, both stay visible.
    const base = f(y(0));
    const d = points.map((p) => `${p.x},${f(y(p.v.reserved))}`).join(' ');
    parts.push(
      `<polygon fill="${SERIES.reserved}" fill-opacity="0.12" points="${points[0]!.x},${base} ${d} ${points.at(-1)!.x},${base}"/>`,
    );
  }
  line('external', '4 3');
  line('heap', '2 2');
  line('reserved', '');
  line('committed', '6 3');
  if (points.length === 1) {
    const p = points[0]!;
    for (const key of ['reserved', 'committed'] as const)
      parts.push(`<circle cx="${p.x}" cy="${f(y(p.v[key]))}" r="3" fill="${SERIES[key]}"/>`);
  }
  // Failure markers: one lane per level under the plot, one mark per pixel column that had a failure.
  const lanes: Record<FailureGroup, Uint8Array> = {
    eTaskCritical: new Uint8Array(W),
    eAppDomainCritical: new Uint8Array(W),
    eProcessCritical: new Uint8Array(W),
    other: new Uint8Array(W),
  };
  model.failures.forEachMark((t, level) => {
    lanes[level][Math.min(W - 1, Math.max(0, Math.round(x(t))))] = 1;
  });
  FAILURE_GROUPS.forEach((level, i) => {
    const yy = PAD.top + PLOT_H + 8 + i * (LANE_H + 2);
    const cols = lanes[level];
    let d = '';
    for (let c = 0; c < W; c++) if (cols[c]) d += `M${c - 2},${yy}h4v${LANE_H}h-4z`;
    if (d) parts.push(`<path fill="${LEVEL_COLORS[level]}" d="${d}"/>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

// ---------------------------------------------------------------------------------------------- sections

const SECTION_KEYS: Readonly<Record<ReportSection, MessageKey>> = {
  allocations: 'sectionAllocations',
  failures: 'sectionFailures',
  samples: 'sectionSamples',
};

/** What a section left out of the report shows instead of its table (never an empty table, which means "none"). */
function omittedCap(key: MessageKey, l: Localizer): string {
  return `<p class="cap omitted">${esc(l.t(key))}</p>`;
}

function levelTitle(level: FailureGroup, l: Localizer): string {
  return `${esc(l.t(LEVEL_KEYS[level]))} <span class="code">(${level})</span>`;
}

function swatch(color: string): string {
  return `<span class="swatch" style="background:${color}"></span>`;
}

function card(key: string, value: string, sub?: string): string {
  return `<div class="card"><div class="k">${esc(key)}</div><div class="v">${esc(value)}</div>${sub ? `<div class="s">${esc(sub)}</div>` : ''}</div>`;
}

function header(model: ReportModel, l: Localizer): string {
  const s = model.summary;
  const src = model.source;
  const meta = [
    `<span>${esc(l.t('generatedAt'))} ${esc(l.dateTime(model.generatedAt))}</span>`,
    `<span>${esc(l.t('source'))}: ${esc(l.t(src.kind === 'live' ? 'sourceLive' : 'sourceSession'))}${src.session ? ` <span class="code">${esc(src.session)}</span>` : ''}</span>`,
  ];
  const rows: string[] = [];
  if (src.command) rows.push(`<dt>${esc(l.t('command'))}</dt><dd class="code">${esc(src.command)}</dd>`);
  if (s.startedAt !== null && s.endedAt !== null) {
    rows.push(
      `<dt>${esc(l.t('period'))}</dt><dd>${esc(l.dateTime(s.startedAt))} – ${esc(l.dateTime(s.endedAt))}</dd>`,
      `<dt>${esc(l.t('duration'))}</dt><dd>${esc(l.duration(Math.max(0, s.endedAt - s.startedAt)))}</dd>`,
    );
  }
  rows.push(`<dt>${esc(l.t('calls'))}</dt><dd>${esc(l.number(s.calls))}</dd>`);
  if (src.allocationsFrom !== 'host') {
    const from = l.t(src.allocationsFrom === 'snapshot' ? 'allocationsFromSnapshot' : 'allocationsFromCalls');
    rows.push(`<dt>${esc(l.t('allocationsFrom'))}</dt><dd>${esc(from)}</dd>`);
  }
  const notes: string[] = [];
  if (src.damaged > 0) {
    const lines = src.damage.map((d) => l.number(d.line)).join(', ') + (src.damaged > src.damage.length ? ', …' : '');
    notes.push(
      `<p class="note warn" role="alert">${esc(l.t('damagedNote', { count: l.number(src.damaged), lines }))}</p>`,
    );
  }
  if (src.allocationsFrom === 'calls' && model.launch === undefined)
    notes.push(`<p class="note">${esc(l.t('rebuiltNote'))}</p>`);
  if (src.torn) notes.push(`<p class="note">${esc(l.t('tornNote'))}</p>`);
  if (src.capped) notes.push(`<p class="note">${esc(l.t('cappedNote'))}</p>`);
  const omitted = omittedSections(model);
  if (omitted.length > 0) {
    const sections = l.list(omitted.map((section) => l.t(SECTION_KEYS[section])));
    notes.push(`<p class="note">${esc(l.t('omittedNote', { sections }))}</p>`);
  }
  return `<header><h1>${esc(l.t('title'))}</h1><p class="meta">${meta.join('')}</p><dl>${rows.join('')}</dl>${notes.join('')}</header>`;
}

function summary(model: ReportModel, l: Localizer): string {
  const s = model.summary;
  const at = l.t('atEnd');
  const pk = l.t('peak');
  const lv = (label: string, value: string): string => l.t('labelValue', { label, value });
  const totals = (['reserved', 'committed', 'external', 'heap'] as const).map((k) =>
    card(l.t(k), l.bytes(s.current[k]), lv(pk, l.bytes(s.peak[k]))),
  );
  totals.push(card(l.t('regions'), l.number(s.current.regions), lv(pk, l.number(s.peak.regions))));
  const failures = FAILURE_GROUPS.map(
    (g) =>
      `<div class="card"><div class="k">${swatch(LEVEL_COLORS[g])} ${levelTitle(g, l)}</div><div class="v">${esc(l.number(s.failures.byLevel[g]))}</div></div>`,
  );
  const reasons = Object.entries(s.failures.byReason)
    .sort((a, b) => b[1] - a[1])
    .map(
      ([r, n]) =>
        `<tr><td>${esc(l.reason(r))} <span class="code">(${esc(r)})</span></td><td class="n">${esc(l.number(n))}</td></tr>`,
    )
    .join('');
  return `<section id="summary"><h2>${esc(l.t('summary'))}</h2>
<p class="meta">${esc(at)}</p><div class="cards">${totals.join('')}</div>
<h3>${esc(lv(l.t('failuresTotal'), l.number(s.failures.total)))}</h3><div class="cards">${failures.join('')}</div>
${reasons ? `<h3>${esc(l.t('failuresByReason'))}</h3><table><thead><tr><th>${esc(l.t('reason'))}</th><th class="n">${esc(l.t('count'))}</th></tr></thead><tbody>${reasons}</tbody></table>` : ''}
</section>`;
}

function chartSection(model: ReportModel, l: Localizer): string {
  if (isOmitted(model, 'samples'))
    return `<section id="chart"><h2>${esc(l.t('chart'))}</h2>${omittedCap('samplesOmitted', l)}</section>`;
  const svg = chartSvg(model, l);
  const legend = [
    `<span><span class="line" style="border-color:${SERIES.reserved}"></span> ${esc(l.t('reserved'))}</span>`,
    `<span><span class="line dash" style="border-color:${SERIES.committed}"></span> ${esc(l.t('committed'))}</span>`,
    `<span><span class="line dash" style="border-color:${SERIES.external}"></span> ${esc(l.t('external'))}</span>`,
    `<span><span class="line dash" style="border-color:${SERIES.heap}"></span> ${esc(l.t('heap'))}</span>`,
  ];
  if (model.policy.commitLimit !== null)
    legend.push(
      `<span><span class="line dash" style="border-color:#c92a2a"></span> ${esc(l.t('commitLimit'))} (${esc(l.bytes(model.policy.commitLimit))})</span>`,
    );
  const markers = FAILURE_GROUPS.map((g) => `<span>${swatch(LEVEL_COLORS[g])} ${esc(l.t(LEVEL_KEYS[g]))}</span>`);
  return `<section id="chart"><h2>${esc(l.t('chart'))}</h2>${
    svg
      ? `${svg}<div class="legend">${legend.join('')}</div>${
          isOmitted(model, 'failures')
            ? omittedCap('markersOmitted', l)
            : `<div class="legend"><span>${esc(l.t('failureMarkers'))}</span>${markers.join('')}</div>`
        }`
      : `<p class="cap">${esc(l.t('chartNoSamples'))}</p>`
  }</section>`;
}

function clerksSection(model: ReportModel, l: Localizer): string {
  if (model.clerks.length === 0)
    return `<section id="clerks"><h2>${esc(l.t('clerks'))}</h2><p class="cap">${esc(l.t('noClerks'))}</p></section>`;
  const rows = model.clerks
    .map(
      (c) =>
        `<tr><td>${c.tag === null ? esc(l.t('untagged')) : `<span class="code">${esc(c.tag)}</span>`}</td><td class="n">${esc(l.number(c.regions))}</td><td class="n">${esc(l.bytes(c.reserved))}</td><td class="n">${esc(l.bytes(c.committed))}</td></tr>`,
    )
    .join('');
  return `<section id="clerks"><h2>${esc(l.t('clerks'))}</h2><table><thead><tr><th>${esc(l.t('tag'))}</th><th class="n">${esc(l.t('regions'))}</th><th class="n">${esc(l.t('reserved'))}</th><th class="n">${esc(l.t('committed'))}</th></tr></thead><tbody>${rows}</tbody></table></section>`;
}

async function failuresSection(model: ReportModel, l: Localizer, sink: ReportSink, max: number): Promise<void> {
  sink.write(`<section id="failures"><h2>${esc(l.t('failuresByLevel'))}</h2>`);
  if (isOmitted(model, 'failures')) {
    sink.write(`${omittedCap('failuresOmitted', l)}</section>`);
    return;
  }
  for (const group of model.failureGroups) {
    const g = group.level;
    sink.write(`<h3>${swatch(LEVEL_COLORS[g])} ${levelTitle(g, l)} — ${esc(l.number(group.count))}</h3>`);
    if (group.count === 0) {
      sink.write(`<p class="cap">${esc(l.t('noFailures'))}</p>`);
      continue;
    }
    const reasons = Object.entries(group.reasons)
      .map(([r, n]) => `${esc(l.reason(r))} (${esc(l.number(n))})`)
      .join(', ');
    sink.write(
      `<dl><dt>${esc(l.t('bytesRefused'))}</dt><dd>${esc(l.bytes(group.bytes))}</dd><dt>${esc(l.t('reasons'))}</dt><dd>${reasons}</dd></dl>`,
    );
    sink.write(
      `<table><thead><tr><th>${esc(l.t('time'))}</th><th>${esc(l.t('method'))}</th><th class="n">${esc(l.t('size'))}</th><th>${esc(l.t('result'))}</th><th>${esc(l.t('reason'))}</th><th>${esc(l.t('tag'))}</th><th>${esc(l.t('address'))}</th></tr></thead><tbody>`,
    );
    let shown = 0;
    for (const f of model.failures.events(g)) {
      if (shown === max) break;
      shown++;
      sink.write(
        `<tr><td class="t">${esc(l.time(f.time, true))}</td><td class="code">${esc(f.method)}</td><td class="n">${esc(l.bytes(f.size))}</td><td class="code">${esc(f.hrName)}</td><td>${esc(l.reason(f.reason))}</td><td class="code">${f.tag === null ? '' : esc(f.tag)}</td><td class="code">${f.address === null ? '' : esc(f.address)}</td></tr>`,
      );
      if (sink.full) await sink.flush();
    }
    sink.write('</tbody></table>');
    if (group.count > shown)
      sink.write(
        `<p class="cap">${esc(l.t('eventsCapped', { shown: l.number(shown), total: l.number(group.count) }))}</p>`,
      );
  }
  sink.write('</section>');
}

async function allocationsSection(model: ReportModel, l: Localizer, sink: ReportSink, max: number): Promise<void> {
  const list = model.allocations;
  if (isOmitted(model, 'allocations')) {
    sink.write(
      `<section id="allocations"><h2>${esc(l.t('allocations'))}</h2>${omittedCap('allocationsOmitted', l)}</section>`,
    );
    return;
  }
  sink.write(`<section id="allocations"><h2>${esc(l.t('allocations'))} — ${esc(l.number(list.length))}</h2>`);
  if (list.length === 0) {
    sink.write(`<p class="cap">${esc(l.t('noAllocations'))}</p></section>`);
    return;
  }
  sink.write(
    `<table><thead><tr><th>${esc(l.t('base'))}</th><th class="n">${esc(l.t('reserved'))}</th><th class="n">${esc(l.t('committed'))}</th><th>${esc(l.t('level'))}</th><th>${esc(l.t('tag'))}</th><th>${esc(l.t('protect'))}</th><th class="n">${esc(l.t('runs'))}</th><th>${esc(l.t('created'))}</th></tr></thead><tbody>`,
  );
  const n = Math.min(max, list.length);
  for (let i = 0; i < n; i++) {
    const a = list[i]!;
    const protect =
      a.protect === 'mixed' ? esc(l.t('mixed')) : a.protect === 0 ? esc(l.t('none')) : esc(protectName(a.protect));
    sink.write(
      `<tr><td class="code">${hex(a.base)}</td><td class="n">${esc(l.bytes(a.size))}</td><td class="n">${esc(l.bytes(a.committed))}</td><td class="code">${a.level}</td><td class="code">${a.tag === null ? '' : esc(a.tag)}</td><td class="code">${protect}</td><td class="n">${esc(l.number(a.runs))}</td><td class="t">${esc(l.time(a.created))}</td></tr>`,
    );
    if (sink.full) await sink.flush();
  }
  sink.write('</tbody></table>');
  if (list.length > n)
    sink.write(`<p class="cap">${esc(l.t('rowsCapped', { shown: l.number(n), total: l.number(list.length) }))}</p>`);
  sink.write('</section>');
}

/** A launched program: its command and exit, its traced processes, its call sites and its refusals with stacks. */
function launchSection(model: ReportModel, l: Localizer): string {
  const x = model.launch;
  if (!x) return '';
  const exit =
    x.signal !== null
      ? l.t('launchKilled', { signal: x.signal })
      : x.exitCode !== null
        ? l.t('launchExitCode', { code: String(x.exitCode) })
        : l.t('launchRunning');
  const command = [x.program, ...x.args].join(' ');
  const procs = x.processes
    .map(
      (p) =>
        `<tr><td class="n">${esc(String(p.pid))}</td><td class="code">${esc(p.exe)}</td><td class="n">${esc(l.number(Object.values(p.calls).reduce((n, c) => n + c.calls, 0)))}</td><td class="n">${esc(l.bytes(p.peaks.committed))}</td><td class="n">${esc(l.bytes(p.peaks.heap))}</td><td class="n">${esc(l.number(p.lost))}</td></tr>`,
    )
    .join('');
  const sites = (list: typeof x.topByLive, live: boolean): string =>
    list.length === 0
      ? `<p class="cap">${esc(l.t('launchNone'))}</p>`
      : `<table><thead><tr><th>${esc(l.t('launchSite'))}</th><th class="n">${esc(l.t(live ? 'launchLive' : 'launchPeak'))}</th><th class="n">${esc(l.t('launchBlocks'))}</th><th class="n">${esc(l.t('launchAllocated'))}</th><th class="n">${esc(l.t('launchCalls'))}</th></tr></thead><tbody>${list
          .map(
            (s) =>
              `<tr><td class="code" title="${esc(s.frames.join('\n'))}">${esc(s.site)}</td><td class="n">${esc(l.bytes(live ? s.live : s.peakLive))}</td><td class="n">${esc(l.number(s.liveBlocks))}</td><td class="n">${esc(l.bytes(s.allocated))}</td><td class="n">${esc(l.number(s.calls))}</td></tr>`,
          )
          .join('')}</tbody></table>`;
  const refusals =
    x.refusals.length === 0
      ? `<p class="cap">${esc(l.t('launchNone'))}</p>`
      : `<table><thead><tr><th>${esc(l.t('time'))}</th><th>${esc(l.t('method'))}</th><th class="n">${esc(l.t('size'))}</th><th>${esc(l.t('level'))}</th><th>${esc(l.t('reason'))}</th><th>${esc(l.t('launchSite'))}</th></tr></thead><tbody>${x.refusals
          .map(
            (r) =>
              `<tr><td class="t">${esc(l.time(r.time, true))}</td><td class="code">${esc(r.method)}</td><td class="n">${esc(l.bytes(r.size))}</td><td class="code">${esc(r.level)}</td><td>${esc(l.reason(r.reason))}</td><td class="code">${r.frames.map(esc).join('<br>')}</td></tr>`,
          )
          .join('')}</tbody></table>`;
  const sampled =
    x.sampleBytes > 0 ? `<p class="cap">${esc(l.t('launchSampled', { bytes: l.bytes(x.sampleBytes) }))}</p>` : '';
  return `<section id="launch"><h2>${esc(l.t('launch'))}</h2><dl><dt>${esc(l.t('launchCommand'))}</dt><dd class="code">${esc(command)}</dd><dt>${esc(l.t('launchExit'))}</dt><dd>${esc(exit)}</dd></dl><h3>${esc(l.t('launchProcesses'))}</h3><table><thead><tr><th class="n">PID</th><th></th><th class="n">${esc(l.t('launchCalls'))}</th><th class="n">${esc(l.t('peak'))} ${esc(l.t('committed'))}</th><th class="n">${esc(l.t('peak'))} ${esc(l.t('heap'))}</th><th class="n">${esc(l.t('launchLost'))}</th></tr></thead><tbody>${procs}</tbody></table><h3>${esc(l.t('launchTopLive'))}</h3>${sampled}${sites(x.topByLive, true)}<h3>${esc(l.t('launchTopPeak'))}</h3>${sites(x.topByPeak, false)}<h3>${esc(l.t('launchRefusals'))}</h3>${refusals}</section>`;
}

function policyAndHost(model: ReportModel, l: Localizer): string {
  const p = model.policy;
  const h = model.host;
  const limit = (v: number | null): string => (v === null ? l.t('none') : l.bytes(v));
  const dd = (k: MessageKey, v: string, code = false): string =>
    `<dt>${esc(l.t(k))}</dt><dd${code ? ' class="code"' : ''}>${esc(v)}</dd>`;
  const thresholds = LEVELS.map((lv) => `${lv} ${l.percent(p.thresholds[lv])}`).join(', ');
  const faults = p.faults.length === 0 ? l.t('none') : p.faults.map((f) => JSON.stringify(f)).join('; ');
  const unknown = l.t('unknown');
  const os = [h.platform, h.release, h.arch].filter((v): v is string => v !== null).join(' ') || unknown;
  const state = h.state === null ? unknown : h.state === 'available' ? l.t('stateAvailable') : l.t('stateUnavailable');
  const mem =
    h.memoryAvailable === null
      ? unknown
      : l.t(h.memoryAvailable === 'Low' ? 'memLow' : h.memoryAvailable === 'High' ? 'memHigh' : 'memNeutral');
  return `<section id="policy" class="two"><div><h2>${esc(l.t('policy'))}</h2><dl>${[
    dd('commitLimit', limit(p.commitLimit)),
    dd('reserveLimit', limit(p.reserveLimit)),
    dd('thresholds', thresholds),
    dd('processWait', l.duration(p.processCriticalWaitMs)),
    dd('faults', faults, p.faults.length > 0),
    dd('seed', String(p.seed)),
  ].join('')}</dl></div><div><h2>${esc(l.t('hostInfo'))}</h2><dl>${[
    dd('computer', h.hostname ?? unknown),
    dd('os', os),
    dd('backend', h.backend, true),
    dd('pageSize', l.bytes(h.pageSize)),
    ...(h.allocationGranularity === null ? [] : [dd('granularity', l.bytes(h.allocationGranularity))]),
    dd('hostState', state),
    dd('memoryAvailable', mem),
    dd('version', h.hostmem ?? unknown),
  ].join('')}</dl></div></section>`;
}

/** Write the whole HTML document. */
export async function writeHtmlReport(model: ReportModel, sink: ReportSink, options: HtmlOptions = {}): Promise<void> {
  const l = localizer(model.language);
  sink.write(
    `<!DOCTYPE html>\n<html lang="${model.language}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="generator" content="hostmem"><title>${esc(l.t('title'))} — ${esc(l.dateTime(model.generatedAt))}</title><style>${CSS}</style></head><body>\n`,
  );
  sink.write(header(model, l));
  sink.write(summary(model, l));
  sink.write(chartSection(model, l));
  sink.write(clerksSection(model, l));
  sink.write(launchSection(model, l));
  await failuresSection(model, l, sink, options.maxEventsPerLevel ?? 1000);
  await allocationsSection(model, l, sink, options.maxAllocationRows ?? 10_000);
  sink.write(policyAndHost(model, l));
  sink.write(`<footer>${esc(l.t('footer', { version: model.host.hostmem ?? '' }))}</footer>\n</body></html>\n`);
}
