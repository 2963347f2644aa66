/**
 * hostmem against a real Prometheus server (Debian's `prometheus`, HOSTMEM_PROMETHEUS or /usr/bin/prometheus) and
 * promtool (HOSTMEM_PROMTOOL or /usr/bin/promtool); scripts/test-prometheus.mjs runs this file only when both exist.
 *
 * A real `hostmem serve` child runs the `pressure` scenario; Prometheus, started here on a free loopback port with a
 * generated config and a temporary data folder, scrapes it every second three times over: with the right Bearer
 * token, a wrong one, and none. Then, through Prometheus' HTTP API: hostmem_host_committed_bytes equals the host's
 * committed bytes and the failures summed by level equal the host's own counts (both read from the host over its
 * WebSocket), and the two jobs without the right token are down with a 401. promtool checks the endpoint's output.
 * A real process (`sleep`) is watched (`--watch PID`): its memory by type reaches Prometheus, labelled by pid and
 * name, and its series go stale once it is killed. Every query of the Grafana dashboard (docs/grafana/hostmem.json) is
 * valid PromQL for this Prometheus and every panel shows data.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import type { FailureCounts } from '../../main/host/types';
import { parseExposition, total } from '../../main/metrics/testing';
import type { StatsRow } from '../../main/telemetry/messages';
import { httpGet, repoRoot, serve, type Served } from '../e2e/serve';
import {
  eventually,
  promtoolBin,
  scrapeJob,
  sleep,
  startPrometheus,
  type PromVector,
  type RunningPrometheus,
} from './prometheus';

const LEVELS = ['eTaskCritical', 'eAppDomainCritical', 'eProcessCritical', 'other'] as const;
/** The name group watched (copies of `sleep` under this name). */
const GROUP = 'hmprom-sleep';

let workDir: string;
let hostmem: Served;
let prometheus: RunningPrometheus;
let promUrl: string;
let socket: WebSocket;
/** The host's books as its last push said, and whether its pressure workload ended. */
let latestStats: StatsRow | null = null;
let pressureEnded = false;
let hostState = '';
/** The watched process (a plain `sleep`, ended by the last test). */
let sleeper: ChildProcess;
/** A process of the watched name group. */
let member: ChildProcess;

const query = (expr: string): Promise<PromVector[]> => prometheus.query(expr);

before(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'hostmem-prometheus-'));
  // The dashboard is not under test here: a stand-in page, so that this leg does not need the app build.
  const rendererDir = join(workDir, 'renderer');
  mkdirSync(rendererDir);
  writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><title>hostmem</title>');
  sleeper = spawn('sleep', ['600'], { stdio: 'ignore' });
  const sleepPath = spawnSync('sh', ['-c', 'command -v sleep'], { encoding: 'utf8' }).stdout.trim();
  copyFileSync(sleepPath, join(workDir, GROUP));
  chmodSync(join(workDir, GROUP), 0o755);
  member = spawn(join(workDir, GROUP), ['600'], { stdio: 'ignore' });
  hostmem = await serve(
    ['--scenario', 'pressure', '--commit-limit', '64MiB', '--watch', String(sleeper.pid), '--watch', GROUP],
    { HOSTMEM_RENDERER_DIR: rendererDir },
  );

  socket = new WebSocket(`ws://${new URL(hostmem.origin).host}/ws?token=${hostmem.token}`);
  socket.on('message', (data) => {
    const frame = JSON.parse(String(data)) as {
      t: string;
      message?: {
        type: string;
        stats?: StatsRow;
        state?: { state: string };
        workloads?: { name: string; state: string }[];
      };
    };
    const m = frame.message;
    if (frame.t !== 'push' || !m) return;
    if (m.stats) latestStats = m.stats;
    if (m.state) hostState = m.state.state;
    if (m.workloads?.some((w) => w.name === 'pressure' && w.state === 'ended')) pressureEnded = true;
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });

  const target = new URL(hostmem.origin).host;
  const config =
    'global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n  evaluation_interval: 1s\nscrape_configs:\n' +
    scrapeJob('hostmem', target, hostmem.token) +
    scrapeJob('hostmem-wrong-token', target, 'not-the-token') +
    scrapeJob('hostmem-no-token', target, null);
  prometheus = await startPrometheus(workDir, config, 'prometheus.log');
  promUrl = prometheus.url;
});

