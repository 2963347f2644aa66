/**
 * The contract between the backend (Node / Electron main) and the UI: every request the UI sends, its result, every
 * pushed message, and the wire envelope of the WebSocket transport. Electron IPC (preload) and the WebSocket
 * client (`client.ts`) both implement `ApiClient`; the service in main answers every request after validating it
 * with `parseRequest`. Pushes are produced by main (the telemetry publisher), so they have types but no validators.
 *
 * Browser-safe: imports zod, hostmem's vocabulary (main/vocabulary, re-exported whole), the host's types (and its
 * constants), the telemetry message types, and — as types only — the workload status and snapshot data.
 */
import { z } from 'zod';
import { DEFAULT_POLICY, type HostPolicy, type HostState } from '../host/types';
import type { HistoryPoint, HostInfo, PushMessage, RegionRow } from '../telemetry/messages';
import { processRequestSchemas, type ProcessMessage, type ProcessResults } from './processes';
import type { SnapshotDiff, SnapshotInfo } from '../telemetry/snapshot-data';
import {
  LANGUAGES,
  LEVELS,
  REPORT_FORMATS,
  REPORT_SECTIONS,
  type FailureReason,
  type Language,
  type ReportFormat,
} from '../vocabulary';
import type { WorkloadProgress, WorkloadSummary } from '../workloads/status';

export * from '../vocabulary';
export type * from '../telemetry/messages';
export { applyMessage, OutOfSyncError, sortedRows } from '../telemetry/messages';
export type { FailureCounts, FailureEvent, FaultRule, HostMethod, HostPolicy, HostState } from '../host/types';
export { DEFAULT_POLICY } from '../host/types';
export type {
  Delta,
  GroupDelta,
  SnapshotDiff,
  SnapshotInfo,
  SnapshotRegion,
  SnapshotRun,
} from '../telemetry/snapshot-data';
export type { Holdings, MemoryFigures, WorkloadEnd } from '../workloads/status';
export * from './processes';

/** Report formats the UI can export: the same as `hostmem report`'s. */
export const EXPORT_FORMATS = REPORT_FORMATS;
export type ExportFormat = ReportFormat;

/** What `exportReport` did. */
export type ExportResult =
  /** Written by the app where the user chose: every file (a CSV export writes three). */
  | { readonly outcome: 'saved'; readonly files: readonly string[] }
  /** Made by `hostmem serve`: same-origin links, each valid once, for a few minutes. */
  | { readonly outcome: 'download'; readonly files: readonly { readonly name: string; readonly url: string }[] }
  /** The user closed the save dialog. */
  | { readonly outcome: 'cancelled' };

// ---------------------------------------------------------------------------------------------- building blocks

/** A byte count or address: a non-negative safe integer. */
const bytes = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
/** A Win32 flag word (MEM_*, PAGE_*): an unsigned 32-bit integer. */
const flags = z.number().int().nonnegative().max(0xffffffff);
/** A critical level: 0, 1, 2 or its name (eTaskCritical, eAppDomainCritical, eProcessCritical); becomes 0..2. */
const level = z
  .union([z.number().int().min(0).max(2), z.enum(LEVELS)])
  .transform((v): 0 | 1 | 2 => (typeof v === 'number' ? (v as 0 | 1 | 2) : (LEVELS.indexOf(v) as 0 | 1 | 2)));
const fraction = z.number().gt(0).lte(1);
const empty = z.strictObject({}).optional();
const workloadId = z.string().min(1).max(64);
const snapshotId = z.number().int().positive();

const faultRule = z
  .strictObject({
    op: z.enum(['VirtualAlloc', 'Alloc', 'DebugAlloc']).optional(),
    level: z.enum(LEVELS).optional(),
    probability: z.number().min(0).max(1).optional(),
    everyNth: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
    afterBytes: bytes.optional(),
  })
  .refine((f) => f.probability !== undefined || f.everyNth !== undefined || f.afterBytes !== undefined, {
    message: 'a fault needs "probability", "everyNth" or "afterBytes"',
  });

/**
 * The policy object of the exec protocol with sizes in bytes: a missing field takes its value from DEFAULT_POLICY
 * (not from the policy in force), so a setPolicy always states the whole policy. Limits: > 0, or null for none.
 */
