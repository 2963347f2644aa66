/**
 * The metrics against a real host over the real OS: calls and failures counted per call agree with what the calls
 * answered and with the host's own failure counts; the duration histogram counts every call; gauges come from the
 * sampler's latest sample (read at scrape time, not per call); limits and the notification state follow the policy;
 * watched processes are exported while listed and dropped when they end; OpenMetrics when the Accept header asks.
 */
import assert from 'node:assert/strict';
import { arch, hostname, platform, release } from 'node:os';
import { after, describe, test } from 'node:test';
import { MEM, PAGE } from '../../native';
import {
  DEFAULT_POLICY,
  FAILURE_GROUPS,
  HR,
  createHost,
  hresultName,
  type Host,
  type HostPolicy,
  type HostResult,
} from '../host';
import { createSampler } from '../telemetry/sampler';
import {
  HOST_METHODS,
  OPENMETRICS_CONTENT_TYPE,
  PROMETHEUS_CONTENT_TYPE,
  createHostMetrics,
  prefersOpenMetrics,
  type HostMetrics,
  type WatchedProcessMetrics,
} from './index';
import { parseExposition, select, total, type ParsedExposition } from './testing';
import { Counter, Gauge } from 'prom-client';

const KiB = 1024;
const MiB = 1024 * KiB;
const RW = PAGE.READWRITE;
const RESERVE_COMMIT = MEM.RESERVE | MEM.COMMIT;
const NAME_OF_HR = new Map(Object.entries(HR).map(([name, hr]) => [hr as number, name]));

const hosts: Host[] = [];
const metricsList: HostMetrics[] = [];
after(() => {
  for (const m of metricsList) m.dispose();
  for (const h of hosts) h.dispose();
});

function setup(policy: Partial<HostPolicy> = {}, processes: WatchedProcessMetrics[] = []) {
  const host = createHost({ policy: { ...DEFAULT_POLICY, ...policy } });
  hosts.push(host);
  const sampler = createSampler(host, { intervalMs: 60_000 });
  const metrics = createHostMetrics({ host, sampler, version: '9.9.9-test', processes: { list: () => processes } });
  metricsList.push(metrics);
  return { host, sampler, metrics };
}

async function scrape(metrics: HostMetrics, accept?: string): Promise<ParsedExposition> {
  const { body } = await metrics.scrape(accept);
  return parseExposition(body);
}

