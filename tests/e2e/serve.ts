/**
 * Shared by the browser tests and the dashboard benchmark: a real `hostmem serve` child (out/cli/hostmem.js, the
 * built renderer in out/renderer) and headless Chromium through playwright-core.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';

/** The repository root, found from this bundle (out/e2e/…, out/bench/…) or from the source. */
export function repoRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)), i = 0; i < 6; i++, dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'main'))) return dir;
  }
  return process.cwd();
}

/**
 * The built renderer the server serves: out/renderer, or HOSTMEM_E2E_RENDERER (another build, e.g. the one before a
 * change, to see a new test fail on it or to measure a benchmark against it in the same run).
 */
export const rendererDir = (): string =>
  resolve(process.env.HOSTMEM_E2E_RENDERER || join(repoRoot(), 'out', 'renderer'));

export const chromiumPath = (): string => process.env.HOSTMEM_CHROMIUM || '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS });
}

export interface Served {
  readonly url: string;
  readonly origin: string;
  readonly token: string;
  readonly child: ChildProcess;
  /** stderr so far (workload lines, warnings). */
  stderr(): string;
  /** SIGINT, then wait for the exit; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Start `hostmem serve` with `args`; resolves once it printed its URL (the first stdout line). */
export function serve(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Served> {
  const root = repoRoot();
  const cli = join(root, 'out', 'cli', 'hostmem.js');
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run node scripts/build-node.mjs`);
  const child = spawn(process.execPath, [cli, 'serve', ...args], {
    cwd: root,
    env: { ...process.env, HOSTMEM_RENDERER_DIR: rendererDir(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (c: string) => (err += c));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  return new Promise((resolveServed, reject) => {
    const lines = createInterface({ input: child.stdout! });
    let first = true;
    lines.on('line', (line) => {
      if (!first) return;
      first = false;
      // `#processes/PID` may follow the token (serve --pid).
      const m = /^hostmem serving at (http:\/\/[^/]+)\/\?token=([^\s#]+)(#\S*)?$/.exec(line);
      if (!m) {
        child.kill();
        reject(new Error(`unexpected first line: ${JSON.stringify(line)}`));
        return;
      }
      resolveServed({
        url: line.slice('hostmem serving at '.length),
        origin: m[1]!,
        token: m[2]!,
        child,
        stderr: () => err,
        stop: async () => {
          if (child.exitCode === null) child.kill('SIGINT');
          return exited;
        },
      });
    });
    void exited.then((code) => {
      if (first) reject(new Error(`hostmem serve exited ${code} before printing its URL: ${err}`));
    });
  });
}

export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

export function httpGet(url: string, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  return new Promise((resolveGet, reject) => {
    const req = httpRequest(url, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolveGet({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
