/**
 * Same seed, same sequence of requests: each scenario runs twice on two fresh hosts, each wrapped in a
 * RecordingHost that writes down every call (addresses as allocation ordinals), and the two records are equal —
 * calls, arguments and HRESULTs, the runner's clean-up included. Another seed gives another sequence.
 * (The example user script is checked the same way in script.test.ts.)
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_POLICY, createHost, type HostPolicy } from '../host';
import { startWorkload } from './index';
import { RecordingHost } from './recording-host';

async function record(
  scenario: string,
  params: Record<string, unknown>,
  policy: Partial<HostPolicy> = {},
): Promise<string[]> {
  const host = createHost({ policy: { ...DEFAULT_POLICY, ...policy } });
  const recording = new RecordingHost(host);
  try {
    const s = await startWorkload(recording, { scenario, params: { rate: 0, ...params } }).done;
    assert.ok(s.end === 'max-calls' || s.end === 'completed', `${scenario}: ${s.end} ${s.error ?? ''}`);
    if (s.cleanupPending) {
      // pressure leaves the host unavailable: its memory is released (and recorded) once the host is reset.
      host.reset();
      while (host.stats().regions > 0) await new Promise((r) => setTimeout(r, 5));
    }
    assert.equal(host.stats().regions, 0);
    assert.deepEqual(host.audit().drift, []);
    return recording.lines;
  } finally {
    host.dispose();
  }
}

const CASES: ReadonlyArray<[string, Record<string, unknown>, Partial<HostPolicy>?]> = [
  ['steady', { maxCalls: 400 }],
  ['gc-heap', { maxCalls: 400, segmentSize: '512KiB', gen0Budget: '128KiB', fullEvery: 2, lohChance: 0.1 }],
  ['leak', { maxCalls: 300, releaseOnStop: true }],
  ['fragmentation', { maxCalls: 400, maxRegions: 32 }],
  ['burst', { maxCalls: 300, idleMs: 5, burstCalls: 60 }],
  [
    'pressure',
    { maxCalls: 400, chunkMin: '64KiB', chunkMax: '256KiB' },
    { commitLimit: 4 * 1024 * 1024, processCriticalWaitMs: 20 },
  ],
];

describe('determinism: same seed, same requests', () => {
  for (const [name, params, policy] of CASES) {
    test(`${name}: two runs of seed 7 make the same calls; seed 8 does not`, async () => {
      const a = await record(name, { ...params, seed: 7 }, policy);
      const b = await record(name, { ...params, seed: 7 }, policy);
      assert.ok(a.length > 50, `${name} recorded ${a.length} calls`);
      assert.deepEqual(b, a);
      const c = await record(name, { ...params, seed: 8 }, policy);
      assert.notDeepEqual(c, a);
    });
  }

  test('the rate does not change the sequence, only its timing', async () => {
    const fast = await record('fragmentation', { maxCalls: 150, seed: 3, rate: 0 });
    const paced = await record('fragmentation', { maxCalls: 150, seed: 3, rate: 2000 });
    assert.deepEqual(paced, fast);
  });
});
