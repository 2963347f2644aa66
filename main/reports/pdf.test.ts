/**
 * The Chromium printer on its own: a warmed Chromium prints several documents (one after the other and at once) and
 * `close()` ends it with its helper processes; an unwarmed one starts and ends a Chromium per print; a Chromium that
 * fails (exits at once, never answers, is missing) rejects with a clear error and leaves neither a process nor a
 * temporary folder. Real Chromium where installed (never under Wine); the failing ones are shell scripts (POSIX).
 */
import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ChromiumMissingError, chromiumPrinter, defaultPrinter, findChromium } from '.';
import { pdfText } from './testing';

const dir = mkdtempSync(join(tmpdir(), 'hostmem-pdf-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let folders = 0;
/** A fresh folder for a printer's temporary files: empty again once the printer is done. */
function tempFolder(): string {
  const folder = join(dir, `tmp${++folders}`);
  mkdirSync(folder);
  return folder;
}

const page = (text: string): string =>
  `<!doctype html><html><head><meta charset="utf-8"><style>@page { size: A4; margin: 12mm; }</style></head>` +
  `<body><h1>${text}</h1></body></html>`;

/** The process is gone (or a zombie nobody reaps yet: it runs nothing). */
function gone(pid: number): boolean {
  if (existsSync('/proc/self/stat')) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
    } catch {
      return true;
    }
  }
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

/** `pid` and every process below it (Linux: /proc; elsewhere just `pid`). */
function processTree(pid: number): number[] {
  if (!existsSync('/proc/self/stat')) return [pid];
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      // Ended meanwhile.
    }
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]!) ?? []));
  return tree;
}

async function allGone(pids: readonly number[], withinMs = 5_000): Promise<number[]> {
  const deadline = Date.now() + withinMs;
  let left = pids.filter((p) => !gone(p));
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    left = left.filter((p) => !gone(p));
  }
  return left;
}

function isPdf(bytes: Uint8Array): boolean {
  return Buffer.from(bytes.subarray(0, 5)).toString('latin1') === '%PDF-';
}

/** The text of PDF bytes, where pdftotext is installed. */
function textOf(bytes: Uint8Array, name: string): string | undefined {
  const file = join(dir, name);
  writeFileSync(file, bytes);
  return pdfText(file, dir)?.replace(/\s+/g, ' ');
}

