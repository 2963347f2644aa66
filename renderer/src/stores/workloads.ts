/** Running workloads (pushed about once a second) and the scenarios one can start. */
import { defineStore } from 'pinia';
import { shallowRef } from 'vue';
import type { WorkloadInfo } from '../api/contract';
import { useApiStore } from './api';

export const useWorkloadsStore = defineStore('workloads', () => {
  const workloads = shallowRef<readonly WorkloadInfo[]>([]);

  function apply(list: readonly WorkloadInfo[]): void {
    workloads.value = list;
  }

  async function refresh(): Promise<void> {
    const r = await useApiStore().api().call('workloads');
    workloads.value = r.workloads;
  }

  async function start(scenario: string, params: Record<string, unknown>): Promise<string> {
    const r = await useApiStore().api().call('startWorkload', { scenario, params });
    await refresh();
    return r.id;
  }

  async function stop(id: string): Promise<void> {
    await useApiStore().api().call('stopWorkload', { id });
    await refresh();
  }

  async function pause(id: string, paused: boolean): Promise<void> {
    await useApiStore().api().call('pauseWorkload', { id, paused });
    await refresh();
  }

  return { workloads, apply, refresh, start, stop, pause };
});
