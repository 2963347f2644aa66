/**
 * Win32 constants and names the UI shows (protections, VirtualAlloc/VirtualFree flags, HRESULT names). The values
 * are Win32's own; the backend's definitions live below the renderer's reach (native/, main/host), so the few the UI
 * needs are spelled here.
 */

export const PAGE = {
  NOACCESS: 0x01,
  READONLY: 0x02,
  READWRITE: 0x04,
  EXECUTE: 0x10,
  EXECUTE_READ: 0x20,
  EXECUTE_READWRITE: 0x40,
  GUARD: 0x100,
  NOCACHE: 0x200,
  WRITECOMBINE: 0x400,
} as const;

export const MEM = {
  COMMIT: 0x1000,
  RESERVE: 0x2000,
  DECOMMIT: 0x4000,
  RELEASE: 0x8000,
  RESET: 0x80000,
  TOP_DOWN: 0x100000,
} as const;

const BASE_NAMES: ReadonlyMap<number, string> = new Map([
  [PAGE.NOACCESS, 'NOACCESS'],
  [PAGE.READONLY, 'READONLY'],
  [PAGE.READWRITE, 'READWRITE'],
  [PAGE.EXECUTE, 'EXECUTE'],
  [PAGE.EXECUTE_READ, 'EXECUTE_READ'],
  [PAGE.EXECUTE_READWRITE, 'EXECUTE_READWRITE'],
]);

/** The base protections, for filters and forms. */
export const PROTECTIONS: readonly number[] = [...BASE_NAMES.keys()];

/** `READWRITE`, `READWRITE|GUARD`, `mixed`, `—` (nothing committed). */
export function protectName(protect: number | 'mixed'): string {
  if (protect === 'mixed') return 'mixed';
  if (protect === 0) return '—';
  const base = BASE_NAMES.get(protect & 0xff) ?? `0x${(protect & 0xff).toString(16)}`;
  const mods: string[] = [];
  if (protect & PAGE.GUARD) mods.push('GUARD');
  if (protect & PAGE.NOCACHE) mods.push('NOCACHE');
  if (protect & PAGE.WRITECOMBINE) mods.push('WRITECOMBINE');
  return [base, ...mods].join('|');
}

const HRESULT_NAMES: ReadonlyMap<number, string> = new Map([
  [0x00000000, 'S_OK'],
  [0x8007000e, 'E_OUTOFMEMORY'],
  [0x80070057, 'E_INVALIDARG'],
  [0x800701e7, 'HRESULT_FROM_WIN32(ERROR_INVALID_ADDRESS)'],
  [0x800703e6, 'HRESULT_FROM_WIN32(ERROR_NOACCESS)'],
  [0x80131022, 'HOST_E_INVALIDOPERATION'],
  [0x80131023, 'HOST_E_CLRNOTAVAILABLE'],
  [0x80131024, 'HOST_E_TIMEOUT'],
  [0x80131025, 'HOST_E_NOT_OWNER'],
  [0x80131026, 'HOST_E_ABANDONED'],
  [0x80004005, 'E_FAIL'],
]);

/** `0x8007000E`. */
export function hresultHex(hr: number): string {
  return `0x${(hr >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;
}

export function hresultName(hr: number): string {
  return HRESULT_NAMES.get(hr >>> 0) ?? hresultHex(hr);
}

export const LEVELS = ['eTaskCritical', 'eAppDomainCritical', 'eProcessCritical'] as const;
export type Level = (typeof LEVELS)[number];
export const FAILURE_GROUPS = [...LEVELS, 'other'] as const;
export type Group = (typeof FAILURE_GROUPS)[number];

/** The colour of each level (chart markers, badges); CSS variables carry the same for the DOM. */
export const GROUP_COLOURS: Readonly<Record<Group, string>> = {
  eTaskCritical: '#d29922',
  eAppDomainCritical: '#e8590c',
  eProcessCritical: '#cf222e',
  other: '#8250df',
};
