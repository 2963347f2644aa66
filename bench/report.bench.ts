/**
 * `npm run bench:report`: a large session exported to every report format, against baselines measured in the same
 * run.
 *
 * The session is made synthetically, in the exact line format SessionRecorder writes (header, `call` lines with
 * exec requests and results, `sample` lines, one final `snapshot`): by default 1,000,000 call events — 100,000
 * reservations left live at the end, 400,000 reserve/release pairs, and 100,000 refused calls spread over the four
 * failure groups (a heavy pressure session; `--failures=500000` is the stress case where half the calls fail) —
 * with a sample line every 250 calls and the final snapshot holding the 100,000 live regions.
 * (Recording that many calls from a real host is possible but takes minutes and the OS's memory; the report code
 * only ever sees the file.)
 *
 * Measured: building the model from the file (one streaming pass), then HTML, CSV (three files), JSON and, where
 * Chromium is installed, PDF (a cold Chromium: started for that print); the total; the process's peak RSS at that
 * point. Then the whole export as `hostmem report SESSION --out r.html --out r.csv --out r.json --out r.pdf` runs it:
 * Chromium warmed first (`defaultPrinter().warm()`, starting while the model is built), then the model, then the PDF
 * printed alongside the other formats, then Chromium closed. Baselines, in the same run: that export as it was
 * before warming (Chromium started only once the model was built), Chromium's start-up alone (a cold print of a
 * trivial page), copying the session file (the I/O floor), and the naive export — every failure as an object in one
 * array, `JSON.stringify` of the whole model, `writeFile` — measured after, so its memory does not count in the peak
 * above.
 *
 *   node out/bench/report.bench.js [--live=100000] [--events=1000000] [--failures=100000] [--session=PATH]
 */
