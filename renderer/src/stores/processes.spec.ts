import { describe, expect, it } from 'vitest';
import { ApiCallError, type ProcessRegionRow, type ProcessTypeTotals } from '../api/contract';
import { selectProcessRows } from '../lib/processRows';
import { setup } from '../test/harness';
import { useProcessesStore } from './processes';

const row = (base: number, committed: number): ProcessRegionRow => ({
  base,
  size: 0x10000,
  state: 'commit',
  type: 'private',
  protect: 4,
  committed,
  resident: committed,
  private: null,
  file: null,
});
const totals: ProcessTypeTotals[] = [];
const flush = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

describe('the processes store', () => {
  it('folds a full message and deltas; the table list is the merged one; a gap watches again', async () => {
    const { client } = setup((method) =>
      method === 'watchProcess' ? { pid: 7, name: 'seven', intervalMs: 1000, watching: [] } : {},
    );
    const store = useProcessesStore();
    await store.watch(7);
    expect(client.calls.filter((c) => c.method === 'watchProcess')).toHaveLength(1);
    const rows = Array.from({ length: 200 }, (_, i) => row(0x10000 * (i + 1), 4096));
    client.push({
      type: 'process',
      kind: 'full',
      pid: 7,
      seq: 1,
      time: 1000,
      name: 'seven',
      intervalMs: 1000,
      totals,
      rows,
      history: [{ t: 1000, committed: 1, reserved: 2, resident: 3, regions: 200 }],
    });
    store.sortBy('committed'); // descending by committed
    expect(store.visible).toHaveLength(200);
    client.push({
      type: 'process',
      kind: 'delta',
      pid: 7,
      seq: 2,
      time: 2000,
      sample: { t: 2000, committed: 5, reserved: 6, resident: null, regions: 200 },
      added: [row(0x5000000, 1 << 20)],
      updated: [row(0x10000 * 3, 8192)],
      removed: [0x10000 * 5],
    });
    const want = selectProcessRows(
      [...rows.filter((r) => r.base !== 0x50000 && r.base !== 0x30000), row(0x30000, 8192), row(0x5000000, 1 << 20)],
      store.filter,
      'committed',
      true,
    );
    expect(store.visible).toEqual(want);
    expect(store.visible[0]!.base).toBe(0x5000000);
    expect(store.series.lines.committed.map((p) => p.y)).toEqual([1, 5]);
    expect(store.series.lines.resident).toHaveLength(1);

    // A push of another pid is ignored; a gap in seq asks for a full message again.
    client.push({ type: 'process', kind: 'end', pid: 8, seq: 3, reason: 'exited', time: 3, message: '' });
    client.push({ type: 'process', kind: 'end', pid: 7, seq: 9, reason: 'exited', time: 3, message: 'gone' });
    await flush();
    expect(client.calls.filter((c) => c.method === 'watchProcess')).toHaveLength(2);
    expect(store.end).toBeNull();
    client.push({ type: 'process', kind: 'end', pid: 7, seq: 3, reason: 'exited', time: 3, message: 'gone' });
    expect(store.end?.reason).toBe('exited');
    expect(store.count).toBe(200);
  });

  it('a refused watch keeps the reason; unwatch lets the process go', async () => {
    const { client } = setup();
    const store = useProcessesStore();
    const asked: string[] = [];
    client.call = ((method: string) => {
      asked.push(method);
      if (method === 'watchProcess') {
        return Promise.reject(
          new ApiCallError({
            code: 'refused',
            message: 'access denied to process 1: EACCES',
            reason: { code: 'process-access-denied', params: { pid: 1, detail: 'EACCES' } },
          }),
        );
      }
      return Promise.resolve({});
    }) as typeof client.call;
    expect(await store.watch(1)).toBe(false);
    expect(store.problem).toEqual({
      code: 'refused',
      message: 'access denied to process 1: EACCES',
      reason: { code: 'process-access-denied', params: { pid: 1, detail: 'EACCES' } },
    });
    store.unwatch();
    expect(store.pid).toBeNull();
    expect(store.problem).toBeNull();
    expect(asked.filter((m) => m.endsWith('Process'))).toEqual(['watchProcess', 'unwatchProcess']);
  });
});
