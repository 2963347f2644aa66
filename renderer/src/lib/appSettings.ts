/**
 * The desktop app's settings as the page uses them (`getSettings` / `updateSettings`, answered inside the app only):
 * applying language and theme to the page, and the host's policy in the shape `updateSettings` takes.
 */
import { useI18n } from 'vue-i18n';
import type { HostPolicy, Params, SettingsLanguage, Theme } from '../api/contract';
import { localeOfSetting, persistLocale } from '../i18n';
import { applyTheme } from './theme';

/** What `updateSettings` takes: only the settings to change. */
export type SettingsPatch = Params<'updateSettings'>['settings'];
type PolicyParam = NonNullable<SettingsPatch['policy']>;
type FaultOp = NonNullable<NonNullable<PolicyParam['faults']>[number]['op']>;

const FAULT_OPS: readonly string[] = ['VirtualAlloc', 'Alloc', 'DebugAlloc'] satisfies FaultOp[];

function isFaultOp(op: string): op is FaultOp {
  return FAULT_OPS.includes(op);
}

/** The policy in force as `updateSettings({ settings: { policy } })` takes it (sizes in bytes, every field). */
export function policyParam(policy: HostPolicy): PolicyParam {
  return {
    commitLimit: policy.commitLimit,
    reserveLimit: policy.reserveLimit,
    thresholds: { ...policy.thresholds },
    processCriticalWaitMs: policy.processCriticalWaitMs,
    faults: policy.faults.map(({ op, ...rule }) => {
      if (op === undefined) return rule;
      // The host takes its policy through the same schema, so this does not happen; refuse rather than widen a rule.
      if (!isFaultOp(op)) throw new Error(`a fault rule on ${op} cannot be saved in the settings`);
      return { ...rule, op };
    }),
    seed: policy.seed,
  };
}

/** JSON with sorted keys, to compare plain data whatever the order of its fields. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'object' && v !== null && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

export function samePolicy(a: HostPolicy, b: HostPolicy): boolean {
  return canonical(a) === canonical(b);
}

/** Apply language and theme settings to this page at once (a 'system' language is the browser's). */
export function usePageSettings() {
  const { locale } = useI18n();
  return {
    applyLanguage(language: SettingsLanguage): void {
      const l = localeOfSetting(language);
      locale.value = l;
      persistLocale(l);
    },
    applyTheme(theme: Theme): void {
      applyTheme(theme);
    },
  };
}