import { copyFileSync, createWriteStream, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import {
  buildSessionReport,
  defaultPrinter,
  findChromium,
  writeReport,
  type ChromiumPrinter,
  type ReportModel,
} from '../main/reports';
import { sessionHeader } from '../main/telemetry/session';
import { DEFAULT_POLICY } from '../main/host';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const LIVE = Number(args.get('live') ?? 100_000);
const EVENTS = Number(args.get('events') ?? 1_000_000);
const FAILURES = Number(args.get('failures') ?? 100_000);
const dir = mkdtempSync(join(tmpdir(), 'hostmem-report-bench-'));

const GROUPS = [0, 1, 2, -1] as const;
const FAIL_RESULT = [
  '{"hr":"0x8007000E","hrName":"E_OUTOFMEMORY","reason":"policy","address":null}',
  '{"hr":"0x8007000E","hrName":"E_OUTOFMEMORY","reason":"injected","address":null}',
  '{"hr":"0x80131024","hrName":"HOST_E_TIMEOUT","reason":"timeout","address":null}',
];

async function makeSession(path: string): Promise<void> {
  const out = createWriteStream(path);
  const write = async (line: string): Promise<void> => {
    if (!out.write(line)) await once(out, 'drain');
  };
  const policy = { ...DEFAULT_POLICY, commitLimit: 8 * 1024 ** 3 };
  await write(JSON.stringify(sessionHeader('posix', 4096, policy, 'report.bench (synthetic)')) + '\n');
  let t = Date.UTC(2025, 0, 1);
  let id = 0;
  let reserved = 0;
  let committed = 0;
  let live = 0;
  const churn = Math.max(0, EVENTS - LIVE - FAILURES) >> 1;
  // Interleave: each step is one live reservation, or a churn pair, or a failure, in proportion.
  const total = LIVE + churn + FAILURES;
  let made = { live: 0, churn: 0, fail: 0 };
  const failCounts = [0, 0, 0, 0];
  let lines = 0;
  const base = (i: number): number => 0x7f0000000000 + i * 0x10000;
  for (let step = 0; step < total; step++) {
    const r = step % total;
    const want = (n: number): number => Math.floor(((r + 1) * n) / total);
    t += 1;
    if (made.live < want(LIVE)) {
      const i = made.live++;
      const size = 65536;
      await write(
        `{"type":"call","t":${t},"request":{"op":"VirtualAlloc","id":"r${++id}","address":null,"size":${size},"type":12288,"protect":4,"level":${i % 3},"tag":"bench/${['cache', 'gc', 'jit', 'strings'][i % 4]}"},"result":{"hr":"0x00000000","hrName":"S_OK","address":"0x${base(i).toString(16)}"}}\n`,
      );
      reserved += size;
      committed += size;
      live++;
      lines++;
    } else if (made.churn < want(churn)) {
      made.churn++;
      const a = `r${++id}`;
      await write(
        `{"type":"call","t":${t},"request":{"op":"VirtualAlloc","id":"${a}","address":null,"size":131072,"type":12288,"protect":4,"level":0,"tag":"bench/temp"},"result":{"hr":"0x00000000","hrName":"S_OK","address":"0x7e0000000000"}}\n` +
          `{"type":"call","t":${t},"request":{"op":"VirtualFree","id":"r${++id}","address":"${a}","size":0,"type":32768},"result":{"hr":"0x00000000","hrName":"S_OK"}}\n`,
      );
      lines += 2;
    } else {
      const k = made.fail++;
      const g = GROUPS[k % 4]!;
      failCounts[k % 4]!++;
      const line =
        g >= 0
          ? `{"type":"call","t":${t},"request":{"op":"VirtualAlloc","id":"r${++id}","address":null,"size":${65536 * (1 + (k % 16))},"type":12288,"protect":4,"level":${g},"tag":"bench/grow"},"result":${FAIL_RESULT[k % 3]}}\n`
          : `{"type":"call","t":${t},"request":{"op":"VirtualFree","id":"r${++id}","address":"0x1000","size":0,"type":32768},"result":{"hr":"0x800701E7","hrName":"HRESULT_FROM_WIN32(ERROR_INVALID_ADDRESS)","reason":"invalid"}}\n`;
      await write(line);
      lines++;
    }
    if (step % 250 === 0) {
      await write(
        `{"type":"sample","t":${t},"reserved":${reserved},"committed":${committed},"external":0,"heap":0,"regions":${live},"memoryLoad":40,"hostLoad":1,"commitLimit":${policy.commitLimit},"workingSet":100000000,"privateBytes":90000000,"failures":{"eTaskCritical":0,"eAppDomainCritical":0,"eProcessCritical":0,"other":0},"state":"available","memoryAvailable":"High"}\n`,
      );
    }
  }
  made = { ...made };
  // The final snapshot: every live region, as takeSnapshot writes it.
  await write(
    `{"type":"snapshot","t":${t},"time":${t},"label":"end","pageSize":4096,"reserved":${reserved},"committed":${committed},"external":0,"heap":0,"regions":[`,
  );
  for (let i = 0; i < LIVE; i++) {
    await write(
      `${i === 0 ? '' : ','}{"base":${base(i)},"size":65536,"committed":65536,"level":"${['eTaskCritical', 'eAppDomainCritical', 'eProcessCritical'][i % 3]}","tag":"bench/${['cache', 'gc', 'jit', 'strings'][i % 4]}","allocationProtect":4,"created":${t},"runs":[{"start":0,"end":16,"protect":4}]}`,
    );
  }
  await write(']}\n');
  out.end();
  await once(out, 'finish');
  console.log(
    `session: ${lines.toLocaleString('en')} call events (${made.live.toLocaleString('en')} live reservations, ${(made.churn * 2).toLocaleString('en')} churn calls, ${made.fail.toLocaleString('en')} failures: ${failCounts.join('/')} task/appdomain/process/other), ${(statSync(path).size / 2 ** 20).toFixed(0)} MiB`,
  );
}

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

async function timed(label: string, fn: () => Promise<unknown>, rows: Array<[string, number]>): Promise<number> {
  const started = performance.now();
  await fn();
  const ms = performance.now() - started;
  rows.push([label, ms]);
  console.log(`  ${label.padEnd(38)} ${(ms / 1000).toFixed(2).padStart(6)} s`);
  return ms;
}

async function main(): Promise<void> {
  // --session=PATH keeps the generated session there (and reuses it when it exists).
  const kept = args.get('session');
  const session = kept ?? join(dir, 'big.session');
  if (kept === undefined || !existsSync(kept)) await makeSession(session);
  else console.log(`session: ${session} (reused), ${(statSync(session).size / 2 ** 20).toFixed(0)} MiB`);
  const rows: Array<[string, number]> = [];
  console.log('report (streaming):');
  const rssBefore = process.memoryUsage().rss;
  let model!: ReportModel;
  await timed(
    'model from the session',
    async () => {
      model = await buildSessionReport(session, { language: 'en' });
    },
    rows,
  );
  await timed('HTML', () => writeReport(model, join(dir, 'r.html')), rows);
  await timed('CSV (allocations, failures, samples)', () => writeReport(model, join(dir, 'r.csv')), rows);
  await timed('JSON', () => writeReport(model, join(dir, 'r.json')), rows);
  const chromium = findChromium() !== undefined;
  if (chromium) {
    console.log(`  (PDF by ${findChromium()}; HOSTMEM_CHROMIUM chooses another)`);
    await timed('PDF (Chromium, cold start)', () => writeReport(model, join(dir, 'r.pdf')), rows);
  } else console.log('  PDF                                skipped: no Chromium');
  const total = rows.reduce((a, [, ms]) => a + ms, 0);
  console.log(`  ${'total, one after the other'.padEnd(38)} ${(total / 1000).toFixed(2).padStart(6)} s`);
  const peak = process.resourceUsage().maxRSS * 1024;
  // As `hostmem report SESSION --out r.html --out r.csv --out r.json --out r.pdf` does it (report.ts): Chromium
  // warmed before the model is built, the PDF printed in Chromium's process while the other formats are written,
  // Chromium closed at the end.
  const phases: Array<[string, number]> = [];
  const wall = await timed(
    'total as `hostmem report` (warmed)',
    async () => {
      const started = performance.now();
      const mark = (label: string): void => {
        phases.push([label, performance.now() - started]);
      };
      const print: ChromiumPrinter | undefined = chromium ? defaultPrinter() : undefined;
      print?.warm();
      try {
        const m = await buildSessionReport(session, { language: 'en' });
        mark('model built');
        const pdf = print ? writeReport(m, join(dir, 'w.pdf'), { print }).then(() => mark('PDF written')) : undefined;
        for (const f of ['w.html', 'w.csv', 'w.json']) await writeReport(m, join(dir, f));
        mark('HTML, CSV, JSON written');
        await pdf;
      } finally {
        await print?.close();
        mark('Chromium closed');
      }
    },
    [],
  );
  for (const [label, ms] of phases.sort((a, b) => a[1] - b[1]))
    console.log(`    ${label.padEnd(36)} at ${(ms / 1000).toFixed(2).padStart(5)} s`);
  console.log(`  target ≤ 5 s: ${wall <= 5000 ? 'met' : 'NOT met'}`);
  console.log(`  peak RSS ${mib(peak)} over model + every format (RSS before building the model: ${mib(rssBefore)})`);
  for (const f of ['r.html', 'r.csv', 'r.failures.csv', 'r.samples.csv', 'r.json', 'r.pdf']) {
    try {
      console.log(`    ${f.padEnd(16)} ${mib(statSync(join(dir, f)).size)}`);
    } catch {
      // PDF skipped.
    }
  }

  console.log('baselines:');
  if (chromium) {
    // The export as it was before warming: the model, then Chromium started for the PDF while the rest is written.
    await timed(
      'total, Chromium started after the model',
      async () => {
        const m = await buildSessionReport(session, { language: 'en' });
        const pdf = writeReport(m, join(dir, 'b.pdf'));
        for (const f of ['b.html', 'b.csv', 'b.json']) await writeReport(m, join(dir, f));
        await pdf;
      },
      [],
    );
    await timed('Chromium alone: a cold print, tiny page', () => defaultPrinter()('<!doctype html><p>hello</p>'), []);
  }
  const copyMs = await timed('copy the session file', async () => copyFileSync(session, join(dir, 'copy.session')), []);
  const naiveMs = await timed(
    'naive JSON (stringify + writeFile)',
    async () => writeFileSync(join(dir, 'naive.json'), JSON.stringify(naiveJson(model))),
    [],
  );
  const naivePeak = process.resourceUsage().maxRSS * 1024;
  const jsonMs = rows.find(([l]) => l === 'JSON')![1];
  console.log(`  peak RSS after the naive JSON: ${mib(naivePeak)}`);
  console.log(
    `ratios: streaming JSON / naive JSON = ${(jsonMs / naiveMs).toFixed(2)}; all formats incl. the model / copying the session = ${(total / copyMs).toFixed(1)}`,
  );
  rmSync(dir, { recursive: true, force: true });
}

function naiveJson(model: ReportModel): unknown {
  return { ...model, failures: [...model.failures.events()] };
}

main().catch((error) => {
  console.error(error);
  rmSync(dir, { recursive: true, force: true });
  process.exit(1);
});