export const policySchema = z
  .strictObject({
    commitLimit: bytes.min(1).nullable().optional(),
    reserveLimit: bytes.min(1).nullable().optional(),
    thresholds: z
      .strictObject({
        eTaskCritical: fraction.optional(),
        eAppDomainCritical: fraction.optional(),
        eProcessCritical: fraction.optional(),
      })
      .optional(),
    processCriticalWaitMs: z.number().min(0).max(3_600_000).optional(),
    faults: z.array(faultRule).max(64).optional(),
    seed: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  })
  .transform((p): HostPolicy => ({
    commitLimit: p.commitLimit === undefined ? DEFAULT_POLICY.commitLimit : p.commitLimit,
    reserveLimit: p.reserveLimit === undefined ? DEFAULT_POLICY.reserveLimit : p.reserveLimit,
    thresholds: { ...DEFAULT_POLICY.thresholds, ...stripUndefined(p.thresholds ?? {}) },
    processCriticalWaitMs: p.processCriticalWaitMs ?? DEFAULT_POLICY.processCriticalWaitMs,
    faults: (p.faults ?? []).map((f) => stripUndefined(f)),
    seed: p.seed ?? DEFAULT_POLICY.seed,
  }));

function stripUndefined<T extends object>(o: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]: Exclude<T[K], undefined>;
  };
}

// ---------------------------------------------------------------------------------------------- result types

/** One parameter of a scenario, for the scenario form. */
export interface ParamInfo {
  readonly name: string;
  readonly description: string;
  /** The default value (JSON), undefined when there is none. */
  readonly default: unknown;
  /** A short type: "integer", "number", "size", "duration", "object", "enum: a | b", … */
  readonly type: string;
}

export interface ScenarioInfo {
  readonly name: string;
  readonly description: string;
  readonly params: readonly ParamInfo[];
}

export interface HelloResult {
  /** The hostmem version. */
  readonly version: string;
  /** Which transport answers ('websocket' for `hostmem serve`, 'ipc' in Electron). */
  readonly transport: 'websocket' | 'ipc';
  readonly host: HostInfo;
  readonly scenarios: readonly ScenarioInfo[];
  readonly languages: readonly Language[];
  /** The publisher's push rate limit. */
  readonly maxPushesPerSecond: number;
}

/** The answer of a host call: the HRESULT, its name (S_OK, E_OUTOFMEMORY, …) and, on failure, why. */
export interface CallAnswer {
  readonly hr: number;
  readonly hrName: string;
  readonly reason?: FailureReason;
}

export interface VirtualAllocAnswer extends CallAnswer {
  readonly address: number | null;
}

/** One run of a reservation's page map: page indices [start, end); protect 0 for reserved (uncommitted) pages. */
export interface PageRunInfo {
  readonly start: number;
  readonly end: number;
  readonly protect: number;
  readonly state: 'commit' | 'reserve';
}

export interface PageMapResult {
  /** False when no host reservation holds the address (then `region` and `runs` are absent). */
  readonly found: boolean;
  readonly region?: RegionRow;
  readonly pageSize: number;
  readonly runs?: readonly PageRunInfo[];
}

/** A workload's live figures (running, paused, stopping) or its last ones (ended, with `end`). */
export interface WorkloadInfo extends WorkloadProgress {
  readonly startedAt: number;
  readonly params: Readonly<Record<string, unknown>>;
  /** Why it ended (only when `state` is 'ended'). */
  readonly end?: WorkloadSummary['end'];
  readonly error?: string;
}

/** What a stopped workload leaves: the runner's summary as it is. */
export type WorkloadSummaryInfo = WorkloadSummary;

/** Appeared / vanished / changed lists of a diff are capped at this many entries each (totals stay exact). */
export const MAX_DIFF_ENTRIES = 2000;

export interface DiffResult {
  readonly diff: SnapshotDiff;
  /** True when a list was cut at MAX_DIFF_ENTRIES. */
  readonly truncated: boolean;
}

// ---------------------------------------------------------------------------------------------- the requests

// ---------------------------------------------------------------------------------------------- app settings

