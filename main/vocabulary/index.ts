/**
 * hostmem's vocabulary: the constants and names that both sides of the contract speak — Win32's PAGE_* and MEM_*
 * values, the HRESULTs the host produces and their names, the critical levels, failure groups and reasons, the
 * languages, the report sections and the backend names. Declared here once; `native/`, `main/host` and everything
 * above import them from here, and the contract re-exports them to the renderer.
 *
 * Imports nothing (no Node, no koffi, no zod), so that every layer — `native/` at the bottom, the browser bundle at
 * the top — may import it. See README.md beside this file.
 */

// ---------------------------------------------------------------------------------------------- Win32 constants

/** Win32 page protection constants, the common vocabulary of protections on every backend. */
export const PAGE = {
  NOACCESS: 0x01,
  READONLY: 0x02,
  READWRITE: 0x04,
  WRITECOPY: 0x08,
  EXECUTE: 0x10,
  EXECUTE_READ: 0x20,
  EXECUTE_READWRITE: 0x40,
  EXECUTE_WRITECOPY: 0x80,
  GUARD: 0x100,
  NOCACHE: 0x200,
  WRITECOMBINE: 0x400,
} as const;

/** Win32 VirtualAlloc / VirtualFree flags and MEMORY_BASIC_INFORMATION state and type constants. */
export const MEM = {
  COMMIT: 0x1000,
  RESERVE: 0x2000,
  DECOMMIT: 0x4000,
  RELEASE: 0x8000,
  FREE: 0x10000,
  PRIVATE: 0x20000,
  MAPPED: 0x40000,
  RESET: 0x80000,
  TOP_DOWN: 0x100000,
  WRITE_WATCH: 0x200000,
  PHYSICAL: 0x400000,
  RESET_UNDO: 0x1000000,
  LARGE_PAGES: 0x20000000,
  IMAGE: 0x1000000,
} as const;

/** MEMORY_BASIC_INFORMATION.State and .Type, by name. */
export type MemState = 'MEM_COMMIT' | 'MEM_RESERVE' | 'MEM_FREE';
export type MemType = 'MEM_PRIVATE' | 'MEM_MAPPED' | 'MEM_IMAGE';

/** The base protections (the low byte), with their Win32 names, in the order Windows documents them. */
export const BASE_PROTECTIONS = [
  [PAGE.NOACCESS, 'PAGE_NOACCESS'],
  [PAGE.READONLY, 'PAGE_READONLY'],
  [PAGE.READWRITE, 'PAGE_READWRITE'],
  [PAGE.WRITECOPY, 'PAGE_WRITECOPY'],
  [PAGE.EXECUTE, 'PAGE_EXECUTE'],
  [PAGE.EXECUTE_READ, 'PAGE_EXECUTE_READ'],
  [PAGE.EXECUTE_READWRITE, 'PAGE_EXECUTE_READWRITE'],
  [PAGE.EXECUTE_WRITECOPY, 'PAGE_EXECUTE_WRITECOPY'],
] as const;

/** The modifiers a base protection may carry, with their names (the order they print in). */
export const PROTECTION_MODIFIERS = [
  [PAGE.GUARD, 'PAGE_GUARD'],
  [PAGE.NOCACHE, 'PAGE_NOCACHE'],
  [PAGE.WRITECOMBINE, 'PAGE_WRITECOMBINE'],
] as const;

/**
 * The six base protections VirtualAlloc and VirtualProtect accept for private memory (WRITECOPY and
 * EXECUTE_WRITECOPY are for mapped views only).
 */
export const ALLOC_PROTECTIONS: readonly number[] = [
  PAGE.NOACCESS,
  PAGE.READONLY,
  PAGE.READWRITE,
  PAGE.EXECUTE,
  PAGE.EXECUTE_READ,
  PAGE.EXECUTE_READWRITE,
];

// ---------------------------------------------------------------------------------------------- HRESULTs

