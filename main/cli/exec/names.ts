/**
 * Win32 flag names, both ways: parsing a request's flag fields (a name, `"A|B"`, an array of names, or a number)
 * and printing protections and states in results.
 */
import { BASE_PROTECTIONS, MEM, PROTECTION_MODIFIERS, quote } from '../../vocabulary';
import { MALLOC_EXECUTABLE, MALLOC_THREADSAFE } from '../../host/types';
import { describeValue, invalid, parsed, type Parsed } from './parsed';

/** A family of flag names a field accepts. */
export interface FlagTable {
  /** What the field holds, for messages: "an allocation type". */
  readonly what: string;
  readonly names: ReadonlyMap<string, number>;
}

function table(what: string, entries: readonly (readonly [string, number])[]): FlagTable {
  return { what, names: new Map(entries) };
}

/** VirtualAlloc's flAllocationType and VirtualFree's dwFreeType: every MEM_* flag the spec names. */
export const MEM_FLAGS: FlagTable = table('MEM_* flags', [
  ['MEM_COMMIT', MEM.COMMIT],
  ['MEM_RESERVE', MEM.RESERVE],
  ['MEM_DECOMMIT', MEM.DECOMMIT],
  ['MEM_RELEASE', MEM.RELEASE],
  ['MEM_RESET', MEM.RESET],
  ['MEM_RESET_UNDO', MEM.RESET_UNDO],
  ['MEM_TOP_DOWN', MEM.TOP_DOWN],
  ['MEM_LARGE_PAGES', MEM.LARGE_PAGES],
  ['MEM_PHYSICAL', MEM.PHYSICAL],
  ['MEM_WRITE_WATCH', MEM.WRITE_WATCH],
]);

/** Page protections, base values then modifiers (the order they print in). */
const PAGE_ENTRIES: readonly (readonly [string, number])[] = [...BASE_PROTECTIONS, ...PROTECTION_MODIFIERS].map(
  ([value, name]) => [name, value] as const,
);

export const PAGE_FLAGS: FlagTable = table('PAGE_* protections', PAGE_ENTRIES);

export const MALLOC_FLAGS: FlagTable = table('MALLOC_* types', [
  ['MALLOC_THREADSAFE', MALLOC_THREADSAFE],
  ['MALLOC_EXECUTABLE', MALLOC_EXECUTABLE],
]);

const DWORD_MAX = 0xffffffff;
const NUMBER_TOKEN = /^(?:0x[0-9a-f]+|[0-9]+)$/i;

function parseDword(value: number, what: string): Parsed<number> {
  if (!Number.isInteger(value) || value < 0 || value > DWORD_MAX) {
    return invalid(`expected ${what} (a name or a DWORD number 0..0xFFFFFFFF), got ${value}`);
  }
  return parsed(value);
}

function parseToken(token: string, flags: FlagTable): Parsed<number> {
  const name = token.trim();
  const known = flags.names.get(name);
  if (known !== undefined) return parsed(known);
  if (NUMBER_TOKEN.test(name)) return parseDword(Number(name), flags.what);
  return invalid(`unknown name ${quote(name)} (${flags.what}: ${[...flags.names.keys()].join(', ')})`);
}

/**
 * A flag field: `"MEM_RESERVE"`, `"MEM_RESERVE|MEM_COMMIT"`, `["MEM_RESERVE","MEM_COMMIT"]` or `12288`; the bits are
 * OR-ed. Numbers are not checked against the names: the host answers E_INVALIDARG for bad values.
 */
export function parseFlags(value: unknown, flags: FlagTable): Parsed<number> {
  if (typeof value === 'number') return parseDword(value, flags.what);
  const tokens: unknown[] = [];
  if (typeof value === 'string') {
    if (value.trim() === '') return invalid(`expected ${flags.what}, got an empty string`);
    tokens.push(...value.split('|'));
  } else if (Array.isArray(value)) {
    tokens.push(...(value as unknown[]));
  } else {
    return invalid(`expected ${flags.what}: a name, an array of names, or a number; got ${describeValue(value)}`);
  }
  let bits = 0;
  for (const token of tokens) {
    const one =
      typeof token === 'number'
        ? parseDword(token, flags.what)
        : typeof token === 'string'
          ? parseToken(token, flags)
          : invalid<number>(`expected a name in the array, got ${describeValue(token)}`);
    if (!one.ok) return one;
    bits = (bits | one.value) >>> 0;
  }
  return parsed(bits);
}

/**
 * A protection as a string of names joined by `|`, e.g. `PAGE_READWRITE|PAGE_GUARD`. Bits without a name print as
 * hex (`PAGE_READWRITE|0x800`). Zero has no PAGE_* name (Windows reports 0 for reserved and free pages): it prints
 * as `"0"`, so the field is always a string and parses back as the same value.
 */
export function formatProtect(protect: number): string {
  if (protect === 0) return '0';
  const parts: string[] = [];
  let rest = protect >>> 0;
  for (const [name, bit] of PAGE_ENTRIES) {
    if ((rest & bit) !== 0) {
      parts.push(name);
      rest &= ~bit;
    }
  }
  if (rest !== 0) parts.push(`0x${(rest >>> 0).toString(16)}`);
  return parts.join('|');
}
