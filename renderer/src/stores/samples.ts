/** Sample history for the chart and the failure trends: kept in a SampleSeries outside reactivity. */
import { defineStore } from 'pinia';
import { markRaw, shallowRef } from 'vue';
import type { HistoryPoint, Sample } from '../api/contract';
import { SampleSeries } from './series';

export const useSamplesStore = defineStore('samples', () => {
  const series = markRaw(new SampleSeries());
  /** Bumped on every change of `series`. */
  const version = shallowRef(0);

  function replace(samples: readonly HistoryPoint[]): void {
    series.clear();
    series.append(samples);
    version.value++;
  }

  function append(samples: readonly Sample[]): void {
    series.append(samples);
    version.value++;
  }

  return { series, version, replace, append };
});
