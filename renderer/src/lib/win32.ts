/**
 * How the UI shows Win32 values: protections in short (`READWRITE|GUARD`) and each failure group's colour. The
 * values and names themselves are hostmem's vocabulary (main/vocabulary, through the contract).
 */
import {
  ALLOC_PROTECTIONS,
  BASE_PROTECTIONS,
  FAILURE_GROUP_COLOURS,
  PROTECTION_MODIFIERS,
  type FailureGroup,
} from '../api/contract';

const short = (name: string): string => name.replace(/^PAGE_/, '');
const BASE_NAMES: ReadonlyMap<number, string> = new Map(BASE_PROTECTIONS.map(([value, name]) => [value, short(name)]));

/** The base protections a reservation may ask for, for filters and forms. */
export const PROTECTIONS: readonly number[] = ALLOC_PROTECTIONS;

/** `READWRITE`, `READWRITE|GUARD`, `mixed`, `—` (nothing committed). */
export function protectName(protect: number | 'mixed'): string {
  if (protect === 'mixed') return 'mixed';
  if (protect === 0) return '—';
  const base = BASE_NAMES.get(protect & 0xff) ?? `0x${(protect & 0xff).toString(16)}`;
  const mods = PROTECTION_MODIFIERS.filter(([bit]) => (protect & bit) !== 0).map(([, name]) => short(name));
  return [base, ...mods].join('|');
}

/** The colour of each level (chart markers, badges); CSS variables carry the same for the DOM. */
export const GROUP_COLOURS: Readonly<Record<FailureGroup, string>> = FAILURE_GROUP_COLOURS;