describe('per-call counters', () => {
  test('calls by method and result, failures by level and reason agree with the answers and the host', async () => {
    const { host, metrics } = setup({
      commitLimit: 4 * MiB,
      processCriticalWaitMs: 30,
      faults: [{ op: 'VirtualAlloc', level: 'eTaskCritical', everyNth: 7 }],
    });
    const tally = new Map<string, number>();
    const count = async (method: string, call: Promise<HostResult>): Promise<HostResult> => {
      const r = await call;
      const key = `${method}/${NAME_OF_HR.get(r.hr) ?? hresultName(r.hr)}`;
      tally.set(key, (tally.get(key) ?? 0) + 1);
      return r;
    };
    const held: number[] = [];
    // Ramp into the limit at every level (policy refusals, injected faults), then some argument errors.
    for (let i = 0; i < 40; i++) {
      const level = i % 3 === 2 ? 1 : 0;
      const r = (await count('VirtualAlloc', host.VirtualAlloc(null, 256 * KiB, RESERVE_COMMIT, RW, level))) as {
        address?: number | null;
      };
      if (r.address) held.push(r.address);
    }
    await count('VirtualAlloc', host.VirtualAlloc(null, 0, RESERVE_COMMIT, RW, 0));
    await count('VirtualFree', host.VirtualFree(0x1234_0000, 0, MEM.RELEASE));
    await count('VirtualQuery', host.VirtualQuery(held[0]!));
    await count('GetMemoryLoad', host.GetMemoryLoad());
    await count('VirtualFree', host.VirtualFree(held.pop()!, 0, MEM.RELEASE));
    // eProcessCritical over the limit waits, times out and turns the host unavailable; then everything is refused.
    await count('VirtualAlloc', host.VirtualAlloc(null, 8 * MiB, RESERVE_COMMIT, RW, 2));
    assert.equal(host.stats().state, 'unavailable');
    await count('VirtualAlloc', host.VirtualAlloc(null, 64 * KiB, RESERVE_COMMIT, RW, 0));

    const parsed = await scrape(metrics);
    for (const method of HOST_METHODS) {
      for (const s of select(parsed, 'hostmem_host_calls_total', { method })) {
        assert.equal(s.value, tally.get(`${method}/${s.labels.result}`) ?? 0, `${method} ${s.labels.result}`);
      }
    }
    for (const [key, n] of tally) {
      const [method, result] = key.split('/') as [string, string];
      assert.equal(total(parsed, 'hostmem_host_calls_total', { method, result }), n, key);
    }
    const failures = host.stats().failures;
    for (const level of FAILURE_GROUPS) {
      assert.equal(total(parsed, 'hostmem_host_failures_total', { level }), failures[level], level);
    }
    // Each kind of failure made above shows up under its reason.
    for (const reason of ['policy', 'injected', 'invalid', 'timeout', 'unavailable']) {
      assert.ok(total(parsed, 'hostmem_host_failures_total', { reason }) > 0, reason);
    }
    assert.ok(failures.eTaskCritical > 0 && failures.eAppDomainCritical > 0 && failures.eProcessCritical > 0);
    assert.equal(total(parsed, 'hostmem_host_available'), 0);
  });

  test('the duration histogram counts every call, cumulatively, with seconds in _sum', async () => {
    const { host, metrics } = setup();
    for (let i = 0; i < 25; i++) {
      const r = await host.VirtualAlloc(null, 64 * KiB, RESERVE_COMMIT, RW, 0);
      await host.VirtualFree(r.address!, 0, MEM.RELEASE);
    }
    const parsed = await scrape(metrics);
    for (const method of ['VirtualAlloc', 'VirtualFree']) {
      const calls = total(parsed, 'hostmem_host_calls_total', { method });
      assert.equal(calls, 25);
      const buckets = select(parsed, 'hostmem_host_call_duration_seconds_bucket', { method });
      assert.equal(buckets.at(-1)!.labels.le, '+Inf');
      assert.equal(buckets.at(-1)!.value, calls);
      for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i]!.value >= buckets[i - 1]!.value);
      assert.equal(total(parsed, 'hostmem_host_call_duration_seconds_count', { method }), calls);
      const sum = total(parsed, 'hostmem_host_call_duration_seconds_sum', { method });
      // Seconds, not milliseconds: 25 real OS calls take well under a second and more than nothing.
      assert.ok(sum > 0 && sum < 1, `sum ${sum}`);
    }
    // Methods never called are there at 0.
    assert.equal(total(parsed, 'hostmem_host_call_duration_seconds_count', { method: 'Check' }), 0);
  });

  test('every known label set is there at 0 from the first scrape, so the first failure is an increase', async () => {
    const { host, metrics } = setup({ commitLimit: 1 * MiB, processCriticalWaitMs: 10 });
    let parsed = await scrape(metrics);
    // Every HRESULT the host produces (it never answers HOST_E_NOT_OWNER: that one appears only if it ever does).
    const results = Object.keys(HR).filter((r) => r !== 'HOST_E_NOT_OWNER');
    for (const method of HOST_METHODS) {
      assert.equal(select(parsed, 'hostmem_host_calls_total', { method, result: 'HOST_E_NOT_OWNER' }).length, 0);
      for (const result of results) {
        const s = select(parsed, 'hostmem_host_calls_total', { method, result });
        assert.equal(s.length, 1, `${method} ${result}`);
        assert.equal(s[0]!.value, 0);
      }
      assert.equal(select(parsed, 'hostmem_host_calls_total', { method, result: 'other' }).length, 0, 'no other yet');
      assert.equal(total(parsed, 'hostmem_host_call_duration_seconds_count', { method }), 0);
      assert.equal(select(parsed, 'hostmem_host_call_duration_seconds_bucket', { method }).length, 17);
    }
    for (const level of FAILURE_GROUPS) {
      for (const reason of ['policy', 'os', 'injected', 'timeout', 'unavailable', 'invalid']) {
        const s = select(parsed, 'hostmem_host_failures_total', { level, reason });
        assert.equal(s.length, 1, `${level} ${reason}`);
        assert.equal(s[0]!.value, 0);
      }
    }
    // The refusal that makes the host unavailable: the same series, from 0 to 1.
    const r = await host.VirtualAlloc(null, 4 * MiB, RESERVE_COMMIT, RW, 2);
    assert.equal(r.hr, HR.HOST_E_TIMEOUT);
    parsed = await scrape(metrics);
    assert.equal(total(parsed, 'hostmem_host_failures_total', { level: 'eProcessCritical', reason: 'timeout' }), 1);
    assert.equal(total(parsed, 'hostmem_host_calls_total', { method: 'VirtualAlloc', result: 'HOST_E_TIMEOUT' }), 1);
    // And in OpenMetrics too, from its first scrape.
    const open = parseExposition((await metrics.scrape('application/openmetrics-text')).body);
    assert.equal(select(open, 'hostmem_host_failures_total', { level: 'eTaskCritical', reason: 'os' })[0]?.value, 0);
    assert.equal(total(open, 'hostmem_host_failures_total', { level: 'eProcessCritical', reason: 'timeout' }), 1);
  });

  test("prom-client's own metric objects, read through its documented API (getMetricsAsJSON)", async () => {
    const { host, metrics } = setup();
    await host.GetMemoryLoad();
    const json = await metrics.registry.getMetricsAsJSON();
    const byName = new Map(json.map((m) => [m.name, m]));
    const histogram = byName.get('hostmem_host_call_duration_seconds')!;
    const count = histogram.values.find(
      (v) =>
        (v as { metricName?: string }).metricName === 'hostmem_host_call_duration_seconds_count' &&
        v.labels.method === 'GetMemoryLoad',
    );
    assert.equal(count?.value, 1, 'the method is a label of each histogram value');
    const calls = byName.get('hostmem_host_calls_total')!;
    assert.equal(calls.values.find((v) => v.labels.method === 'GetMemoryLoad' && v.labels.result === 'S_OK')?.value, 1);
    const committed = byName.get('hostmem_host_committed_bytes')!;
    assert.equal(committed.values[0]?.value, host.stats().committed);
    // No metric overrides prom-client's get(): each gauge and counter is a plain Gauge or Counter (the duration
    // histogram is a collector object, counted per call without prom-client: see registry.ts).
    const plain: unknown[] = [Counter.prototype, Gauge.prototype];
    for (const metric of metrics.registry.getMetricsAsArray()) {
      if (!metric.name.startsWith('hostmem_') || metric.name === 'hostmem_host_call_duration_seconds') continue;
      assert.ok(plain.includes(Object.getPrototypeOf(metric)), `${metric.name} is a plain prom-client metric`);
      assert.ok(!Object.hasOwn(metric, 'get'), `${metric.name} keeps prom-client's get()`);
    }
  });

  test('after dispose the host is no longer listened to', async () => {
    const { host, metrics } = setup();
    await host.GetMemoryLoad();
    metrics.dispose();
    await host.GetMemoryLoad();
    assert.equal(total(await scrape(metrics), 'hostmem_host_calls_total', { method: 'GetMemoryLoad' }), 1);
  });
});

