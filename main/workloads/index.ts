/**
 * Workloads: built-in seeded scenarios and user workload scripts, run against a host memory manager.
 * May import `native/` and `main/host/` only (no Electron, no telemetry/cli/server/shell/reports).
 */
export { startWorkload } from './start';
export {
  DEFAULT_SCENARIO,
  SCENARIOS,
  getScenario,
  type BurstParams,
  type FragmentationParams,
  type GcHeapParams,
  type LeakParams,
  type OnUnavailable,
  type PressureParams,
  type SteadyParams,
} from './scenarios';
export { scriptParams, startScript, type ScriptParams } from './script/runner';
export { SCRIPT_METHODS } from './script/protocol';
export {
  WorkloadParamsError,
  describeParams,
  parseDuration,
  parseSize,
  type CommonParams,
  type LevelWeights,
  type ParamDoc,
} from './params';
export { describeScenario, listScenarios, type ScenarioInfo } from './describe';
export type * from './types';
