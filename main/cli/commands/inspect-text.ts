/**
 * How `hostmem ps` and `hostmem inspect` print for people: sizes, the summary by type, region tables and the
 * changes between two walks.
 */
import type { ProcessRegion, ProcessWalk } from '../../../native';
import {
  REGION_TYPE_TITLES,
  REGION_TYPES,
  regionType,
  type LeakSignal,
  type RegionChange,
  type TypeSummary,
  type WalkDiff,
} from '../../inspect';
import { formatProtect } from '../exec/names';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

/** 1536 → "1.5 KiB"; whole bytes below 1 KiB. */
export function formatSize(bytes: number): string {
  let v = Math.abs(bytes);
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  const text = u === 0 ? String(v) : v >= 100 ? v.toFixed(0) : v.toFixed(1);
  return `${bytes < 0 ? '-' : ''}${text} ${UNITS[u]}`;
}

const signed = (bytes: number): string => (bytes > 0 ? `+${formatSize(bytes)}` : formatSize(bytes));
const maybe = (bytes: number | null): string => (bytes === null ? '-' : formatSize(bytes));
const hex = (n: number): string => n.toString(16).padStart(12, '0');

function table(head: readonly string[], rows: readonly (readonly string[])[], right: readonly boolean[]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)].join('\n') + '\n';
}

/** The summary by type, VMMap's top pane: one row per type and a total (free excluded). */
export function summaryTable(s: TypeSummary): string {
  const rows = REGION_TYPES.map((t) => {
    const x = s.byType[t];
    return [
      REGION_TYPE_TITLES[t],
      formatSize(x.size),
      formatSize(x.committed),
      maybe(x.resident),
      maybe(x.private),
      String(x.regions),
    ];
  });
  const t = s.total;
  rows.push([
    'Total',
    formatSize(t.size),
    formatSize(t.committed),
    maybe(t.resident),
    maybe(t.private),
    String(t.regions),
  ]);
  return table(['Type', 'Size', 'Committed', 'Resident', 'Private', 'Regions'], rows, [
    false,
    true,
    true,
    true,
    true,
    true,
  ]);
}

function details(r: ProcessRegion): string {
  return r.file ?? r.label ?? '';
}

/** Regions as a table, in the order given. */
export function regionTable(regions: readonly ProcessRegion[]): string {
  const rows = regions.map((r) => [
    hex(r.baseAddress),
    formatSize(r.size),
    formatSize(r.committed),
    maybe(r.resident),
    maybe(r.private),
    REGION_TYPE_TITLES[regionType(r)],
    r.state.slice(4),
    r.state === 'MEM_COMMIT' ? formatProtect(r.protect) : '',
    details(r),
  ]);
  return table(['Address', 'Size', 'Committed', 'Resident', 'Private', 'Type', 'State', 'Protect', 'Details'], rows, [
    false,
    true,
    true,
    true,
    true,
    false,
    false,
    false,
    false,
  ]);
}

/** The `n` largest regions that are not free, largest first. */
export function largestRegions(walk: ProcessWalk, n: number): ProcessRegion[] {
  return walk.regions
    .filter((r) => r.state !== 'MEM_FREE')
    .sort((a, b) => b.size - a.size || a.baseAddress - b.baseAddress)
    .slice(0, n);
}

function changeLine(kind: string, c: RegionChange): string {
  const what = c.fields
    .map((f) => {
      if (f === 'size')
        return `size ${formatSize(c.before.size)} → ${formatSize(c.after.size)} (${signed(c.sizeDelta)})`;
      if (f === 'resident' && c.residentDelta !== null) return `resident ${signed(c.residentDelta)}`;
      if (f === 'private' && c.privateDelta !== null) return `private ${signed(c.privateDelta)}`;
      if (f === 'protect') return `protect ${formatProtect(c.before.protect)} → ${formatProtect(c.after.protect)}`;
      if (f === 'state') return `${c.before.state} → ${c.after.state}`;
      return f;
    })
    .join(', ');
  const moved = c.before.baseAddress !== c.after.baseAddress ? ` (was at ${hex(c.before.baseAddress)})` : '';
  return `  ${kind.padEnd(7)} ${hex(c.after.baseAddress)}${moved}  ${REGION_TYPE_TITLES[regionType(c.after)]}  ${what}  ${details(c.after)}`.trimEnd();
}

