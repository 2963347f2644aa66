/**
 * `startWorkload`: the one entry point the CLI (`hostmem run`) and the app use to run a built-in scenario or a user
 * script on a host. Several can run at once on the same host; each has its own seed, books and summary.
 */
import type { HostMemoryManager } from '../host';
import { parseParams, WorkloadParamsError } from './params';
import { WorkloadRun } from './run';
import { getScenario, SCENARIOS } from './scenarios';
import { startScript } from './script/runner';
import type { Scenario, StartOptions, WorkloadHandle, WorkloadSpec } from './types';

/**
 * Start a workload. Throws at once — with nothing started — when the scenario is unknown, the parameters are
 * invalid (WorkloadParamsError, every problem listed) or the script file does not exist. Otherwise returns a
 * handle whose `done` resolves with the summary once the workload has ended and its memory was released.
 */
export function startWorkload(host: HostMemoryManager, spec: WorkloadSpec, options: StartOptions = {}): WorkloadHandle {
  if ('scenario' in spec) {
    const scenario: Scenario | undefined =
      typeof spec.scenario === 'string' ? getScenario(spec.scenario) : spec.scenario;
    if (!scenario) {
      throw new WorkloadParamsError(
        String(spec.scenario),
        `no such scenario (built-in: ${SCENARIOS.map((s) => s.name).join(', ')})`,
      );
    }
    const params = parseParams(scenario.name, scenario.params, spec.params);
    const run = new WorkloadRun(
      host,
      {
        name: scenario.name,
        kind: 'scenario',
        params: { ...params },
        seed: params.seed,
        durationMs: params.durationMs,
        rate: params.rate,
        maxCalls: params.maxCalls,
      },
      options,
    );
    const ctx = run.context();
    run.start(() => scenario.run(run.tracked, ctx, params));
    return run;
  }
  if ('script' in spec) return startScript(host, { file: spec.script }, spec.params, options);
  return startScript(
    host,
    { source: spec.source, ...(spec.name !== undefined ? { name: spec.name } : {}) },
    spec.params,
    options,
  );
}