/** How much sample history the app keeps and shows. */
export const HISTORY_LENGTHS = ['15m', '1h', '6h', '24h'] as const;
export type HistoryLength = (typeof HISTORY_LENGTHS)[number];
export const SETTINGS_LANGUAGES = ['system', ...LANGUAGES] as const;
export type SettingsLanguage = (typeof SETTINGS_LANGUAGES)[number];
export const THEMES = ['system', 'light', 'dark'] as const;
export type Theme = (typeof THEMES)[number];
export const MIN_SAMPLING_INTERVAL_MS = 100;
export const MAX_SAMPLING_INTERVAL_MS = 10_000;
/** The desktop app's Prometheus endpoint listens on a fixed loopback port (a scrape_config names it). */
export const MIN_METRICS_PORT = 1024;
export const MAX_METRICS_PORT = 65535;
/** A metrics token: 32 to 128 base64url characters; '' asks main for a new one (it makes one when it starts). */
export const METRICS_TOKEN_PATTERN = /^(?:[A-Za-z0-9_-]{32,128})?$/;

/**
 * The desktop app's settings, field by field (main/shell/settings.ts stores them; a field that fails its validator
 * on load takes its default, the others are kept). `defaultWorkload` is further checked against the scenarios.
 */
export function settingsFieldSchemas() {
  return {
    /** How often the sampler takes a point. */
    samplingIntervalMs: z.number().int().min(MIN_SAMPLING_INTERVAL_MS).max(MAX_SAMPLING_INTERVAL_MS),
    historyLength: z.enum(HISTORY_LENGTHS),
    /** 'system' follows the OS locale (falling back to English). */
    language: z.enum(SETTINGS_LANGUAGES),
    /** 'system' follows the OS (nativeTheme). */
    theme: z.enum(THEMES),
    /** Closing the window hides it to the tray (Quit is in the tray menu). */
    closeToTray: z.boolean(),
    startAtLogin: z.boolean(),
    /** The one-time hint "hostmem keeps running in the tray" was shown (closing the window the first time). */
    trayHintShown: z.boolean(),
    /** The built-in scenario started with the app, or 'none' for an idle host. */
    defaultWorkload: z.string().min(1).max(64),
    /** The host policy the app starts with, as setPolicy takes it (sizes in bytes). */
    policy: policySchema,
    /** Serve Prometheus metrics at http://127.0.0.1:<metricsPort>/metrics (off by default; applied at once). */
    metricsEnabled: z.boolean(),
    metricsPort: z.number().int().min(MIN_METRICS_PORT).max(MAX_METRICS_PORT),
    /** The endpoint's own token (Authorization: Bearer); '' until main makes one, or to ask for a new one. */
    metricsToken: z.string().regex(METRICS_TOKEN_PATTERN, { message: '32 to 128 base64url characters, or empty' }),
    /** The process the tray watches: a pid or a name (as `hostmem serve --pid` takes it); null for none. */
    trayProcess: z.string().trim().min(1).max(256).nullable(),
    /** Notify when the tray's process passes this many committed bytes (throttled); null: no notification. */
    trayProcessThreshold: bytes.min(1).nullable(),
  } as const;
}

export interface AppSettings {
  readonly samplingIntervalMs: number;
  readonly historyLength: HistoryLength;
  readonly language: SettingsLanguage;
  readonly theme: Theme;
  readonly closeToTray: boolean;
  readonly startAtLogin: boolean;
  readonly trayHintShown: boolean;
  readonly defaultWorkload: string;
  readonly policy: HostPolicy;
  readonly metricsEnabled: boolean;
  readonly metricsPort: number;
  readonly metricsToken: string;
  readonly trayProcess: string | null;
  readonly trayProcessThreshold: number | null;
}

/** The desktop app's Prometheus endpoint now. */
export interface MetricsEndpointStatus {
  /** `http://127.0.0.1:PORT/metrics` while it serves; null when off or when it could not start. */
  readonly url: string | null;
  /** Why it is not serving although enabled (e.g. the port is taken); null otherwise. */
  readonly error: string | null;
}

/** Settings that take effect at the next start (the others apply at once). */
/**
 * What the page may ask main to copy to the clipboard (`copyToClipboard`): values main holds, never text the page
 * supplies. The page itself is denied the clipboard (docs/security.md, "Permissions").
 */