after(async () => {
  socket?.close();
  for (const c of [sleeper, member]) if (c && c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await prometheus?.stop();
  if (hostmem) await hostmem.stop();
  rmSync(workDir, { recursive: true, force: true });
});

describe('hostmem serve scraped by Prometheus', () => {
  test('promtool check metrics passes on the endpoint output', async () => {
    const r = await httpGet(`${hostmem.origin}/metrics`, { authorization: `Bearer ${hostmem.token}` });
    assert.equal(r.status, 200);
    assert.match(r.body, /^hostmem_host_committed_bytes \d+$/m);
    const check = spawnSync(promtoolBin, ['check', 'metrics'], { input: r.body, encoding: 'utf8' });
    assert.equal(check.status, 0, `promtool: ${check.stdout}${check.stderr}`);
    assert.equal(check.stdout.trim() + check.stderr.trim(), '', 'promtool reports no lint problem');
  });

  test('committed bytes and failures by level in Prometheus agree with the host', async () => {
    // pressure ramps into its commit limit, is refused at every level, and ends with the host unavailable; from then
    // on the books do not move, so Prometheus' latest scrape must show exactly the host's figures.
    await eventually('the pressure scenario to end', 60_000, async () => (pressureEnded ? true : undefined));
    assert.equal(hostState, 'unavailable');
    await sleep(1000);
    latestStats = null;
    socket.send(JSON.stringify({ t: 'req', id: 1, method: 'resync' }));
    const host = await eventually('a full message after resync', 10_000, async () => latestStats ?? undefined);
    assert.ok(host.committed > 0, 'pressure left committed memory');
    for (const level of ['eTaskCritical', 'eAppDomainCritical', 'eProcessCritical'] as const) {
      assert.ok(host.failures[level] > 0, `pressure was refused at ${level}`);
    }

    const committed = await eventually('Prometheus to scrape the settled host', 20_000, async () => {
      const v = await query('hostmem_host_committed_bytes{job="hostmem"}');
      return v.length === 1 && Number(v[0]!.value[1]) === host.committed ? Number(v[0]!.value[1]) : undefined;
    });
    assert.equal(committed, host.committed);

    const byLevel = await eventually('failures by level to match', 20_000, async () => {
      const v = await query('sum by (level) (hostmem_host_failures_total{job="hostmem"})');
      const got: Record<string, number> = {};
      for (const s of v) got[s.metric.level!] = Number(s.value[1]);
      const want = host.failures as FailureCounts;
      return LEVELS.every((l) => (got[l] ?? 0) === want[l]) ? got : undefined;
    });
    for (const level of LEVELS) assert.equal(byLevel[level] ?? 0, host.failures[level], level);

    // The rest of what the host exported reached Prometheus too (OpenMetrics, which Prometheus asks for first).
    const available = await query('hostmem_host_available{job="hostmem"}');
    assert.equal(Number(available[0]!.value[1]), 0);
    const calls = await query('sum(hostmem_host_call_duration_seconds_count{job="hostmem"})');
    assert.ok(Number(calls[0]!.value[1]) > 0);
    const endpoint = await httpGet(`${hostmem.origin}/metrics`, { authorization: `Bearer ${hostmem.token}` });
    const exposed = parseExposition(endpoint.body);
    assert.equal(total(exposed, 'hostmem_host_committed_bytes'), host.committed);
  });

  test('a wrong or missing token gets 401 and the scrape shows as down', async () => {
    for (const headers of [{}, { authorization: 'Bearer not-the-token' }] as Record<string, string>[]) {
      assert.equal((await httpGet(`${hostmem.origin}/metrics`, headers)).status, 401);
    }
    const up = await eventually('every job to be scraped', 20_000, async () => {
      const v = await query('up');
      return v.length === 3 ? v : undefined;
    });
    const byJob = Object.fromEntries(up.map((s) => [s.metric.job!, Number(s.value[1])]));
    assert.deepEqual(byJob, { hostmem: 1, 'hostmem-wrong-token': 0, 'hostmem-no-token': 0 });
    const targets = await httpGet(`${promUrl}/api/v1/targets`);
    const active = (
      JSON.parse(targets.body) as { data: { activeTargets: { labels: { job: string }; lastError: string }[] } }
    ).data.activeTargets;
    for (const t of active.filter((x) => x.labels.job !== 'hostmem')) assert.match(t.lastError, /401/, t.labels.job);
    assert.equal(active.find((x) => x.labels.job === 'hostmem')?.lastError, '');
  });

  test('every panel of the Grafana dashboard has valid queries that find data', async () => {
    interface Panel {
      type: string;
      title: string;
      targets?: { expr: string }[];
    }
    const dashboard = JSON.parse(readFileSync(join(repoRoot(), 'docs', 'grafana', 'hostmem.json'), 'utf8')) as {
      panels: Panel[];
      templating: { list: { name: string; query: unknown }[] };
    };
    // Rates need several scrapes (Prometheus starts scraping a few seconds after it is ready).
    await eventually('several scrapes of hostmem', 30_000, async () => {
      const v = await query('count_over_time(up{job="hostmem"}[1m])');
      return v.length === 1 && Number(v[0]!.value[1]) >= 6 ? true : undefined;
    });
    const end = Date.now() / 1000;
    const start = end - 120;
    // Grafana's variables as Grafana would fill them in for "All" over the last two minutes.
    const fill = (expr: string): string =>
      expr
        .replaceAll('$__rate_interval', '5s')
        .replaceAll('$__range', '120s')
        .replaceAll('$instance', '.*')
        .replaceAll('$job', '.*')
        .replaceAll('$process', '.*');
    const rangeQuery = async (expr: string): Promise<unknown[]> => {
      const url = `${promUrl}/api/v1/query_range?query=${encodeURIComponent(fill(expr))}&start=${start}&end=${end}&step=1`;
      const r = await httpGet(url);
      assert.equal(r.status, 200, `${expr}: ${r.body}`);
      return (JSON.parse(r.body) as { data: { result: unknown[] } }).data.result;
    };
    const panels = dashboard.panels.filter((p) => p.type !== 'row');
    assert.ok(panels.length >= 8);
    for (const title of ['Reserved vs committed', 'Failures by critical level', 'Calls per second by method']) {
      assert.ok(
        panels.some((p) => p.title === title),
        title,
      );
    }
    assert.ok(panels.some((p) => /latency/i.test(p.title)));
    assert.ok(panels.some((p) => /process/i.test(p.title)));
    for (const title of ['Scrape up', 'Committed bytes by name group', 'Watch health']) {
      assert.ok(
        panels.some((p) => p.title === title),
        title,
      );
    }
    // Every query but `up` is limited to the chosen job and instances; every legend names the instance.
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        if (!target.expr.startsWith('up{'))
          assert.match(target.expr, /job=~"\$job", instance=~"\$instance"/, panel.title);
        const legend = (target as { legendFormat?: string }).legendFormat;
        if (panel.type !== 'table') assert.match(legend ?? '', /\{\{instance\}\}/, `${panel.title}: ${legend}`);
      }
    }
    assert.deepEqual(
      dashboard.templating.list.map((v) => v.name),
      ['datasource', 'job', 'instance', 'process'],
    );
    for (const panel of panels) {
      let found = 0;
      for (const target of panel.targets ?? []) found += (await rangeQuery(target.expr)).length;
      assert.ok(found > 0, `panel "${panel.title}" shows no data`);
    }
    // "Failures in range" gives whole counts.
    const inRange = panels.find((p) => p.title === 'Failures in range by level')!;
    for (const s of (await rangeQuery(inRange.targets![0]!.expr)) as { values: [number, string][] }[]) {
      for (const [, v] of s.values) assert.ok(Number.isInteger(Number(v)), `failures in range: ${v}`);
    }
    for (const variable of dashboard.templating.list) {
      const q = (variable.query as { query?: string }).query;
      const m = q === undefined ? null : /^label_values\((.*), (\w+)\)$/.exec(q);
      if (!m) continue;
      const series = await rangeQuery(m[1]!);
      assert.ok(series.length > 0, `variable ${variable.name} finds values`);
    }
  });

  test('a watched process reaches Prometheus by pid, name and type, and goes stale when it ends', async () => {
    const pid = String(sleeper.pid);
    const series = await eventually('the watched process in Prometheus', 20_000, async () => {
      const v = await query(`hostmem_process_committed_bytes{job="hostmem",pid="${pid}"}`);
      return v.length > 0 ? v : undefined;
    });
    for (const s of series) assert.equal(s.metric.name, 'sleep');
    const types = new Set(series.map((s) => s.metric.type));
    assert.ok(types.has('image'), `types: ${[...types].join(', ')}`);
    const regions = await query(`hostmem_process_regions{job="hostmem",pid="${pid}"}`);
    assert.ok(Number(regions[0]!.value[1]) > 3);

    const exited = new Promise((r) => sleeper.once('exit', r));
    sleeper.kill('SIGKILL');
    await exited;
    await eventually('the endpoint to drop the ended process', 10_000, async () => {
      const r = await httpGet(`${hostmem.origin}/metrics`, { authorization: `Bearer ${hostmem.token}` });
      return r.body.includes(`pid="${pid}"`) ? undefined : true;
    });
    // Prometheus marks series that a scrape no longer returns as stale: the instant query finds nothing.
    await eventually('the series to go stale in Prometheus', 20_000, async () => {
      const v = await query(`hostmem_process_committed_bytes{job="hostmem",pid="${pid}"}`);
      return v.length === 0 ? true : undefined;
    });
  });
});