describe('scrape-time readings', () => {
  test("books come from the sampler's latest sample, not from each call", async () => {
    const { host, sampler, metrics } = setup({ commitLimit: 64 * MiB });
    // Before the first sample, the host's own stats.
    const a = await host.VirtualAlloc(null, 1 * MiB, RESERVE_COMMIT, RW, 0);
    assert.equal(total(await scrape(metrics), 'hostmem_host_committed_bytes'), 1 * MiB);
    sampler.sampleNow();
    const b = await host.VirtualAlloc(null, 2 * MiB, MEM.RESERVE, RW, 0);
    await host.VirtualAlloc(b.address, 512 * KiB, MEM.COMMIT, RW, 0);
    let parsed = await scrape(metrics);
    assert.equal(total(parsed, 'hostmem_host_committed_bytes'), 1 * MiB, 'still the sample taken before');
    assert.equal(total(parsed, 'hostmem_host_reserved_bytes'), 1 * MiB);
    sampler.sampleNow();
    parsed = await scrape(metrics);
    const stats = host.stats();
    assert.equal(total(parsed, 'hostmem_host_committed_bytes'), stats.committed);
    assert.equal(total(parsed, 'hostmem_host_reserved_bytes'), stats.reserved);
    assert.equal(total(parsed, 'hostmem_host_regions'), 2);
    assert.equal(total(parsed, 'hostmem_host_heap_bytes'), 0);
    assert.equal(total(parsed, 'hostmem_host_external_bytes'), 0);
    const load = total(parsed, 'hostmem_host_memory_load_ratio');
    assert.ok(Math.abs(load - (1.5 * MiB) / (64 * MiB)) < 0.011, `load ${load}`);
    const os = select(parsed, 'hostmem_os_memory_load_ratio');
    if (os.length) assert.ok(os[0]!.value > 0 && os[0]!.value <= 1);
    await host.VirtualFree(a.address!, 0, MEM.RELEASE);
  });

  test('limits, level limits, notification state and availability follow the policy and the host', async () => {
    const { host, sampler, metrics } = setup({ commitLimit: 10 * MiB, reserveLimit: 100 * MiB });
    sampler.sampleNow();
    let parsed = await scrape(metrics);
    assert.equal(total(parsed, 'hostmem_host_commit_limit_bytes'), 10 * MiB);
    assert.equal(total(parsed, 'hostmem_host_reserve_limit_bytes'), 100 * MiB);
    for (const [level, threshold] of Object.entries(DEFAULT_POLICY.thresholds)) {
      assert.equal(total(parsed, 'hostmem_host_level_limit_bytes', { level }), threshold * 10 * MiB);
    }
    const states = select(parsed, 'hostmem_host_memory_notification');
    assert.deepEqual(states.map((s) => s.labels.state).sort(), ['High', 'Low', 'Neutral']);
    assert.equal(states.filter((s) => s.value === 1).length, 1);
    assert.equal(total(parsed, 'hostmem_host_memory_notification', { state: 'High' }), 1, 'an empty host is High');
    assert.equal(total(parsed, 'hostmem_host_available'), 1);
    // Low past 90 % of the limit.
    await host.VirtualAlloc(null, 9.5 * MiB, RESERVE_COMMIT, RW, 2);
    sampler.sampleNow();
    parsed = await scrape(metrics);
    assert.equal(total(parsed, 'hostmem_host_memory_notification', { state: 'Low' }), 1);
    // No limits: the limit series are absent, not 0.
    host.setPolicy({ ...host.policy(), commitLimit: null, reserveLimit: null });
    sampler.sampleNow();
    parsed = await scrape(metrics);
    for (const name of [
      'hostmem_host_commit_limit_bytes',
      'hostmem_host_reserve_limit_bytes',
      'hostmem_host_level_limit_bytes',
      'hostmem_host_memory_load_ratio',
    ]) {
      assert.equal(select(parsed, name).length, 0, name);
      assert.ok(parsed.help.get(name), `${name} keeps its HELP`);
    }
    assert.equal(total(parsed, 'hostmem_build_info', { version: '9.9.9-test', backend: host.backend }), 1);
  });

  test("identity: build info with the revision, the machine, and prom-client's process metrics for hostmem", async () => {
    const host = createHost();
    hosts.push(host);
    const metrics = createHostMetrics({
      host,
      sampler: createSampler(host, { intervalMs: 60_000 }),
      version: '1.2.3',
      revision: 'abc123def456',
    });
    metricsList.push(metrics);
    const parsed = await scrape(metrics);
    const build = select(parsed, 'hostmem_build_info');
    assert.deepEqual(
      build.map((s) => s.labels),
      [{ version: '1.2.3', revision: 'abc123def456', backend: host.backend }],
    );
    const machine = select(parsed, 'hostmem_machine_info');
    assert.equal(machine.length, 1);
    assert.deepEqual(machine[0]!.labels, {
      hostname: hostname(),
      os: platform(),
      release: release(),
      arch: arch(),
      backend: host.backend,
    });
    // prom-client's default metrics, about this process.
    assert.ok(total(parsed, 'process_cpu_user_seconds_total') > 0);
    assert.ok(total(parsed, 'process_start_time_seconds') > 1e9);
    assert.equal(select(parsed, 'nodejs_version_info')[0]?.labels.version, process.version);
    if (platform() === 'linux') assert.ok(total(parsed, 'process_resident_memory_bytes') > 1e6);
  });
});

