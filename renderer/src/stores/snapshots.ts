/** Snapshots of the region map: take, list, diff two. */
import { defineStore } from 'pinia';
import { shallowRef } from 'vue';
import type { DiffResult, SnapshotInfo } from '../api/contract';
import { useApiStore } from './api';

export const useSnapshotsStore = defineStore('snapshots', () => {
  const list = shallowRef<readonly SnapshotInfo[]>([]);
  const diff = shallowRef<DiffResult | null>(null);

  async function refresh(): Promise<void> {
    list.value = (await useApiStore().api().call('snapshots')).snapshots;
  }

  async function take(label?: string): Promise<number> {
    const r = await useApiStore()
      .api()
      .call('takeSnapshot', label ? { label } : {});
    await refresh();
    return r.id;
  }

  async function compare(a: number, b: number): Promise<void> {
    diff.value = await useApiStore().api().call('diffSnapshots', { a, b });
  }

  return { list, diff, refresh, take, compare };
});