export const CLIPBOARD_ITEMS = ['metricsToken'] as const;
export type ClipboardItem = (typeof CLIPBOARD_ITEMS)[number];

export const SETTINGS_APPLIED_AT_RESTART = [
  'samplingIntervalMs',
  'historyLength',
  'defaultWorkload',
  'policy',
] as const;

export interface SettingsResult {
  readonly settings: AppSettings;
  /** The settings file. */
  readonly path: string;
  /** Changed settings that wait for a restart (updateSettings). */
  readonly pendingRestart: readonly (keyof AppSettings)[];
  /** The Prometheus endpoint as the settings left it (the app; absent where there is none). */
  readonly metrics?: MetricsEndpointStatus;
}

/**
 * Every request: its params schema (what main validates) and, in `Results` below, its result type.
 * Params are objects; a request without parameters takes `{}` (or nothing).
 */
export const requestSchemas = {
  /** Host info, backend, scenarios with their parameters, languages. */
  hello: empty,
  /** The next push to this client is a full message (after an OutOfSyncError, a reload). */
  resync: empty,
  /** host.reset(): back to available (waiters abandoned). */
  reset: empty,
  setPolicy: z.strictObject({ policy: policySchema }),
  virtualAlloc: z.strictObject({
    /** null: the OS chooses. */
    address: bytes.nullable(),
    size: bytes,
    /** MEM_RESERVE (0x2000), MEM_COMMIT (0x1000), MEM_TOP_DOWN (0x100000)… */
    type: flags,
    /** PAGE_* (PAGE_READWRITE 0x04, …). */
    protect: flags,
    level,
    tag: z.string().max(200).optional(),
  }),
  virtualFree: z.strictObject({
    address: bytes,
    /** 0 with MEM_RELEASE. */
    size: bytes,
    /** MEM_DECOMMIT (0x4000) or MEM_RELEASE (0x8000). */
    type: flags,
  }),
  pageMap: z.strictObject({ address: bytes }),
  startWorkload: z.strictObject({
    scenario: z.string().min(1).max(64),
    /** The scenario's parameters (validated by the scenario; sizes and durations accept "64MiB", "30s"). */
    params: z.record(z.string(), z.unknown()).optional(),
  }),
  stopWorkload: z.strictObject({ id: workloadId }),
  pauseWorkload: z.strictObject({ id: workloadId, paused: z.boolean() }),
  /** Every running workload and the last ended ones. */
  workloads: empty,
  takeSnapshot: z.strictObject({ label: z.string().max(200).optional() }).optional(),
  snapshots: empty,
  diffSnapshots: z.strictObject({ a: snapshotId, b: snapshotId }),
  /** Sample history since `since` (ms since the epoch; default: the last hour), at most `maxPoints` points. */
  history: z
    .strictObject({
      since: z.number().finite().optional(),
      maxPoints: z.number().int().min(1).max(20_000).optional(),
    })
    .optional(),
  /**
   * A report of the live host. The app asks where to save it (a save dialog that confirms a replace); `hostmem serve`
   * answers with download links. `include` leaves sections out (default: all); `language` defaults to English.
   */
  exportReport: z.strictObject({
    format: z.enum(EXPORT_FORMATS),
    include: z.array(z.enum(REPORT_SECTIONS)).max(REPORT_SECTIONS.length).optional(),
    language: z.enum(LANGUAGES).optional(),
  }),
  /** The desktop app's settings (the app only; `hostmem serve` refuses). */
  getSettings: empty,
  /** Change some settings; each is validated, nothing is changed when one is invalid. The app only. */
  updateSettings: z.strictObject({ settings: z.strictObject(settingsFieldSchemas()).partial() }),
  /** Copy a value main holds (CLIPBOARD_ITEMS) to the system clipboard. The app only; `hostmem serve` refuses. */
  copyToClipboard: z.strictObject({ what: z.enum(CLIPBOARD_ITEMS) }),
  /** Watching real processes: ./processes.ts. */
  ...processRequestSchemas,
  /** A report of a watched process (its summary by type, chart, largest regions, first-to-last diff); as exportReport. */
  exportProcessReport: z.strictObject({
    pid: z.number().int().min(1).max(0x7fffffff),
    format: z.enum(EXPORT_FORMATS),
    language: z.enum(LANGUAGES).optional(),
  }),
} as const;