describe('watched processes', () => {
  test('each process is exported by pid, name and type while listed, and dropped when it ends', async () => {
    const processes: WatchedProcessMetrics[] = [
      {
        pid: 4242,
        name: 'worker "a"',
        regions: 12,
        byType: [
          { type: 'image', committed: 3 * MiB, reserved: 4 * MiB, resident: 2 * MiB, private: 1 * MiB },
          { type: 'heap', committed: 8 * MiB, reserved: 16 * MiB, resident: null, private: null },
        ],
        startTime: 1_700_000_000.5,
      },
      {
        pid: 7,
        name: 'init',
        regions: 3,
        byType: [{ type: 'stack', committed: 8 * KiB, reserved: 8 * MiB, resident: 8 * KiB, private: 8 * KiB }],
        startTime: null,
      },
    ];
    const { metrics } = setup({}, processes);
    let parsed = await scrape(metrics);
    const image = { pid: '4242', name: 'worker "a"', type: 'image' };
    assert.equal(total(parsed, 'hostmem_process_committed_bytes', image), 3 * MiB);
    assert.equal(total(parsed, 'hostmem_process_reserved_bytes', image), 4 * MiB);
    assert.equal(total(parsed, 'hostmem_process_resident_bytes', image), 2 * MiB);
    assert.equal(total(parsed, 'hostmem_process_private_bytes', image), 1 * MiB);
    const heap = { pid: '4242', type: 'heap' };
    assert.equal(total(parsed, 'hostmem_process_committed_bytes', heap), 8 * MiB);
    assert.equal(select(parsed, 'hostmem_process_resident_bytes', heap).length, 0, 'unknown: absent');
    assert.equal(total(parsed, 'hostmem_process_regions', { pid: '4242' }), 12);
    assert.equal(total(parsed, 'hostmem_process_regions', { pid: '7', name: 'init' }), 3);
    assert.equal(total(parsed, 'hostmem_process_start_time_seconds', { pid: '4242' }), 1_700_000_000.5);
    assert.equal(select(parsed, 'hostmem_process_start_time_seconds', { pid: '7' }).length, 0, 'unknown: absent');
    processes.shift();
    parsed = await scrape(metrics);
    for (const s of parsed.samples.filter((x) => x.name.startsWith('hostmem_process_'))) {
      assert.equal(s.labels.pid, '7', `${s.name} of an ended process`);
    }
    assert.equal(total(parsed, 'hostmem_process_regions', { pid: '7' }), 3);
  });
});

