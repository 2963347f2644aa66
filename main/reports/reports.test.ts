/**
 * Reports from one session recorded here with the real host: every format (HTML, the CSV trio, JSON, and PDF where
 * Chromium is installed) built from it, checked against each other and against the host's own Stats; JSON against
 * docs/report.schema.json; whole-or-absent writes; clear errors; French and Chinese text without English left.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020';
import { MEM, PAGE } from '../../native/os-memory';
import { createHost, DEFAULT_POLICY, LEVELS, type HostStats } from '../host';
import { createSampler } from '../telemetry/sampler';
import { SessionRecorder } from '../telemetry/recorder';
import { takeSnapshot } from '../telemetry/snapshot';
import { SessionWriter, sessionHeader } from '../telemetry/session';
import {
  buildLiveReport,
  buildSessionReport,
  collectReportEvents,
  csvPaths,
  findChromium,
  localizer,
  MESSAGES,
  pdfHtml,
  REPORT_SECTIONS,
  ReportExistsError,
  ReportWriteError,
  selectSections,
  writeReport,
  type ReportModel,
  type ReportSection,
} from '.';
import { stringify } from 'csv-stringify/sync';
import { CSV_OPTIONS, csvLine, type Cell } from './csv';
import { esc } from './html';
import { parseCsv, pdfText } from './testing';
import { formatBytes, formatHex, formatTime, LANGUAGES } from '../vocabulary';

const dir = mkdtempSync(join(tmpdir(), 'hostmem-reports-'));
const MiB = 1024 * 1024;

function csvObjects(path: string): Record<string, string>[] {
  const [head, ...rows] = parseCsv(readFileSync(path, 'utf8'));
  return rows.map((r) => Object.fromEntries(head!.map((h, i) => [h, r[i] ?? ''])));
}

interface Recorded {
  readonly session: string;
  readonly stats: HostStats;
  readonly live: ReportModel;
}

/** Record a session with a mix of calls: failures at every level and without one, tags, a heap, a release. */
async function recordSession(): Promise<Recorded> {
  const policy = { ...DEFAULT_POLICY, commitLimit: 4 * MiB, processCriticalWaitMs: 0 };
  const host = createHost({ policy });
  const session = join(dir, 'mixed.session');
  const writer = new SessionWriter(session, sessionHeader(host.backend, host.pageSize, policy, 'reports.test'));
  const recorder = new SessionRecorder(host, writer);
  const collector = collectReportEvents(host);
  const sampler = createSampler(host, { intervalMs: 60_000 });
  sampler.onSample((s) => writer.append({ type: 'sample', ...s }));
  const snapshot = (label: string): void => {
    const snap = takeSnapshot(host, label);
    writer.append({ type: 'snapshot', t: snap.time, ...snap });
  };
  const RC = MEM.RESERVE | MEM.COMMIT;
  const RW = PAGE.READWRITE;
  snapshot('start');
  sampler.sampleNow();
  const kept: number[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await host.VirtualAlloc(null, MiB, RC, RW, 2, 'cache');
    assert.equal(r.hr, 0);
    kept.push(r.address!);
  }
  sampler.sampleNow();
  // A reservation committed in two runs with different protections, and one only reserved.
  const mixed = await host.VirtualAlloc(null, 256 * 1024, MEM.RESERVE, PAGE.READWRITE, 1, 'split');
  assert.equal(mixed.hr, 0);
  assert.equal((await host.VirtualAlloc(mixed.address, 64 * 1024, MEM.COMMIT, PAGE.READWRITE, 1)).hr, 0);
  assert.equal((await host.VirtualAlloc(mixed.address! + 128 * 1024, 64 * 1024, MEM.COMMIT, PAGE.READONLY, 1)).hr, 0);
  assert.equal((await host.VirtualAlloc(null, 2 * MiB, MEM.RESERVE, PAGE.READWRITE, 0)).hr, 0);
  // A heap block.
  const heap = await host.CreateMalloc(1);
  assert.equal(heap.hr, 0);
  assert.equal((await host.malloc(heap.malloc!)!.Alloc(4096, 1)).hr, 0);
  sampler.sampleNow();
  // Task- and AppDomain-critical requests over their thresholds are refused.
  for (let i = 0; i < 3; i++) assert.notEqual((await host.VirtualAlloc(null, MiB, RC, RW, 0, 'grow')).hr, 0);
  assert.notEqual((await host.VirtualAlloc(null, MiB, RC, RW, 1, 'grow')).hr, 0);
  // Failures without a level: a bad level, a free of nothing.
  assert.notEqual((await host.VirtualAlloc(null, 65536, RC, RW, 7)).hr, 0);
  assert.notEqual((await host.VirtualFree(0x1000, 0, MEM.RELEASE)).hr, 0);
  // Release one region.
  assert.equal((await host.VirtualFree(kept.pop()!, 0, MEM.RELEASE)).hr, 0);
  sampler.sampleNow();
  // A process-critical request over the limit (no wait): refused, and the host becomes unavailable.
  assert.notEqual((await host.VirtualAlloc(null, 8 * MiB, RC, RW, 2, 'huge')).hr, 0);
  assert.notEqual((await host.VirtualQuery(kept[0]!)).hr, 0);
  sampler.sampleNow();
  snapshot('end');
  const stats = host.stats();
  collector.stop();
  const live = buildLiveReport({ host, samples: sampler.samples(), collector, language: 'en' });
  recorder.stop();
  await writer.close();
  host.dispose();
  return { session, stats, live };
}

