/**
 * The newcomer's path: every command line in README.md's `sh` code blocks runs as pasted. `npx hostmem …` lines run
 * the built CLI (what `npx hostmem` runs in a clone: package.json's bin) with `sh`, in a fresh folder that holds a
 * copy of examples/ — so `examples/requests.jsonl` and the files one line writes and the next reads are there, and
 * nothing is left in the repository. Each must exit 0; `serve` runs until it prints its URL, then gets Ctrl-C and
 * must stop with 0. `npm …` lines are the set-up: the script each names must exist in package.json (running
 * `npm ci`, `npm test` or `npm start` from inside `npm test` is not possible). A README line that cannot run here
 * is listed in NOT_HERE with the reason, as a todo, so it is seen and not silently passed.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';

const ROOT = process.cwd();
const CLI = join(ROOT, 'out', 'cli', 'hostmem.js');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** README lines that cannot run on this machine, and why (they are reported as todo). */
const NOT_HERE: ReadonlyMap<RegExp, string> = new Map([
  [
    /--watch nginx/,
    'needs a running nginx, or watching a name before its program starts (the exporter issue, #22 item 3)',
  ],
]);

/** Every command line of the README's `sh` blocks (indented blocks in lists too), without comments. */
function commandLines(markdown: string): string[] {
  const lines: string[] = [];
  let inSh = false;
  let pending = '';
  for (const raw of markdown.split('\n')) {
    // A line ending in a backslash goes on with the next one, as in a shell.
    if (inSh && raw.trimEnd().endsWith('\\')) {
      pending += `${raw.trimEnd().slice(0, -1).trim()} `;
      continue;
    }
    const line = `${pending}${raw.trim()}`.trim();
    pending = '';
    if (line.startsWith('```')) {
      inSh = !inSh && line === '```sh';
      continue;
    }
    if (!inSh) continue;
    const command = line.replace(/\s+#(?!!).*$/, '').trim();
    if (command !== '' && !command.startsWith('#')) lines.push(command);
  }
  return lines;
}

const commands = commandLines(README);
const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> })
  .scripts;
const folder = mkdtempSync(join(tmpdir(), 'hostmem-readme-'));
cpSync(join(ROOT, 'examples'), join(folder, 'examples'), { recursive: true });

/** `npx hostmem` as npm runs it in a clone: the package's bin, the built CLI. */
function asRun(command: string): string {
  return command.replace(/^npx hostmem\b/, `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)}`);
}

/** Run a `serve` line until it prints its URL, then Ctrl-C: resolves to the first line and the exit status. */
function serveOnce(command: string): Promise<{ first: string; status: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', `exec ${asRun(command)}`], { cwd: folder, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let stderr = '';
    let first = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (first === '' && out.includes('\n')) {
        first = out.slice(0, out.indexOf('\n'));
        child.kill('SIGINT');
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (status) => {
      clearTimeout(timer);
      resolve({ first, status, stderr });
    });
  });
}

const ON_WINDOWS =
  process.platform === 'win32' ? "the README's command lines are for sh: on Windows they run in the Linux leg" : false;

describe('README.md: every command line runs as pasted', { skip: ON_WINDOWS }, () => {
  test('the README has command lines, and `npx hostmem` is how it calls the CLI', () => {
    assert.ok(commands.length > 10, `${commands.length} command lines`);
    assert.ok(existsSync(CLI), 'out/cli/hostmem.js is built (npm run build:node)');
    assert.equal(
      commands.filter((c) => c.includes('out/cli/hostmem.js')).length,
      0,
      'one way to call the CLI: npx hostmem',
    );
  });

  for (const command of commands) {
    const notHere = [...NOT_HERE].find(([pattern]) => pattern.test(command));
    if (notHere) {
      test(command, { todo: notHere[1] }, () => undefined);
      continue;
    }
    if (command.startsWith('npm ')) {
      test(command, () => {
        const m = /^npm (?:run )?([\w:-]+)/.exec(command);
        assert.ok(m, command);
        const name = m[1]!;
        assert.ok(['ci', 'install', 'start', 'test'].includes(name) || name in scripts, `npm script ${name}`);
        if (name === 'start' || name === 'test') assert.ok(name in scripts, `npm script ${name}`);
      });
      continue;
    }
    assert.match(command, /^npx hostmem /, `a README command line that is neither npm nor npx hostmem: ${command}`);
    if (/^npx hostmem serve\b/.test(command)) {
      const needsRenderer = !command.includes('--metrics-only');
      const skip =
        needsRenderer && !existsSync(join(ROOT, 'out', 'renderer', 'index.html'))
          ? 'out/renderer is not built (npm run build:app first): this line is not run here'
          : false;
      test(command, { skip }, async () => {
        const { first, status, stderr } = await serveOnce(command);
        assert.match(first, /^hostmem serving at http:\/\/127\.0\.0\.1:\d+\//, stderr);
        assert.equal(status, 0, stderr);
      });
      continue;
    }
    test(command, { skip: command.includes('.pdf') && !chromium() ? 'no Chromium for the PDF' : false }, () => {
      const r = spawnSync('sh', ['-c', asRun(command)], { cwd: folder, encoding: 'utf8', timeout: 120_000 });
      assert.equal(r.status, 0, `${command}\n${r.stderr}${r.stdout.slice(0, 2000)}`);
    });
  }
});

function chromium(): boolean {
  return (
    process.env.HOSTMEM_CHROMIUM !== undefined ||
    existsSync('/usr/bin/chromium') ||
    existsSync('/usr/bin/chromium-headless-shell')
  );
}