/** The HRESULTs the host produces (docs/spec/host-semantics.md, "HRESULTs"), and nothing else. */
export const HR = {
  S_OK: 0x00000000,
  E_OUTOFMEMORY: 0x8007000e,
  E_INVALIDARG: 0x80070057,
  ERROR_INVALID_ADDRESS: 0x800701e7,
  ERROR_NOACCESS: 0x800703e6,
  HOST_E_INVALIDOPERATION: 0x80131022,
  HOST_E_CLRNOTAVAILABLE: 0x80131023,
  HOST_E_TIMEOUT: 0x80131024,
  HOST_E_NOT_OWNER: 0x80131025,
  HOST_E_ABANDONED: 0x80131026,
  E_FAIL: 0x80004005,
} as const;

export type HResultName = keyof typeof HR;
export type HResult = (typeof HR)[HResultName];

/** Names as the exec protocol prints them (`HRESULT_FROM_WIN32(...)` for the two Win32 ones). */
const HRESULT_NAMES: ReadonlyMap<number, string> = new Map(
  (Object.entries(HR) as [HResultName, HResult][]).map(([name, hr]) => [
    hr,
    name.startsWith('ERROR_') ? `HRESULT_FROM_WIN32(${name})` : name,
  ]),
);

/** `0x8007000E`: eight hex digits, upper case, as the spec's table writes them. */
export function hresultHex(hr: number): string {
  return `0x${(hr >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;
}

/** `E_OUTOFMEMORY`, `HRESULT_FROM_WIN32(ERROR_NOACCESS)`; the hex form for an HRESULT the host does not produce. */
export function hresultName(hr: number): string {
  return HRESULT_NAMES.get(hr >>> 0) ?? hresultHex(hr);
}

export function isKnownHResult(hr: number): boolean {
  return HRESULT_NAMES.has(hr);
}

// ---------------------------------------------------------------------------------------------- the host's words

/** EMemoryCriticalLevel, by name; a level's number is its index. */
export const LEVELS = ['eTaskCritical', 'eAppDomainCritical', 'eProcessCritical'] as const;
export type LevelName = (typeof LEVELS)[number];
export type CriticalLevel = 0 | 1 | 2;

/** Failures are grouped by critical level; those of calls that carry no level are grouped as `other`. */
export const FAILURE_GROUPS = [...LEVELS, 'other'] as const;
export type FailureGroup = (typeof FAILURE_GROUPS)[number];

/** Why a call failed: every failure event carries one. */
export const FAILURE_REASONS = ['policy', 'os', 'injected', 'timeout', 'unavailable', 'invalid'] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

/** EMemoryAvailable, as passed to the notification callback. */
export const MEMORY_AVAILABLE = { Low: 1, Neutral: 2, High: 3 } as const;
export type MemoryAvailable = (typeof MEMORY_AVAILABLE)[keyof typeof MEMORY_AVAILABLE];
export type MemoryAvailableName = keyof typeof MEMORY_AVAILABLE;
/** EMemoryAvailable's names by value. */
export const MEMORY_AVAILABLE_NAMES: Readonly<Record<MemoryAvailable, MemoryAvailableName>> = {
  1: 'Low',
  2: 'Neutral',
  3: 'High',
};

/** The OS backends under the host: kernel32 (`win32`) or libc (`posix`). */
export const BACKENDS = ['win32', 'posix'] as const;
export type Backend = (typeof BACKENDS)[number];

// ---------------------------------------------------------------------------------------------- UI and reports

/** The languages hostmem speaks: the UI, the tray, the reports. */
export const LANGUAGES = ['en', 'fr', 'zh-CN'] as const;
export type Language = (typeof LANGUAGES)[number];

export function isLanguage(value: unknown): value is Language {
  return typeof value === 'string' && (LANGUAGES as readonly string[]).includes(value);
}

/** Report formats, chosen by a file's extension (`hostmem report --out`) or in the Export dialog. */
export const REPORT_FORMATS = ['html', 'csv', 'json', 'pdf'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** Report sections a user may leave out; the summary, clerks, policy and host info are always there. */
export const REPORT_SECTIONS = ['allocations', 'failures', 'samples'] as const;
export type ReportSection = (typeof REPORT_SECTIONS)[number];

// ---------------------------------------------------------------------------------------------- quantities

export {
  DURATION_HINT,
  MAX_QUOTED_CHARS,
  MAX_TIMER_MS,
  SIZE_HINT,
  parseDurationValue,
  parseSizeValue,
  quote,
  type Quantity,
} from './quantities';