let rec: Recorded;
let model: ReportModel;
before(async () => {
  rec = await recordSession();
  model = await buildSessionReport(rec.session, { language: 'en' });
});

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

const ajv = new Ajv2020({ allErrors: true, strict: true });
const validateReport = ajv.compile(
  JSON.parse(readFileSync(join(process.cwd(), 'docs', 'report.schema.json'), 'utf8')) as object,
);

test('the session model and the live model agree with the host Stats', () => {
  const { stats, live } = rec;
  for (const m of [model, live]) {
    assert.equal(m.summary.current.reserved, stats.reserved);
    assert.equal(m.summary.current.committed, stats.committed);
    assert.equal(m.summary.current.external, stats.external);
    assert.equal(m.summary.current.heap, stats.heap);
    assert.equal(m.summary.current.regions, stats.regions);
    assert.deepEqual(m.summary.failures.byLevel, stats.failures);
    assert.equal(m.allocations.length, stats.regions);
    assert.equal(sum(m.allocations.map((a) => a.size)), stats.reserved);
    assert.equal(sum(m.allocations.map((a) => a.committed)), stats.committed);
  }
  for (const level of LEVELS) assert.ok(stats.failures[level] > 0, `a failure at ${level}`);
  assert.ok(stats.failures.other > 0, 'failures without a level');
  assert.ok(stats.heap > 0);
  assert.equal(model.summary.calls, live.summary.calls);
  assert.equal(model.host.state, 'unavailable');
  assert.equal(model.policy.commitLimit, 4 * MiB);
  assert.equal(model.source.command, 'reports.test');
  assert.ok(model.allocations.some((a) => a.protect === 'mixed'));
  assert.ok(model.allocations.some((a) => a.protect === 0 && a.committed === 0));
  assert.deepEqual(
    model.clerks.map((c) => c.tag),
    ['cache', 'split', null],
  );
  assert.ok(model.summary.peak.committed >= 3 * MiB);
});

