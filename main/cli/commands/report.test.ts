/**
 * `hostmem report` and `hostmem run --report` as a user runs them: the built CLI in a child process (stdio to files,
 * so the same test runs under Wine's Windows Node), a session recorded by `hostmem run`, real files.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { findChromium } from '../../reports';
import { parseCsv, pdfText } from '../../reports/testing';

const CLI = join(process.cwd(), 'out', 'cli', 'hostmem.js');
const dir = mkdtempSync(join(tmpdir(), 'hostmem-report-cli-'));
const session = join(dir, 'pressure.session');

interface Ran {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

let n = 0;
function cli(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Ran {
  const k = ++n;
  const out = join(dir, `out${k}.txt`);
  const err = join(dir, `err${k}.txt`);
  const fds = [openSync(out, 'w'), openSync(err, 'w')];
  const r = spawnSync(process.execPath, [CLI, ...args], { stdio: ['ignore', ...fds], timeout: 180_000, env });
  fds.forEach((fd) => closeSync(fd));
  return { status: r.status, stdout: readFileSync(out, 'utf8'), stderr: readFileSync(err, 'utf8') };
}

interface JsonReport {
  schema: string;
  summary: { current: { reserved: number; committed: number }; failures: { byLevel: Record<string, number> } };
  allocations: unknown[];
}

/** "failures      eTaskCritical 15, eAppDomainCritical 6, eProcessCritical 1, other 0" of the run summary. */
function hostFailures(stdout: string): Record<string, number> {
  const m =
    /host at end\s+\w+, failures eTaskCritical (\d+), eAppDomainCritical (\d+), eProcessCritical (\d+), other (\d+)/.exec(
      stdout,
    );
  assert.ok(m, stdout);
  return {
    eTaskCritical: Number(m[1]),
    eAppDomainCritical: Number(m[2]),
    eProcessCritical: Number(m[3]),
    other: Number(m[4]),
  };
}

let runOut = '';
before(() => {
  const r = cli([
    'run',
    '--scenario',
    'pressure',
    '--commit-limit',
    '16MiB',
    '--duration',
    '10s',
    '--record',
    session,
    '--report',
    join(dir, 'live.json'),
    '--report',
    join(dir, 'live.html'),
    '--quiet',
  ]);
  assert.equal(r.status, 0, r.stderr);
  runOut = r.stdout;
});

test('run --report writes the live report; report SESSION rebuilds the same figures in every format', () => {
  assert.match(runOut, /wrote .*live\.json/);
  const failures = hostFailures(runOut);
  const live = JSON.parse(readFileSync(join(dir, 'live.json'), 'utf8')) as JsonReport;
  assert.equal(live.schema, 'hostmem.report/1');
  assert.deepEqual(live.summary.failures.byLevel, failures);
  assert.match(readFileSync(join(dir, 'live.html'), 'utf8'), /^<!DOCTYPE html>/);

  const pdf = findChromium() !== undefined;
  const outs = ['s.html', 's.csv', 's.json', ...(pdf ? ['s.pdf'] : [])].flatMap((f) => ['--out', join(dir, f)]);
  const r = cli(['report', session, ...outs]);
  assert.equal(r.status, 0, r.stderr);
  for (const f of ['s.html', 's.csv', 's.failures.csv', 's.samples.csv', 's.json'])
    assert.ok(r.stdout.includes(join(dir, f)), `${f} reported:\n${r.stdout}`);
  const rebuilt = JSON.parse(readFileSync(join(dir, 's.json'), 'utf8')) as JsonReport;
  assert.deepEqual(rebuilt.summary.failures.byLevel, failures, 'the session gives the counts the host had');
  assert.deepEqual(rebuilt.summary.current, live.summary.current, 'and the same totals at the end');
  assert.equal(rebuilt.allocations.length, live.allocations.length);
  const [header, ...rows] = parseCsv(readFileSync(join(dir, 's.failures.csv'), 'utf8'));
  const level = header!.indexOf('level');
  for (const [name, count] of Object.entries(failures))
    assert.equal(rows.filter((row) => row[level] === name).length, count, name);
  assert.ok(!readdirSync(dir).some((f) => f.endsWith('.tmp')), 'no temporary file left');
});

test('pdftotext of a CLI-made PDF shows the summary', (t) => {
  if (findChromium() === undefined) {
    t.skip('no Chromium here (/usr/bin/chromium or HOSTMEM_CHROMIUM): the PDF cannot be made');
    return;
  }
  const pdf = join(dir, 'fr.pdf');
  const r = cli(['report', session, '--out', pdf, '--lang', 'fr']);
  assert.equal(r.status, 0, r.stderr);
  const en = join(dir, 's.pdf');
  if (!existsSync(en)) assert.equal(cli(['report', session, '--out', en]).status, 0);
  const text = pdfText(en, dir);
  if (text === undefined) {
    t.skip('pdftotext is not installed (Debian: poppler-utils)');
    return;
  }
  const failures = hostFailures(runOut);
  const flat = text.replace(/\s+/g, ' ');
  assert.match(flat, /Allocation report/);
  assert.match(flat, /Summary/);
  assert.match(flat, new RegExp(`Failures in all: ${Object.values(failures).reduce((a, b) => a + b, 0)}`));
  assert.match(flat, /Task-critical \(eTaskCritical\)/);
  const fr = pdfText(pdf, dir)!.replace(/\s+/g, ' ');
  assert.match(fr, /Rapport d’allocations/);
  assert.match(fr, /Synthèse/);
  assert.doesNotMatch(fr, /Allocation report|Summary/);
});

