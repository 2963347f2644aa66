/**
 * Shared by the Prometheus leg's tests: a real Prometheus server (Debian's `prometheus`: HOSTMEM_PROMETHEUS or
 * /usr/bin/prometheus) started on a free loopback port with a given config and a temporary data folder, its HTTP API,
 * and promtool (HOSTMEM_PROMTOOL or /usr/bin/promtool).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { httpGet, repoRoot } from '../e2e/serve';

export const prometheusBin = process.env.HOSTMEM_PROMETHEUS || '/usr/bin/prometheus';
export const promtoolBin = process.env.HOSTMEM_PROMTOOL || '/usr/bin/promtool';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A free loopback port (bound, read, released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Poll `check` until it returns a value (not undefined) or `ms` pass; the last error says what was waited for. */
export async function eventually<T>(what: string, ms: number, check: () => Promise<T | undefined>): Promise<T> {
  const until = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
      last = 'not yet';
    } catch (e) {
      last = e instanceof Error ? e.message : e;
    }
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}: ${String(last)}`);
    await sleep(250);
  }
}

export interface PromVector {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

export interface PromAlert {
  readonly labels: Record<string, string>;
  readonly state: 'pending' | 'firing' | 'inactive';
}

export interface RunningPrometheus {
  readonly url: string;
  /** An instant query's result vector. */
  query(expr: string): Promise<PromVector[]>;
  /** Active alerts (pending and firing). */
  alerts(): Promise<PromAlert[]>;
  stop(): Promise<void>;
}

/** A job scraping `target` (host:port) with a Bearer token (none: no authorization). */
export function scrapeJob(name: string, target: string, token: string | null, scheme = 'http'): string {
  const auth = token === null ? '' : `    authorization:\n      type: Bearer\n      credentials: '${token}'\n`;
  return `  - job_name: ${name}\n    scheme: ${scheme}\n${auth}    static_configs:\n      - targets: ['${target}']\n`;
}

/**
 * Start Prometheus with `config` (YAML, written to `workDir/prometheus.yml`; its data in `workDir/data`), scraping
 * and evaluating as the config says; its log goes to test-artifacts/`logName`. Resolves once it is ready.
 */
export async function startPrometheus(workDir: string, config: string, logName: string): Promise<RunningPrometheus> {
  const artifacts = join(repoRoot(), 'test-artifacts');
  mkdirSync(artifacts, { recursive: true });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const configFile = join(workDir, 'prometheus.yml');
  writeFileSync(configFile, config);
  const log = createWriteStream(join(artifacts, logName));
  const child: ChildProcess = spawn(
    prometheusBin,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(workDir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  await eventually('Prometheus to be ready', 30_000, async () => {
    if (child.exitCode !== null) throw new Error(`prometheus exited ${child.exitCode} (test-artifacts/${logName})`);
    return (await httpGet(`${url}/-/ready`)).status === 200 ? true : undefined;
  });
  const api = async <T>(path: string): Promise<T> => {
    const r = await httpGet(`${url}${path}`);
    if (r.status !== 200) throw new Error(`${path}: HTTP ${r.status} ${r.body}`);
    const json = JSON.parse(r.body) as { status: string; data: T };
    assert.equal(json.status, 'success');
    return json.data;
  };
  return {
    url,
    query: async (expr) =>
      (await api<{ result: PromVector[] }>(`/api/v1/query?query=${encodeURIComponent(expr)}`)).result,
    alerts: async () => (await api<{ alerts: PromAlert[] }>('/api/v1/alerts')).alerts,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