test('HTML, CSV, JSON (and PDF where Chromium is) agree with each other and with Stats', async (t) => {
  const { stats } = rec;
  const out = join(dir, 'all');
  mkdirSync(out);
  await writeReport(model, join(out, 'r.html'));
  const csv = await writeReport(model, join(out, 'r.csv'));
  assert.deepEqual(csv, csvPaths(join(out, 'r.csv')));
  await writeReport(model, join(out, 'r.json'));

  // JSON: valid against the schema, same totals and counts.
  const json = JSON.parse(readFileSync(join(out, 'r.json'), 'utf8')) as {
    schema: string;
    summary: { current: Record<string, number>; failures: { total: number; byLevel: Record<string, number> } };
    allocations: Array<{ size: number; committed: number }>;
    failures: Array<{ level: string }>;
    samples: unknown[];
  };
  assert.ok(validateReport(json), JSON.stringify(validateReport.errors, null, 2));
  assert.equal(json.schema, 'hostmem.report/1');
  assert.equal(json.summary.current.reserved, stats.reserved);
  assert.equal(json.summary.current.committed, stats.committed);
  assert.deepEqual(json.summary.failures.byLevel, stats.failures);
  assert.equal(sum(json.allocations.map((a) => a.size)), stats.reserved);
  assert.equal(sum(json.allocations.map((a) => a.committed)), stats.committed);
  assert.equal(json.failures.length, json.summary.failures.total);
  for (const level of [...LEVELS, 'other'] as const)
    assert.equal(json.failures.filter((f) => f.level === level).length, stats.failures[level], level);
  assert.equal(json.samples.length, model.samples.length);

  // CSV: the same allocations, failures and samples.
  const [allocCsv, failCsv, sampleCsv] = csvPaths(join(out, 'r.csv'));
  const allocs = csvObjects(allocCsv);
  assert.equal(allocs.length, stats.regions);
  assert.equal(sum(allocs.map((a) => Number(a.size))), stats.reserved);
  assert.equal(sum(allocs.map((a) => Number(a.committed))), stats.committed);
  const fails = csvObjects(failCsv);
  for (const level of [...LEVELS, 'other'] as const)
    assert.equal(fails.filter((f) => f.level === level).length, stats.failures[level], level);
  assert.ok(fails.every((f) => /^\d{4}-\d\d-\d\dT/.test(f.time!) && /^0x[0-9A-F]{8}$/.test(f.hr!)));
  assert.equal(csvObjects(sampleCsv).length, model.samples.length);
  assert.equal(
    Number(csvObjects(sampleCsv).at(-1)!.committed),
    model.samples.at(-1)!.committed,
    'samples are plain numbers',
  );

  // HTML: self-contained, the totals and the counts by level as the summary shows them.
  const html = readFileSync(join(out, 'r.html'), 'utf8');
  const l = localizer('en');
  assert.doesNotMatch(html, /<script|<link|src="http|href="http|url\(/i, 'no external resource, no script');
  assert.ok(html.includes(`<div class="v">${esc(l.bytes(stats.reserved))}</div>`));
  assert.ok(html.includes(`<div class="v">${esc(l.bytes(stats.committed))}</div>`));
  for (const level of [...LEVELS, 'other'] as const)
    assert.ok(
      html.includes(`(${level})</span> — ${l.number(stats.failures[level])}</h3>`),
      `${level} group shows ${stats.failures[level]}`,
    );
  assert.equal(html.match(/<tr><td class="code">0x/g)?.length, stats.regions, 'one allocation row per region');
  assert.match(html, /<svg class="chart"[^>]*>.*<polyline/s);
  assert.match(html, /@media print/);

  // PDF: where Chromium is installed (never under Wine).
  const chromium = findChromium();
  if (chromium === undefined) {
    t.diagnostic('PDF skipped: no Chromium (/usr/bin/chromium or HOSTMEM_CHROMIUM)');
    return;
  }
  await writeReport(model, join(out, 'r.pdf'));
  assert.equal(readFileSync(join(out, 'r.pdf')).subarray(0, 5).toString('latin1'), '%PDF-');
  assert.deepEqual(readdirSync(out).sort(), ['r.csv', 'r.failures.csv', 'r.html', 'r.json', 'r.pdf', 'r.samples.csv']);
});

test('a report is whole or absent: existing files are kept without force, replaced with it; no temp file left', async () => {
  const out = join(dir, 'atomic');
  mkdirSync(out);
  const target = join(out, 'r.json');
  writeFileSync(target, 'keep me');
  await assert.rejects(writeReport(model, target), ReportExistsError);
  assert.equal(readFileSync(target, 'utf8'), 'keep me');
  // One of the CSV trio in the way: none is written.
  writeFileSync(join(out, 'r.samples.csv'), 'keep');
  await assert.rejects(writeReport(model, join(out, 'r.csv')), ReportExistsError);
  assert.equal(existsSync(join(out, 'r.csv')), false);
  await writeReport(model, target, { force: true });
  assert.equal(JSON.parse(readFileSync(target, 'utf8')).schema, 'hostmem.report/1');
  await writeReport(model, join(out, 'r.csv'), { force: true });
  assert.deepEqual(readdirSync(out).sort(), ['r.csv', 'r.failures.csv', 'r.json', 'r.samples.csv']);
  // A printer that fails leaves nothing behind.
  await assert.rejects(
    writeReport(model, join(out, 'r.pdf'), {
      print: async () => {
        throw new Error('printer on fire');
      },
    }),
    /printer on fire/,
  );
  assert.equal(existsSync(join(out, 'r.pdf')), false);
  // The app's printer (Electron's printToPDF) is any (html) => bytes.
  let printed = '';
  await writeReport(model, join(out, 'r.pdf'), {
    print: async (html) => {
      printed = html;
      return Buffer.from('%PDF-1.4\n%fake\n');
    },
  });
  assert.match(printed, /^<!DOCTYPE html>/);
  assert.equal(readFileSync(join(out, 'r.pdf'), 'latin1'), '%PDF-1.4\n%fake\n');
  assert.equal(
    readdirSync(out).some((f) => f.endsWith('.tmp')),
    false,
  );
});

test('an unwritable path is a clear error', async () => {
  await assert.rejects(
    writeReport(model, join(dir, 'no-such-folder', 'r.html')),
    (e: unknown) => e instanceof ReportWriteError && /no-such-folder.*the folder does not exist/.test(e.message),
  );
  const folder = join(dir, 'a-folder.html');
  mkdirSync(folder);
  await assert.rejects(
    writeReport(model, folder, { force: true }),
    (e: unknown) => e instanceof ReportWriteError && /it is a folder/.test(e.message),
  );
  await assert.rejects(writeReport(model, join(dir, 'r.txt')), /unknown report format/);
});

test('French and Chinese reports leave no English UI text, and format numbers for their language', async () => {
  const enValues = Object.values(MESSAGES.en).filter((v) => !v.includes('{'));
  for (const lang of ['fr', 'zh-CN'] as const) {
    const m = { ...model, language: lang };
    const out = join(dir, `r.${lang}.html`);
    await writeReport(m, out);
    const html = readFileSync(out, 'utf8');
    assert.match(html, new RegExp(`<html lang="${lang}">`));
    for (const en of enValues) {
      assert.ok(!html.includes(`>${esc(en)}<`), `${lang}: English "${en}" as an element's text`);
      if (en.length >= 12) assert.ok(!html.includes(esc(en)), `${lang}: English "${en}"`);
    }
    for (const key of Object.keys(MESSAGES.en) as Array<keyof typeof MESSAGES.en>)
      assert.notEqual(MESSAGES[lang][key], MESSAGES.en[key], `${lang}.${key} is translated`);
    // Each language's own byte format.
    assert.ok(html.includes(esc(localizer(lang).bytes(rec.stats.reserved))));
    // The PDF's HTML too.
    assert.ok((await pdfHtml(m)).includes(esc(MESSAGES[lang].summary)));
  }
  assert.equal(localizer('fr').bytes(1.5 * MiB), '1,5\u00a0Mio');
  assert.equal(localizer('en').bytes(1.5 * MiB), '1.5\u00a0MiB');
});

test('the report writes sizes, times and addresses as the dashboard does (main/vocabulary/format.ts)', () => {
  const at = new Date(2026, 11, 7, 19, 0, 37).getTime();
  for (const lang of LANGUAGES) {
    const l = localizer(lang);
    assert.equal(l.bytes(228 * 1024), formatBytes(228 * 1024, lang));
    assert.equal(l.time(at), formatTime(at, lang));
  }
  // 228 KiB, not 228.0 KiB; 19:00:37, not 07:00:37 PM; upper-case hex.
  assert.equal(localizer('en').bytes(228 * 1024), '228\u00a0KiB');
  assert.equal(localizer('en').time(at), '19:00:37');
  assert.equal(formatHex(0x7f12a0000), '0x7F12A0000');
});

test('csvLine writes what csv-stringify writes, for plain and awkward cells alike', () => {
  const rows: Cell[][] = [
    ['0x7f0000', 65536, 'eTaskCritical', 'cache', null, '', 0, 1.5],
    ['a,b', 'say "hi"', 'line\nbreak', 'cr\rhere', '=1+1', '+x', '-y', '@z', '\ttab', 'ok', -5],
    ['日本語', 'r12+0x3000', 'HRESULT_FROM_WIN32(ERROR_INVALID_ADDRESS)', ' spaced ', "'q'"],
  ];
  for (const row of rows) {
    assert.equal(csvLine(row), stringify([row], CSV_OPTIONS));
    assert.equal(
      csvLine(
        row,
        row.map(() => true),
      ),
      stringify([row], CSV_OPTIONS),
    );
  }
});

// ---------------------------------------------------------------------------------------------- sections left out

interface JsonReport {
  source: { omitted?: string[] };
  summary: unknown;
  clerks: unknown;
  policy: unknown;
  host: unknown;
  failureGroups: unknown[];
  allocations: unknown[];
  failures: unknown[];
  samples: unknown[];
}

const readJson = (path: string): JsonReport => JSON.parse(readFileSync(path, 'utf8')) as JsonReport;
const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v));
const squash = (text: string): string => text.replace(/\s+/g, ' ');

