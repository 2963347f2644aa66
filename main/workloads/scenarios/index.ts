/** The built-in scenarios, by name (documented in ../README.md). */
import type { Scenario } from '../types';
import { burst } from './burst';
import { fragmentation } from './fragmentation';
import { gcHeap } from './gc-heap';
import { leak } from './leak';
import { pressure } from './pressure';
import { steady } from './steady';

export { burst, fragmentation, gcHeap, leak, pressure, steady };
export type { BurstParams } from './burst';
export type { FragmentationParams } from './fragmentation';
export type { GcHeapParams } from './gc-heap';
export type { LeakParams } from './leak';
export type { OnUnavailable, PressureParams } from './pressure';
export type { SteadyParams } from './steady';

/** In the order the UI and `hostmem scenarios` list them; `steady` is the default the app starts with. */
export const SCENARIOS: readonly Scenario[] = [
  steady,
  gcHeap,
  leak,
  fragmentation,
  pressure,
  burst,
] as readonly Scenario[];

export const DEFAULT_SCENARIO = 'steady';

export function getScenario(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