export type Method = keyof typeof requestSchemas;
export const METHODS = Object.keys(requestSchemas) as Method[];

/** What a client passes. */
export type Params<M extends Method> = z.input<(typeof requestSchemas)[M]>;
/** What the service receives once validated (levels as 0..2, a complete policy, …). */
export type ParsedParams<M extends Method> = z.output<(typeof requestSchemas)[M]>;

export interface Results extends ProcessResults {
  hello: HelloResult;
  resync: { readonly ok: true };
  reset: { readonly state: HostState };
  setPolicy: { readonly policy: HostPolicy };
  virtualAlloc: VirtualAllocAnswer;
  virtualFree: CallAnswer;
  pageMap: PageMapResult;
  startWorkload: { readonly id: string; readonly name: string; readonly params: Readonly<Record<string, unknown>> };
  stopWorkload: WorkloadSummaryInfo;
  pauseWorkload: { readonly id: string; readonly paused: boolean };
  workloads: { readonly workloads: readonly WorkloadInfo[] };
  takeSnapshot: { readonly id: number; readonly snapshot: SnapshotInfo };
  snapshots: { readonly snapshots: readonly SnapshotInfo[] };
  diffSnapshots: DiffResult;
  history: { readonly points: readonly HistoryPoint[] };
  exportReport: ExportResult;
  getSettings: SettingsResult;
  updateSettings: SettingsResult;
  copyToClipboard: { readonly copied: ClipboardItem };
  exportProcessReport: ExportResult;
}
export type Result<M extends Method> = Results[M];

/** A validated request. */
export type Request = { [M in Method]: { readonly method: M; readonly params: ParsedParams<M> } }[Method];

// ---------------------------------------------------------------------------------------------- pushes

/** Every running workload's progress (about once a second while any runs, and once when one ends). */
export interface WorkloadsMessage {
  readonly type: 'workloads';
  readonly time: number;
  readonly workloads: readonly WorkloadInfo[];
}

/** A log line: a workload's, or the service's own (workload = null). */
export interface LogMessage {
  readonly type: 'log';
  readonly time: number;
  readonly level: 'info' | 'warn' | 'error';
  readonly workload: string | null;
  readonly name: string | null;
  readonly message: string;
}

/**
 * The app asks the page to show something: the user clicked a failure notification or a Recent failures item in
 * the tray. `failureSeq` is the failure's seq (as in the failure rows), or null for the Failures view itself.
 */
export interface RevealMessage {
  readonly type: 'reveal';
  readonly view: 'failures';
  readonly failureSeq: number | null;
}

/** Every pushed message: the publisher's full / delta (fold them with `applyMessage`), workloads, log, reveal. */
export type Push = PushMessage | WorkloadsMessage | LogMessage | RevealMessage | ProcessMessage;

// ---------------------------------------------------------------------------------------------- errors

export type ErrorCode =
  /** Not JSON, not an envelope, unknown method, or params that fail validation. */
  | 'bad-request'
  /** A workload or snapshot id that does not exist (any more). */
  | 'not-found'
  /** Valid, but refused (an invalid policy, scenario parameters, too many workloads). */
  | 'refused'
  /** The service failed (a bug): the message says what. */
  | 'internal'
  /** The transport is closed or was closed before the answer came. */
  | 'closed'
  /** No answer came in time (the WebSocket client's per-request timeout). */
  | 'timeout';

export interface ApiError {
  readonly code: ErrorCode;
  readonly message: string;
  /** Validation problems, one per line ("params.size: Too small…"). */
  readonly issues?: readonly string[];
}

/** What `ApiClient.call` rejects with. */
export class ApiCallError extends Error {
  readonly code: ErrorCode;
  readonly issues: readonly string[];
  constructor(error: ApiError) {
    super(error.message);
    this.name = 'ApiCallError';
    this.code = error.code;
    this.issues = error.issues ?? [];
  }
}

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: ApiError };