/** What the HTML shows for a section: its note when left out, else its rows (or the chart). */
function htmlShows(html: string, section: ReportSection): { note: boolean; content: boolean } {
  const l = localizer('en');
  switch (section) {
    case 'allocations':
      return {
        note: html.includes(esc(l.t('allocationsOmitted'))),
        content: /<tr><td class="code">0x/.test(html),
      };
    case 'failures':
      return {
        note: html.includes(esc(l.t('failuresOmitted'))),
        content: [...LEVELS, 'other'].every((level) => html.includes(`(${level})</span> — `)),
      };
    case 'samples':
      return { note: html.includes(esc(l.t('samplesOmitted'))), content: html.includes('<svg class="chart"') };
  }
}

test('selectSections leaves each section out (and only it) while summary, clerks, policy and host stay whole', () => {
  const { stats } = rec;
  for (const section of REPORT_SECTIONS) {
    const m = selectSections(
      model,
      REPORT_SECTIONS.filter((s) => s !== section),
    );
    assert.deepEqual(m.source.omitted, [section]);
    assert.equal(m.summary, model.summary);
    assert.equal(m.clerks, model.clerks);
    assert.equal(m.policy, model.policy);
    assert.equal(m.host, model.host);
    assert.equal(m.summary.current.committed, stats.committed);
    assert.deepEqual(m.summary.failures.byLevel, stats.failures);
    assert.equal(m.allocations.length, section === 'allocations' ? 0 : stats.regions);
    assert.equal(m.failures.length, section === 'failures' ? 0 : model.failures.length);
    assert.equal(m.failureGroups.length, section === 'failures' ? 0 : 4);
    assert.equal(m.samples.length, section === 'samples' ? 0 : model.samples.length);
  }
  // The original is untouched; everything included leaves nothing out; a section already out stays out.
  assert.equal(model.source.omitted, undefined);
  assert.deepEqual(selectSections(model, REPORT_SECTIONS).source.omitted, []);
  const once = selectSections(model, ['failures', 'samples']);
  assert.deepEqual(selectSections(once, REPORT_SECTIONS).source.omitted, ['allocations']);
  assert.deepEqual(selectSections(once, ['samples']).source.omitted, ['allocations', 'failures']);
  assert.deepEqual(selectSections(model, []).source.omitted, ['allocations', 'failures', 'samples']);
});