test('usage errors exit 2 with a clear message; existing files are kept without --force', () => {
  const html = join(dir, 's.html');
  const before = readFileSync(html, 'utf8');
  const cases: Array<[string[], RegExp]> = [
    [['report', session, '--out', join(dir, 'x.txt')], /unknown report format/],
    [['report', session], /at least one --out/],
    [['report', '--out', join(dir, 'x.html')], /expected one SESSION/],
    [['report', join(dir, 'missing.session'), '--out', join(dir, 'x.html')], /missing\.session: no such session file/],
    [['report', session, '--out', join(dir, 'x.html'), '--lang', 'de'], /--lang: expected one of en, fr, zh-CN/],
    [['report', session, '--out', html], /already exists \(use --force/],
    [['report', session, '--out', join(dir, 'x.html'), '--out', join(dir, 'x.html')], /given twice/],
    [['run', '--scenario', 'steady', '--max-calls', '5', '--report', join(dir, 'x.xlsx')], /unknown report format/],
  ];
  for (const [args, message] of cases) {
    const r = cli(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
  assert.equal(readFileSync(html, 'utf8'), before);
  const notSession = join(dir, 'notes.txt');
  writeFileSync(notSession, 'hello\n');
  const r = cli(['report', notSession, '--out', join(dir, 'y.html')]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /notes\.txt:1: not a hostmem\.session\/1 header: not JSON/);
  assert.equal(existsSync(join(dir, 'y.html')), false);
  const forced = cli(['report', session, '--out', html, '--force']);
  assert.equal(forced.status, 0, forced.stderr);
});

test('a PDF without Chromium: a clear message, nothing written', () => {
  const r = cli(['report', session, '--out', join(dir, 'z.pdf')], {
    ...process.env,
    HOSTMEM_CHROMIUM: join(dir, 'no-chromium-here'),
  });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /cannot make a PDF: HOSTMEM_CHROMIUM=.* does not exist.*Install Chromium/s);
  assert.equal(existsSync(join(dir, 'z.pdf')), false);
});

test('an unwritable path: exit 2 and a clear error, before any work', () => {
  const r = cli(['report', session, '--out', join(dir, 'no-such-folder', 'r.json')]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--out .*r\.json: the folder .*no-such-folder does not exist/);
});

test('a Chromium that fails: the other reports are written, a clear error, exit 1, no temporary folder left', (t) => {
  if (process.platform === 'win32') {
    t.skip('the stand-in Chromium is a shell script');
    return;
  }
  const failing = join(dir, 'failing-chromium.sh');
  writeFileSync(failing, '#!/bin/sh\necho "chromium: no display" >&2\nexit 1\n');
  chmodSync(failing, 0o755);
  const temp = mkdtempSync(join(dir, 'tmp-'));
  const env = { ...process.env, HOSTMEM_CHROMIUM: failing, TMPDIR: temp };
  const r = cli(['report', session, '--out', join(dir, 'f.pdf'), '--out', join(dir, 'f.html')], env);
  assert.equal(r.status, 1, r.stderr);
  assert.match(
    r.stderr,
    /hostmem report: report .*f\.pdf: Chromium \(.*failing-chromium\.sh\) made no PDF \(exit 1 before it started\):\nchromium: no display\n/,
  );
  assert.ok(existsSync(join(dir, 'f.html')));
  assert.equal(existsSync(join(dir, 'f.pdf')), false);
  assert.deepEqual(readdirSync(temp), [], 'no temporary folder left');
  const run = cli(['run', '--scenario', 'steady', '--max-calls', '5', '--quiet', '--report', join(dir, 'g.pdf')], env);
  assert.equal(run.status, 1, run.stderr);
  assert.match(run.stderr, /hostmem run: report .*g\.pdf: Chromium \(.*\) made no PDF \(exit 1 before it started\)/);
  assert.match(run.stdout, /steady .*: /, 'the run summary is still printed');
  assert.equal(existsSync(join(dir, 'g.pdf')), false);
  assert.deepEqual(readdirSync(temp), []);
});

test('run --report FILE.pdf: Chromium started with the run prints the live report', (t) => {
  if (findChromium() === undefined) {
    t.skip('no Chromium here (/usr/bin/chromium or HOSTMEM_CHROMIUM): the PDF cannot be made');
    return;
  }
  const temp = mkdtempSync(join(dir, 'tmp-'));
  const pdf = join(dir, 'run.pdf');
  const r = cli(['run', '--scenario', 'steady', '--max-calls', '50', '--quiet', '--report', pdf], {
    ...process.env,
    TMPDIR: temp,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /wrote .*run\.pdf/);
  assert.equal(readFileSync(pdf).subarray(0, 5).toString('latin1'), '%PDF-');
  assert.deepEqual(readdirSync(temp), [], 'no temporary folder left');
});