/** A stand-in for Chromium: a shell script (POSIX only). */
function script(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

const posix = process.platform !== 'win32';

test('a warmed printer prints documents one after the other and at once, and close() ends Chromium', async (t) => {
  const chromium = findChromium();
  if (chromium === undefined) {
    t.skip('no Chromium here (/usr/bin/chromium-headless-shell, /usr/bin/chromium or HOSTMEM_CHROMIUM)');
    return;
  }
  const temp = tempFolder();
  const print = chromiumPrinter(chromium, { tempDir: temp });
  print.warm();
  const pid = print.processId();
  assert.ok(pid !== undefined, 'warm() starts Chromium at once');
  try {
    const first = await print(page('First document'));
    const second = await print(page('Second document'));
    assert.ok(isPdf(first) && isPdf(second));
    assert.equal(print.processId(), pid, 'both printed by the warmed Chromium');
    const [third, fourth] = await Promise.all([print(page('Third document')), print(page('Fourth document'))]);
    assert.ok(isPdf(third) && isPdf(fourth));
    assert.equal(print.processId(), pid);
    const texts = [first, second, third, fourth].map((bytes, i) => textOf(bytes, `doc${i}.pdf`));
    if (texts[0] === undefined) t.diagnostic('PDF text not checked: no pdftotext');
    else
      ['First', 'Second', 'Third', 'Fourth'].forEach((word, i) =>
        assert.match(texts[i]!, new RegExp(`${word} document`), `document ${i + 1}`),
      );
  } finally {
    const tree = processTree(pid);
    t.diagnostic(`Chromium ${pid} with ${tree.length - 1} helper processes`);
    await print.close();
    assert.equal(print.processId(), undefined);
    assert.deepEqual(await allGone(tree), [], `Chromium ${pid} and its helpers ${tree.join(' ')} have ended`);
    assert.deepEqual(readdirSync(temp), [], 'no temporary folder left');
  }
  // Closed, it still prints: with a Chromium of its own, ended after the print.
  assert.ok(isPdf(await print(page('After close'))));
  assert.equal(print.processId(), undefined);
  assert.deepEqual(readdirSync(temp), []);
});

test('an unwarmed printer (the default one) starts and ends a Chromium for each print', async (t) => {
  const chromium = findChromium();
  if (chromium === undefined) {
    t.skip('no Chromium here (/usr/bin/chromium-headless-shell, /usr/bin/chromium or HOSTMEM_CHROMIUM)');
    return;
  }
  const temp = tempFolder();
  const print = chromiumPrinter(chromium, { tempDir: temp });
  const [a, b] = await Promise.all([print(page('One')), print(page('Two'))]);
  assert.ok(isPdf(a) && isPdf(b));
  assert.equal(print.processId(), undefined);
  assert.deepEqual(readdirSync(temp), [], 'no temporary folder left');
  await print.close(); // nothing to close: fine
  assert.equal(typeof defaultPrinter().warm, 'function', 'the default printer can be warmed too');
});

test('a Chromium that exits at once: a clear error with its stderr, no process, no temporary folder', async (t) => {
  if (!posix) {
    t.skip('the stand-in Chromium is a shell script');
    return;
  }
  const failing = script('exits.sh', 'echo "chromium: cannot open the profile" >&2\nexit 1');
  const expected =
    /^Error: Chromium \(.*exits\.sh\) made no PDF \(exit 1 before it started\):\nchromium: cannot open the profile$/;
  // Unwarmed.
  const temp = tempFolder();
  await assert.rejects(chromiumPrinter(failing, { tempDir: temp })(page('x')), expected);
  assert.deepEqual(readdirSync(temp), []);
  // Warmed: the failure waits for the print, then the next print tries a fresh Chromium.
  const print = chromiumPrinter(failing, { tempDir: temp });
  print.warm();
  await new Promise((resolve) => setTimeout(resolve, 300));
  await assert.rejects(print(page('x')), expected);
  await assert.rejects(print(page('y')), expected);
  await print.close();
  assert.deepEqual(readdirSync(temp), []);
  // /bin/false, named by HOSTMEM_CHROMIUM.
  if (existsSync('/bin/false')) {
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = temp; // where the default printer makes its folder (os.tmpdir())
    try {
      const viaEnv = defaultPrinter({ HOSTMEM_CHROMIUM: '/bin/false' });
      viaEnv.warm();
      await assert.rejects(
        viaEnv(page('x')),
        /^Error: Chromium \(\/bin\/false\) made no PDF \(exit 1 before it started\)$/,
      );
      await viaEnv.close();
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
    assert.deepEqual(readdirSync(temp), []);
  }
});

test('a Chromium that never answers: killed at the time-out, with its helpers; no temporary folder', async (t) => {
  if (!posix) {
    t.skip('the stand-in Chromium is a shell script');
    return;
  }
  const pidFile = join(dir, 'helper.pid');
  // A "helper" in the background and the "browser" itself, both silent: the time-out kills the whole group.
  const silent = script('silent.sh', `sleep 60 &\necho $! > ${pidFile}\necho starting >&2\nexec sleep 60`);
  const temp = tempFolder();
  const print = chromiumPrinter(silent, { tempDir: temp, timeoutMs: 800 });
  print.warm();
  const pid = print.processId()!;
  const started = Date.now();
  await assert.rejects(
    print(page('x')),
    /^Error: Chromium \(.*silent\.sh\) made no PDF \(did not start within 0\.8 s\):\nstarting$/,
  );
  assert.ok(Date.now() - started < 5_000);
  const helper = Number(readFileSync(pidFile, 'utf8'));
  assert.deepEqual(await allGone([pid, helper]), [], 'the stand-in and its helper were killed');
  await print.close();
  assert.deepEqual(readdirSync(temp), []);
});

test('a missing Chromium: ChromiumMissingError', async () => {
  const temp = tempFolder();
  await assert.rejects(chromiumPrinter(join(dir, 'no-such-chromium'), { tempDir: temp })(page('x')), (error) => {
    assert.ok(error instanceof ChromiumMissingError);
    assert.match(error.message, /cannot make a PDF: .*no-such-chromium could not be started .*Install Chromium/s);
    return true;
  });
  assert.deepEqual(readdirSync(temp), []);
  assert.throws(() => defaultPrinter({ HOSTMEM_CHROMIUM: join(dir, 'no-such-chromium') }), ChromiumMissingError);
});