test('each section left out, in every format: JSON valid and empty there, no CSV file, a note in HTML and PDF', async () => {
  const { stats } = rec;
  const l = localizer('en');
  for (const section of REPORT_SECTIONS) {
    const m = selectSections(
      model,
      REPORT_SECTIONS.filter((s) => s !== section),
    );
    const out = join(dir, `without-${section}`);
    mkdirSync(out);

    // JSON: valid, names the section, empty only there, the summary as whole as before.
    await writeReport(m, join(out, 'r.json'));
    const json = readJson(join(out, 'r.json'));
    assert.ok(validateReport(json), JSON.stringify(validateReport.errors, null, 2));
    assert.deepEqual(json.source.omitted, [section]);
    assert.deepEqual(json.summary, plain(model.summary));
    assert.deepEqual(json.clerks, plain(model.clerks));
    assert.deepEqual(json.policy, plain(model.policy));
    assert.deepEqual(json.host, plain(model.host));
    assert.equal(json.allocations.length, section === 'allocations' ? 0 : stats.regions);
    assert.equal(json.failures.length, section === 'failures' ? 0 : model.summary.failures.total);
    assert.equal(json.failureGroups.length, section === 'failures' ? 0 : 4);
    assert.equal(json.samples.length, section === 'samples' ? 0 : model.samples.length);

    // CSV: the left-out section's file is not written; the other two are whole.
    const [allocCsv, failCsv, sampleCsv] = csvPaths(join(out, 'r.csv'));
    const files = { allocations: allocCsv!, failures: failCsv!, samples: sampleCsv! };
    const written = await writeReport(m, join(out, 'r.csv'));
    assert.deepEqual(
      written,
      REPORT_SECTIONS.filter((s) => s !== section).map((s) => files[s]),
    );
    assert.equal(existsSync(files[section]), false, `${section}: no file`);
    if (section !== 'allocations') assert.equal(csvObjects(allocCsv!).length, stats.regions);
    if (section !== 'failures') assert.equal(csvObjects(failCsv!).length, model.summary.failures.total);
    if (section !== 'samples') assert.equal(csvObjects(sampleCsv!).length, model.samples.length);

    // HTML: says it was left out (at the top and in its place) instead of an empty table; the others are there.
    await writeReport(m, join(out, 'r.html'));
    const html = readFileSync(join(out, 'r.html'), 'utf8');
    const sectionName = l.t(
      section === 'allocations' ? 'sectionAllocations' : section === 'failures' ? 'sectionFailures' : 'sectionSamples',
    );
    assert.ok(html.includes(esc(l.t('omittedNote', { sections: sectionName }))), `${section}: the note at the top`);
    assert.deepEqual(htmlShows(html, section), { note: true, content: false }, section);
    for (const other of REPORT_SECTIONS.filter((s) => s !== section))
      assert.deepEqual(htmlShows(html, other), { note: false, content: true }, `${other} without ${section}`);
    assert.ok(!html.includes(esc(l.t('noAllocations'))) && !html.includes(esc(l.t('noFailures'))), 'never "none"');
    // The chart has no failure markers without the failures, and says so.
    assert.equal(html.includes(esc(l.t('markersOmitted'))), section === 'failures');
    // The summary still shows the totals and the failure counts.
    assert.ok(html.includes(`<div class="v">${esc(l.bytes(stats.committed))}</div>`));
    assert.ok(
      html.includes(
        esc(
          l.t('labelValue', {
            label: l.t('failuresTotal'),
            value: l.number(
              stats.failures.eTaskCritical +
                stats.failures.eAppDomainCritical +
                stats.failures.eProcessCritical +
                stats.failures.other,
            ),
          }),
        ),
      ),
    );

    // PDF: the same HTML, capped.
    assert.deepEqual(htmlShows(await pdfHtml(m), section), { note: true, content: false }, `PDF ${section}`);
  }
});

