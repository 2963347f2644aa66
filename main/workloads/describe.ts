/** What `hostmem scenarios` and the UI's scenario panel show: names, descriptions, parameters with defaults. */
import { describeParams, type ParamDoc } from './params';
import { SCENARIOS, getScenario } from './scenarios';
import { scriptParams } from './script/runner';

export interface ScenarioInfo {
  readonly name: string;
  readonly description: string;
  readonly params: readonly ParamDoc[];
}

export function describeScenario(name: string): ScenarioInfo | undefined {
  if (name === 'script') {
    return { name, description: 'a user workload script (--script FILE)', params: describeParams(scriptParams) };
  }
  const s = getScenario(name);
  return s && { name: s.name, description: s.description, params: describeParams(s.params) };
}

/** Every built-in scenario, in display order. */
export function listScenarios(): ScenarioInfo[] {
  return SCENARIOS.map((s) => ({ name: s.name, description: s.description, params: describeParams(s.params) }));
}
