// The app's settings: one JSON file in the user's data folder, validated field by field on load. A missing file means
// the defaults; a corrupt one (not JSON, not an object, or holding invalid values) is kept aside as
// `settings.json.corrupt-<timestamp>` for the user or a bug report, its valid fields are kept, the invalid ones take
// their defaults, the repaired settings are written back, and the caller gets a warning to show — never a throw.
// Saving is atomic (a temporary file in the same folder, flushed, then renamed over the old one; the rename is retried
// briefly on EPERM/EBUSY, which Windows answers while a scanner holds the old file).
//
// No Electron here: the shell passes the path (app.getPath('userData')), so all of it is tested in plain Node.
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import {
  DEFAULT_POLICY,
  SETTINGS_APPLIED_AT_RESTART,
  settingsFieldSchemas,
  type AppSettings,
  type HistoryLength,
  type SettingsResult,
} from '../contract';
import { DEFAULT_SCENARIO, SCENARIOS } from '../workloads';
import { retrySync } from './retry';

export {
  HISTORY_LENGTHS,
  MAX_SAMPLING_INTERVAL_MS,
  MIN_SAMPLING_INTERVAL_MS,
  SETTINGS_LANGUAGES,
  THEMES,
  type HistoryLength,
  type SettingsLanguage,
  type Theme,
} from '../contract';

const HISTORY_MS: Readonly<Record<HistoryLength, number>> = {
  '15m': 15 * 60_000,
  '1h': 60 * 60_000,
  '6h': 6 * 60 * 60_000,
  '24h': 24 * 60 * 60_000,
};

/** The history length in milliseconds. */
export function historyMs(length: HistoryLength): number {
  return HISTORY_MS[length];
}

/** A default workload must be a built-in scenario or 'none'. */
export function isWorkloadChoice(name: string): boolean {
  return name === 'none' || SCENARIOS.some((s) => s.name === name);
}

/** Each setting's validator (the contract's, with the scenario check). A field that fails takes its default. */
const fieldSchemas = {
  ...settingsFieldSchemas(),
  defaultWorkload: z.string().refine(isWorkloadChoice, {
    message: `a built-in scenario (${SCENARIOS.map((s) => s.name).join(', ')}) or "none"`,
  }),
} as const;

type FieldName = keyof typeof fieldSchemas;
const FIELD_NAMES = Object.keys(fieldSchemas) as FieldName[];

/** The whole settings object (what `saveSettings` accepts; a missing policy field takes DEFAULT_POLICY's value). */
export const settingsSchema = z.strictObject(fieldSchemas);

export type Settings = z.output<typeof settingsSchema>;
export type SettingsInput = z.input<typeof settingsSchema>;

/** The desktop app's metrics port unless the user picks another (unassigned in Prometheus' port list). */
export const DEFAULT_METRICS_PORT = 9477;

export const DEFAULT_SETTINGS: Settings = Object.freeze({
  samplingIntervalMs: 250,
  historyLength: '1h',
  language: 'system',
  theme: 'system',
  closeToTray: true,
  startAtLogin: false,
  trayHintShown: false,
  defaultWorkload: DEFAULT_SCENARIO,
  policy: DEFAULT_POLICY,
  metricsEnabled: false,
  metricsPort: DEFAULT_METRICS_PORT,
  metricsToken: '',
  trayProcess: null,
  trayProcessThreshold: null,
});

/** The settings file's name in the user data folder. */
export const SETTINGS_FILE = 'settings.json';

export interface LoadedSettings {
  readonly settings: Settings;
  /** Set when the file could not be used as it was: what happened, for the user (a notification or the log). */
  readonly warning?: string;
  /** Where the corrupt file was kept, when it was. */
  readonly keptAside?: string;
}

/** Read the settings. Never throws: whatever is wrong with the file, the app starts (see the top of this file). */
export function loadSettings(path: string): LoadedSettings {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return { settings: DEFAULT_SETTINGS };
    // Unreadable (permissions, a folder by that name…): not known to be corrupt, so it is left where it is.
    return { settings: DEFAULT_SETTINGS, warning: `Could not read ${path} (${describe(error)}); using the defaults.` };
  }

  const checked = check(text);
  if (checked.problem === undefined) return { settings: checked.settings };
  const { settings, problem } = checked;

  // Corrupt: keep the original aside, then write the settings in use back so the next start is clean.
  let keptAside: string | undefined;
  let keptNote: string;
  try {
    keptAside = asideName(path);
    renameSync(path, keptAside);
    keptNote = `The original file was kept as ${basename(keptAside)}.`;
  } catch (error) {
    keptAside = undefined;
    keptNote = `The original file could not be kept aside (${describe(error)}).`;
  }
  let savedNote = '';
  if (keptAside !== undefined) {
    try {
      saveSettings(path, settings);
    } catch (error) {
      savedNote = ` The repaired settings could not be saved (${error instanceof Error ? error.message : String(error)}).`;
    }
  }
  const warning = `The settings file ${path} was damaged: ${problem}. ${keptNote}${savedNote}`;
  return keptAside === undefined ? { settings, warning } : { settings, warning, keptAside };
}

/**
 * Write the settings atomically: a temporary file beside `path`, flushed to disk, then renamed over it, so the file is
 * always either the old settings or the new ones. The folder is created when missing. Throws an Error whose message
 * says which file could not be written and why (invalid settings are refused before anything is written).
 */