test('all three left out: JSON valid, HTML and PDF name them, CSV refuses with a clear error and writes nothing', async (t) => {
  const m = selectSections(model, []);
  const out = join(dir, 'without-all');
  mkdirSync(out);
  await writeReport(m, join(out, 'r.json'));
  const json = readJson(join(out, 'r.json'));
  assert.ok(validateReport(json), JSON.stringify(validateReport.errors, null, 2));
  assert.deepEqual(json.source.omitted, ['allocations', 'failures', 'samples']);
  await assert.rejects(writeReport(m, join(out, 'r.csv')), /all three were left out/);
  assert.deepEqual(readdirSync(out), ['r.json']);
  const l = localizer('en');
  const listed = l.list([l.t('sectionAllocations'), l.t('sectionFailures'), l.t('sectionSamples')]);
  for (const key of ['sectionAllocations', 'sectionFailures', 'sectionSamples'] as const)
    assert.ok(listed.includes(l.t(key)), `${key} in "${listed}"`);
  await writeReport(m, join(out, 'r.html'));
  const html = readFileSync(join(out, 'r.html'), 'utf8');
  assert.ok(html.includes(esc(l.t('omittedNote', { sections: listed }))));
  for (const section of REPORT_SECTIONS) assert.deepEqual(htmlShows(html, section), { note: true, content: false });

  // French and Chinese: every note translated, no English left.
  const enValues = Object.values(MESSAGES.en).filter((v) => !v.includes('{'));
  for (const lang of ['fr', 'zh-CN'] as const) {
    const other = await pdfHtml({ ...m, language: lang });
    for (const key of ['allocationsOmitted', 'failuresOmitted', 'samplesOmitted'] as const)
      assert.ok(other.includes(esc(MESSAGES[lang][key])), `${lang}.${key}`);
    for (const en of enValues) if (en.length >= 12) assert.ok(!other.includes(esc(en)), `${lang}: English "${en}"`);
  }

  // A real PDF where Chromium is, read back where pdftotext is.
  if (findChromium() === undefined) {
    t.diagnostic('PDF skipped: no Chromium (/usr/bin/chromium or HOSTMEM_CHROMIUM)');
    return;
  }
  await writeReport(m, join(out, 'r.pdf'));
  const text = pdfText(join(out, 'r.pdf'), out);
  if (text === undefined) {
    t.diagnostic('PDF text not checked: no pdftotext');
    return;
  }
  for (const key of ['allocationsOmitted', 'failuresOmitted', 'samplesOmitted'] as const)
    assert.ok(squash(text).includes(squash(l.t(key))), `PDF: ${key}`);
});

