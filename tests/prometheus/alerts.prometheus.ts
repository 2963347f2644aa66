/**
 * The example alert rules (docs/prometheus/alerts.yml) in a real Prometheus: promtool checks them and runs their unit
 * tests (docs/prometheus/alerts.test.yml, `for:` durations included); then Prometheus, with the rules as shipped
 * except their `for:` clauses (so that they fire in seconds, not minutes), scrapes a real `hostmem serve` every
 * second and evaluates them every second:
 * - the failure counters are there at 0 before anything failed (scraped several times), so the first refusal at
 *   eProcessCritical (a 32 MiB request against a 16 MiB commit limit, over the dashboard's WebSocket) is an increase:
 *   HostmemProcessCriticalRefusal fires, and HostmemHostUnavailable with it;
 * - a watched process that commits more than the 1 GiB budget (a Node child holding a 1.25 GiB buffer it never
 *   touches) fires HostmemWatchedProcessOverBudget with its pid; HostmemDown stays quiet.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { repoRoot, serve, type Served } from '../e2e/serve';
import {
  eventually,
  promtoolBin,
  scrapeJob,
  startPrometheus,
  type PromAlert,
  type RunningPrometheus,
} from './prometheus';

const rulesFile = join(repoRoot(), 'docs', 'prometheus', 'alerts.yml');
const rulesTests = join(repoRoot(), 'docs', 'prometheus', 'alerts.test.yml');
const MiB = 1024 * 1024;

let workDir: string;
let hostmem: Served;
let prometheus: RunningPrometheus;
/** A process that commits more than the budget. */
let big: ChildProcess;

before(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'hostmem-alerts-'));
  const rendererDir = join(workDir, 'renderer');
  mkdirSync(rendererDir);
  writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><title>hostmem</title>');
  big = spawn(process.execPath, ['-e', 'globalThis.b = Buffer.alloc(1.25 * 2 ** 30); setInterval(() => {}, 1 << 30)'], {
    stdio: 'ignore',
  });
  hostmem = await serve(['--scenario', 'none', '--commit-limit', '16MiB', '--watch', String(big.pid)], {
    HOSTMEM_RENDERER_DIR: rendererDir,
  });
  // The rules as shipped, but firing as soon as their expression holds.
  const rules = readFileSync(rulesFile, 'utf8').replace(/^\s+for: .*\n/gm, '');
  writeFileSync(join(workDir, 'alerts.yml'), rules);
  const config =
    'global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n  evaluation_interval: 1s\n' +
    `rule_files:\n  - ${join(workDir, 'alerts.yml')}\n` +
    'scrape_configs:\n' +
    scrapeJob('hostmem', new URL(hostmem.origin).host, hostmem.token);
  prometheus = await startPrometheus(workDir, config, 'prometheus-alerts.log');
});

after(async () => {
  if (big && big.exitCode === null && big.signalCode === null) big.kill('SIGKILL');
  await prometheus?.stop();
  if (hostmem) await hostmem.stop();
  rmSync(workDir, { recursive: true, force: true });
});

const firing = async (name: string): Promise<PromAlert[]> =>
  (await prometheus.alerts()).filter((a) => a.labels.alertname === name && a.state === 'firing');

/** One contract request over the dashboard's WebSocket. */
async function call(method: string, params: object): Promise<{ ok: boolean; result?: { hr?: number } }> {
  const ws = new WebSocket(`ws://${new URL(hostmem.origin).host}/ws?token=${hostmem.token}`);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  try {
    return await new Promise((resolve) => {
      ws.on('message', (data) => {
        const frame = JSON.parse(String(data)) as { t: string; id?: number; ok: boolean; result?: { hr?: number } };
        if (frame.t === 'res' && frame.id === 1) resolve(frame);
      });
      ws.send(JSON.stringify({ t: 'req', id: 1, method, params }));
    });
  } finally {
    ws.close();
  }
}

describe('the example alert rules', () => {
  test('promtool: the rules are valid and their unit tests pass', () => {
    const check = spawnSync(promtoolBin, ['check', 'rules', rulesFile], { encoding: 'utf8' });
    assert.equal(check.status, 0, check.stdout + check.stderr);
    assert.match(check.stdout, /SUCCESS: 6 rules found/);
    const unit = spawnSync(promtoolBin, ['test', 'rules', rulesTests], { encoding: 'utf8' });
    assert.equal(unit.status, 0, unit.stdout + unit.stderr);
  });

  test('a refusal at eProcessCritical fires, because its counter was already at 0', async () => {
    const series = 'hostmem_host_failures_total{job="hostmem", level="eProcessCritical", reason="timeout"}';
    await eventually('the eProcessCritical counter scraped at 0 several times', 30_000, async () => {
      const v = await prometheus.query(`count_over_time(${series}[1m]) >= 3 and max_over_time(${series}[1m]) == 0`);
      return v.length === 1 ? true : undefined;
    });
    assert.deepEqual(await firing('HostmemProcessCriticalRefusal'), [], 'nothing refused yet');

    const answer = await call('virtualAlloc', {
      address: null,
      size: 32 * MiB,
      type: 0x3000,
      protect: 0x04,
      level: 'eProcessCritical',
    });
    assert.equal(answer.ok, true);
    assert.equal(answer.result?.hr, 0x80131024, 'HOST_E_TIMEOUT');

    const alerts = await eventually('HostmemProcessCriticalRefusal to fire', 30_000, async () => {
      const a = await firing('HostmemProcessCriticalRefusal');
      return a.length > 0 ? a : undefined;
    });
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0]!.labels.level, 'eProcessCritical');
    assert.equal(alerts[0]!.labels.reason, 'timeout');
    assert.equal(alerts[0]!.labels.severity, 'critical');
    await eventually('HostmemHostUnavailable to fire', 30_000, async () =>
      (await firing('HostmemHostUnavailable')).length === 1 ? true : undefined,
    );
  });

  test('a watched process over its budget fires, with its pid; a target that is up does not', async () => {
    const alerts = await eventually('HostmemWatchedProcessOverBudget to fire', 30_000, async () => {
      const a = await firing('HostmemWatchedProcessOverBudget');
      return a.length > 0 ? a : undefined;
    });
    assert.deepEqual(
      alerts.map((a) => a.labels.pid),
      [String(big.pid)],
    );
    assert.deepEqual(await firing('HostmemDown'), []);
    assert.deepEqual(await firing('HostmemWatchUnreadable'), []);
  });
});