/** What changed between two walks: type totals that moved, then up to `limit` region changes, largest first. */
export function diffText(d: WalkDiff, limit: number): string {
  const out: string[] = [];
  const moved = REGION_TYPES.filter((t) => {
    const x = d.byType[t];
    return (
      t !== 'free' &&
      (x.size !== 0 || x.committed !== 0 || (x.resident ?? 0) !== 0 || (x.private ?? 0) !== 0 || x.regions !== 0)
    );
  });
  for (const t of moved) {
    const x = d.byType[t];
    const parts = [`committed ${signed(x.committed)}`, `size ${signed(x.size)}`];
    if (x.resident !== null && x.resident !== 0) parts.push(`resident ${signed(x.resident)}`);
    if (x.private !== null && x.private !== 0) parts.push(`private ${signed(x.private)}`);
    if (x.regions !== 0) parts.push(`regions ${x.regions > 0 ? '+' : ''}${x.regions}`);
    out.push(`  ${REGION_TYPE_TITLES[t].padEnd(13)} ${parts.join(', ')}`);
  }
  const lines: Array<[number, string]> = [
    ...d.added.map((r): [number, string] => [
      r.size,
      `  added   ${hex(r.baseAddress)}  ${REGION_TYPE_TITLES[regionType(r)]}  ${formatSize(r.size)}  ${details(r)}`.trimEnd(),
    ]),
    ...d.removed.map((r): [number, string] => [
      r.size,
      `  removed ${hex(r.baseAddress)}  ${REGION_TYPE_TITLES[regionType(r)]}  ${formatSize(r.size)}  ${details(r)}`.trimEnd(),
    ]),
    ...d.grown.map((c): [number, string] => [Math.abs(c.sizeDelta), changeLine('grown', c)]),
    ...d.shrunk.map((c): [number, string] => [Math.abs(c.sizeDelta), changeLine('shrunk', c)]),
    ...d.changed.map((c): [number, string] => [
      Math.abs(c.residentDelta ?? 0) + Math.abs(c.privateDelta ?? 0),
      changeLine('changed', c),
    ]),
  ];
  lines.sort((a, b) => b[0] - a[0]);
  for (const [, line] of lines.slice(0, limit)) out.push(line);
  if (lines.length > limit) out.push(`  … and ${lines.length - limit} more region changes`);
  if (out.length === 0) out.push('  no change');
  return out.join('\n') + '\n';
}

/** 2_400_000 ms → "~40 min"; under a minute "< 1 min". */
export function formatEta(ms: number): string {
  const min = ms / 60_000;
  if (min < 1) return '< 1 min';
  if (min < 120) return `~${Math.round(min)} min`;
  const h = min / 60;
  if (h < 48) return `~${Math.round(h)} h`;
  return `~${Math.round(h / 24)} days`;
}

const perMinute = (bytesPerSecond: number): string => `${signed(Math.round(bytesPerSecond * 60))}/min`;

/**
 * The leak signal in one line: the growth rates over the window, the type growing fastest, and when committed bytes
 * reach the limit at that pace.
 */
export function growthText(g: LeakSignal): string {
  const t = g.total;
  const parts = [`committed ${perMinute(t.committed)}`];
  if (t.resident !== null) parts.push(`resident ${perMinute(t.resident)}`);
  if (t.private !== null) parts.push(`private ${perMinute(t.private)}`);
  let fastest: [string, string, number] | undefined;
  for (const type of REGION_TYPES) {
    if (type === 'free') continue;
    const r = g.byType[type];
    for (const [what, v] of [
      ['committed', r.committed],
      ['resident', r.resident],
      ['private', r.private],
    ] as const)
      if (v !== null && v > 0 && (fastest === undefined || v > fastest[2]))
        fastest = [REGION_TYPE_TITLES[type], what, v];
  }
  const span = Math.round((g.to - g.from) / 1000);
  let line = `growth over ${span} s (${g.walks} walks): ${parts.join(', ')}`;
  if (fastest) line += `; fastest: ${fastest[0]} ${fastest[1]} ${perMinute(fastest[2])}`;
  const p = g.projection;
  if (p !== undefined) {
    const limit =
      p.limit.kind === 'budget'
        ? `the ${formatSize(p.limit.bytes)} budget`
        : `the commit limit (at ${formatSize(p.limit.bytes)} for this process)`;
    line +=
      p.etaMs === null
        ? `; committed is not growing towards ${limit}`
        : p.etaMs === 0
          ? `; committed has reached ${limit}`
          : `; committed reaches ${limit} in ${formatEta(p.etaMs)}`;
  }
  return line;
}