test('"none" is not "left out": an empty list shows its own words; the schema ties emptiness to source.omitted', async () => {
  const l = localizer('en');
  const empty: ReportModel = { ...model, allocations: [] };
  const html = await pdfHtml(empty);
  assert.ok(html.includes(esc(l.t('noAllocations'))));
  assert.ok(!html.includes(esc(l.t('allocationsOmitted'))));

  const out = join(dir, 'schema');
  mkdirSync(out);
  await writeReport(model, join(out, 'r.json'));
  const full = readJson(join(out, 'r.json'));
  assert.deepEqual(full.source.omitted, [], 'always written');
  assert.ok(validateReport(full));
  // A report written before the field existed is still valid.
  const older = structuredClone(full);
  delete older.source.omitted;
  assert.ok(validateReport(older), JSON.stringify(validateReport.errors));
  // Naming a section whose list is not empty, or emptying failureGroups without naming failures, is invalid.
  for (const section of REPORT_SECTIONS) {
    const lying = structuredClone(full);
    lying.source.omitted = [section];
    assert.equal(validateReport(lying), false, `omitted ${section} with its list full`);
  }
  const noGroups = structuredClone(full);
  noGroups.failureGroups = [];
  assert.equal(validateReport(noGroups), false, 'failureGroups empty without omitting failures');
  const unknown = structuredClone(full);
  unknown.source.omitted = ['clerks'];
  assert.equal(validateReport(unknown), false, 'clerks cannot be left out');
});