function issuesOf(error: z.ZodError, prefix: string): string[] {
  return error.issues.map((i) => `${[prefix, ...i.path.map(String)].filter(Boolean).join('.')}: ${i.message}`);
}

/** Validate a request `{ method, params }` (as IPC carries it). */
export function parseRequest(input: unknown): Parsed<Request> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, error: { code: 'bad-request', message: 'a request is an object { method, params }' } };
  }
  const { method, params } = input as { method?: unknown; params?: unknown };
  return parseParams(method, params);
}

/** Validate a method name and its params. */
export function parseParams(method: unknown, params: unknown): Parsed<Request> {
  if (typeof method !== 'string' || !Object.hasOwn(requestSchemas, method)) {
    return {
      ok: false,
      error: {
        code: 'bad-request',
        message: `unknown method ${typeof method === 'string' ? JSON.stringify(method.slice(0, 80)) : `of type ${typeof method}`} (methods: ${METHODS.join(', ')})`,
      },
    };
  }
  const schema = requestSchemas[method as Method] as z.ZodType;
  const parsed = schema.safeParse(params);
  if (!parsed.success) {
    const issues = issuesOf(parsed.error, 'params');
    return {
      ok: false,
      error: { code: 'bad-request', message: `invalid params for ${method}: ${issues.join('; ')}`, issues },
    };
  }
  return { ok: true, value: { method, params: parsed.data } as Request };
}

// ---------------------------------------------------------------------------------------------- the wire (WebSocket)

export type RequestId = number | string;

/** Client → server. */
export interface RequestFrame {
  readonly t: 'req';
  readonly id: RequestId;
  readonly method: string;
  readonly params?: unknown;
}

/** Server → client. */
export type ResponseFrame =
  | { readonly t: 'res'; readonly id: RequestId; readonly ok: true; readonly result: unknown }
  | { readonly t: 'res'; readonly id: RequestId | null; readonly ok: false; readonly error: ApiError };

export interface PushFrame {
  readonly t: 'push';
  readonly message: Push;
}

export type ServerFrame = ResponseFrame | PushFrame;

/** A frame's id, when it has a usable one (so that even a bad request gets an answer it can match). */
function frameId(frame: unknown): RequestId | null {
  if (typeof frame !== 'object' || frame === null) return null;
  const id = (frame as { id?: unknown }).id;
  if (typeof id === 'number' && Number.isSafeInteger(id)) return id;
  if (typeof id === 'string' && id.length <= 64) return id;
  return null;
}

/**
 * Validate one client frame (already JSON-parsed): the envelope, then the request. On failure `id` is the frame's id
 * when it had one, else null.
 */
export function parseRequestFrame(frame: unknown):
  | { readonly ok: true; readonly id: RequestId; readonly request: Request }
  | {
      readonly ok: false;
      readonly id: RequestId | null;
      readonly error: ApiError;
    } {
  const id = frameId(frame);
  if (typeof frame !== 'object' || frame === null || Array.isArray(frame) || (frame as { t?: unknown }).t !== 'req') {
    return {
      ok: false,
      id,
      error: { code: 'bad-request', message: 'expected a frame { t: "req", id, method, params }' },
    };
  }
  if (id === null) {
    return {
      ok: false,
      id,
      error: { code: 'bad-request', message: 'a request needs an id (integer or short string)' },
    };
  }
  const { method, params } = frame as { method?: unknown; params?: unknown };
  const parsed = parseParams(method, params);
  return parsed.ok ? { ok: true, id, request: parsed.value } : { ok: false, id, error: parsed.error };
}

// ---------------------------------------------------------------------------------------------- the client

/** What the UI talks to: Electron's preload bridge and the WebSocket client both implement it. */
export interface ApiClient {
  /** Send a request; resolves with its result, rejects with an ApiCallError. */
  call<M extends Method>(method: M, ...params: ParamsArg<M>): Promise<Result<M>>;
  /** Every pushed message; returns the function that stops listening. */
  onPush(listener: (message: Push) => void): () => void;
}

/** Requests whose params may be left out take an optional argument. */
export type ParamsArg<M extends Method> = undefined extends Params<M> ? [params?: Params<M>] : [params: Params<M>];
