/** A fake backend for getSettings / updateSettings, as the app's main answers them (main/shell/settings.ts). */
import {
  DEFAULT_POLICY,
  SETTINGS_APPLIED_AT_RESTART,
  type ApiCallError,
  type AppSettings,
  type Method,
  type SettingsResult,
} from '../api/contract';

export const SETTINGS_PATH = '/home/me/.config/hostmem/settings.json';

export const defaultSettings: AppSettings = {
  samplingIntervalMs: 250,
  historyLength: '1h',
  language: 'system',
  theme: 'system',
  closeToTray: true,
  startAtLogin: false,
  trayHintShown: false,
  defaultWorkload: 'steady',
  policy: DEFAULT_POLICY,
  metricsEnabled: false,
  metricsPort: 9477,
  metricsToken: '',
  trayProcess: null,
  trayProcessThreshold: null,
};

/** The token the fake main makes when asked for one (metricsToken: ''), numbered. */
export const fakeToken = (n: number): string => `fake-token-${n}`.padEnd(43, 'x');

export interface FakeSettings {
  /** What is saved now. */
  settings: AppSettings;
  /** Set it to make the next updateSettings reject with it (once). */
  failNext: ApiCallError | null;
  answer(method: Method, params: unknown): unknown;
}

/** Settings that start as `start`; updateSettings merges (the fields sent only) and says what waits for a restart. */
export function fakeSettings(start: Partial<AppSettings> = {}): FakeSettings {
  const started: AppSettings = { ...defaultSettings, ...start };
  let tokens = 0;
  const state: FakeSettings = {
    settings: started,
    failNext: null,
    answer(method, params) {
      const result = (): SettingsResult => ({
        settings: state.settings,
        path: SETTINGS_PATH,
        pendingRestart: SETTINGS_APPLIED_AT_RESTART.filter(
          (k) => JSON.stringify(state.settings[k]) !== JSON.stringify(started[k]),
        ),
        // As main answers: the endpoint's URL while it is on.
        metrics: {
          url: state.settings.metricsEnabled ? `http://127.0.0.1:${state.settings.metricsPort}/metrics` : null,
          error: null,
        },
      });
      if (method === 'getSettings') return result();
      if (method === 'updateSettings') {
        if (state.failNext) {
          const e = state.failNext;
          state.failNext = null;
          return Promise.reject(e);
        }
        const patch = (params as { settings: Partial<AppSettings> }).settings;
        state.settings = { ...state.settings, ...patch };
        // Main makes a token when the endpoint is on and has none (turned on, or a new one asked for).
        if (state.settings.metricsEnabled && state.settings.metricsToken === '') {
          state.settings = { ...state.settings, metricsToken: fakeToken(++tokens) };
        }
        return result();
      }
      return {};
    },
  };
  return state;
}