describe('formats', () => {
  test('the Accept header picks OpenMetrics the way Prometheus asks for it', () => {
    const prometheus =
      'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
    assert.equal(prefersOpenMetrics(prometheus), true);
    assert.equal(prefersOpenMetrics('application/openmetrics-text'), true);
    assert.equal(prefersOpenMetrics(undefined), false);
    assert.equal(prefersOpenMetrics(''), false);
    assert.equal(prefersOpenMetrics('*/*'), false);
    assert.equal(prefersOpenMetrics('text/plain;version=0.0.4'), false);
    assert.equal(prefersOpenMetrics('text/plain, application/openmetrics-text;q=0.5'), false);
    assert.equal(prefersOpenMetrics('application/openmetrics-text;q=0'), false);
    assert.equal(prefersOpenMetrics('application/openmetrics-text;q=x, text/plain'), false);
  });

  test('OpenMetrics and the text format both carry every family, and neither disturbs the other', async () => {
    const { host, metrics } = setup();
    await host.GetMemoryLoad();
    const open = await metrics.scrape('application/openmetrics-text; version=1.0.0');
    assert.equal(open.contentType, OPENMETRICS_CONTENT_TYPE);
    assert.ok(open.body.endsWith('# EOF\n'));
    const o = parseExposition(open.body);
    assert.equal(o.types.get('hostmem_host_calls'), 'counter');
    assert.equal(total(o, 'hostmem_host_calls_total', { method: 'GetMemoryLoad', result: 'S_OK' }), 1);
    const plain = await metrics.scrape();
    assert.equal(plain.contentType, PROMETHEUS_CONTENT_TYPE);
    const p = parseExposition(plain.body);
    assert.equal(p.types.get('hostmem_host_calls_total'), 'counter');
    assert.equal(total(p, 'hostmem_host_calls_total', { method: 'GetMemoryLoad' }), 1);
    // Every family has HELP; counters end in _total; gauges of bytes end in _bytes.
    for (const [name, type] of p.types) {
      assert.ok((p.help.get(name) ?? '').length > 10, `${name} HELP`);
      if (type === 'counter') assert.match(name, /_total$/);
      else assert.doesNotMatch(name, /_total$/, `${name} is a ${type}, not a counter`);
    }
    assert.equal(p.types.get('hostmem_host_call_duration_seconds'), 'histogram');
    assert.deepEqual(
      [...o.types.keys()].map((n) => (o.types.get(n) === 'counter' ? `${n}_total` : n)).sort(),
      [...p.types.keys()].sort(),
    );
  });
});