export function saveSettings(path: string, settings: Settings): void {
  const parsed = settingsSchema.safeParse(settings);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
    throw new Error(`Refusing to save invalid settings to ${path}: ${issues.join('; ')}`);
  }
  const text = `${JSON.stringify(parsed.data, null, 2)}\n`;
  const folder = dirname(path);
  const temp = join(folder, `.${basename(path)}.${process.pid}.${Date.now().toString(36)}.tmp`);
  try {
    mkdirSync(folder, { recursive: true });
    const fd = openSync(temp, 'w', 0o600);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    // An antivirus or the indexer holding the old file refuses the rename for a moment (Windows): ./retry.
    retrySync(() => renameSync(temp, path));
  } catch (error) {
    removeQuietly(temp);
    throw new Error(`Could not save the settings to ${path}: ${describe(error)}`, { cause: error });
  }
}

/** The settings a file's text holds, and what was wrong with it (undefined: nothing). */
function check(text: string): { settings: Settings; problem?: string } {
  let json: unknown;
  try {
    json = JSON.parse(text) as unknown;
  } catch (error) {
    return {
      settings: DEFAULT_SETTINGS,
      problem: `it is not valid JSON (${describe(error)}), so every setting was reset to its default`,
    };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return {
      settings: DEFAULT_SETTINGS,
      problem: 'it does not hold a settings object, so every setting was reset to its default',
    };
  }
  const { settings, invalid } = salvage(json as Record<string, unknown>);
  if (invalid.length === 0) return { settings };
  const what = invalid.length === 1 ? 'an invalid value' : 'invalid values';
  return {
    settings,
    problem: `${what} (${invalid.join('; ')}) reset to the defaults; the other settings were kept`,
  };
}

/** Keep the valid fields of a parsed object; a missing field takes its default silently (an older file). */
function salvage(json: Record<string, unknown>): { settings: Settings; invalid: string[] } {
  const settings: Record<string, unknown> = { ...DEFAULT_SETTINGS };
  const invalid: string[] = [];
  // Unknown keys are ignored (a newer hostmem's settings, or a removed one): not a reason to call the file damaged.
  for (const name of FIELD_NAMES) {
    if (!Object.hasOwn(json, name)) continue;
    const parsed = fieldSchemas[name].safeParse(json[name]);
    if (parsed.success) settings[name] = parsed.data;
    else invalid.push(`${name}: ${parsed.error.issues.map((i) => fieldIssue(i)).join(', ')}`);
  }
  return { settings: settings as Settings, invalid };
}

function fieldIssue(issue: z.core.$ZodIssue): string {
  return issue.path.length ? `${issue.path.map(String).join('.')} ${issue.message}` : issue.message;
}

/** `settings.json.corrupt-2025-01-31T12-00-00-000Z` (no colons: Windows), with a counter if that name is taken. */
function asideName(path: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  for (let n = 0; ; n++) {
    const candidate = `${path}.corrupt-${stamp}${n === 0 ? '' : `-${n}`}`;
    if (!existsSync(candidate)) return candidate;
  }
}

function removeQuietly(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch {
    // Nothing was written there (the folder itself is the problem).
  }
}

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string'
    ? error.code
    : undefined;
}

function describe(error: unknown): string {
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}

/** The settings as the contract carries them (the same shape: this only compiles while the two agree). */
export function toAppSettings(settings: Settings): AppSettings {
  return settings;
}

/** A change of settings that could not be made (nothing was changed). */
export class SettingsRefusedError extends Error {}

/**
 * The app's settings while it runs: what it started with, what is current, and the file. `update` validates a
 * partial change as a whole (the contract's validators already ran on an IPC request; the scenario check is here),
 * saves it atomically, and says which changed settings wait for a restart. A refused or unsaved change leaves
 * everything as it was.
 */
export class SettingsStore {
  private currentSettings: Settings;

  constructor(
    readonly path: string,
    /** What the running app started with. */
    readonly started: Settings,
  ) {
    this.currentSettings = started;
  }

  get current(): Settings {
    return this.currentSettings;
  }

  result(): SettingsResult {
    const pendingRestart = SETTINGS_APPLIED_AT_RESTART.filter(
      (name) => JSON.stringify(this.currentSettings[name]) !== JSON.stringify(this.started[name]),
    );
    return { settings: toAppSettings(this.currentSettings), path: this.path, pendingRestart };
  }

  /** Apply and save a change; returns the names whose value changed. Throws SettingsRefusedError. */
  update(patch: Partial<Settings>): (keyof Settings)[] {
    const next: Record<string, unknown> = { ...this.currentSettings };
    for (const [name, value] of Object.entries(patch)) {
      if (!Object.hasOwn(fieldSchemas, name)) throw new SettingsRefusedError(`unknown setting ${JSON.stringify(name)}`);
      if (value !== undefined) next[name] = value;
    }
    const parsed = settingsSchema.safeParse(next);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.map(String).join('.')}: ${i.message}`);
      throw new SettingsRefusedError(`invalid settings: ${issues.join('; ')}`);
    }
    const changed = FIELD_NAMES.filter(
      (name) => JSON.stringify(parsed.data[name]) !== JSON.stringify(this.currentSettings[name]),
    );
    if (changed.length === 0) return [];
    try {
      saveSettings(this.path, parsed.data);
    } catch (error) {
      throw new SettingsRefusedError(error instanceof Error ? error.message : String(error));
    }
    this.currentSettings = parsed.data;
    return changed;
  }
}
