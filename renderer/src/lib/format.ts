/** Locale-aware formatting of the figures the dashboard shows (bytes, counts, times, addresses). */

import { formatBytes, formatHex, formatNumber, formatTime } from '../api/contract';

// The sizes, times of day and addresses of the screen are the reports' own (main/vocabulary/format.ts).
export { formatBytes, formatNumber, formatTime };

/** A signed byte delta: `+1.5 MiB`, `-4 KiB`, `0 B`. */
export function formatBytesDelta(bytes: number, locale: string): string {
  return bytes > 0 ? `+${formatBytes(bytes, locale)}` : formatBytes(bytes, locale);
}

export function formatPercent(value: number, locale: string): string {
  return `${formatNumber(value, locale, 1)} %`;
}

const dateTimeFormats = new Map<string, Intl.DateTimeFormat>();

export function formatDateTime(ms: number, locale: string): string {
  let f = dateTimeFormats.get(locale);
  if (f === undefined) {
    f = new Intl.DateTimeFormat(locale, { dateStyle: 'short', timeStyle: 'medium' });
    dateTimeFormats.set(locale, f);
  }
  return f.format(ms);
}

/** An age in ms as `12 s`, `3 min`, `2 h`. */
export function formatAge(ms: number, locale: string): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${formatNumber(s, locale)} s`;
  if (s < 3600) return `${formatNumber(Math.floor(s / 60), locale)} min`;
  return `${formatNumber(Math.floor(s / 3600), locale)} h`;
}

/** An address as plain upper-case hex: `0x7F1234560000`. */
export const hex = formatHex;

/** Parse a hex address (`0x` optional, `_` and spaces ignored). Undefined when it is not one. */
export function parseHex(text: string): number | undefined {
  const s = text.trim().replace(/[_\s]/g, '').replace(/^0x/i, '');
  if (!/^[0-9a-f]{1,13}$/i.test(s)) return undefined;
  const v = Number.parseInt(s, 16);
  return Number.isSafeInteger(v) ? v : undefined;
}

/**
 * Parse an address of the whole 64-bit range (`0x` optional, `_` and spaces ignored), as a bigint: addresses past
 * 2^53 (Linux's vsyscall page, kernel addresses) are not exact as numbers. Undefined when it is not one.
 */
export function parseAddress(text: string): bigint | undefined {
  const s = text.trim().replace(/[_\s]/g, '').replace(/^0x/i, '');
  return /^[0-9a-f]{1,16}$/i.test(s) ? BigInt(`0x${s}`) : undefined;
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
};

/** `65536`, `64KiB`, `1.5 MiB`, `0x10000` → bytes; undefined when it is not a size. */
export function parseSize(text: string): number | undefined {
  const s = text.trim();
  if (/^0x[0-9a-f]+$/i.test(s)) return parseHex(s);
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(s);
  if (!m) return undefined;
  const unit = SIZE_UNITS[m[2]!.toLowerCase()];
  if (unit === undefined) return undefined;
  const v = Math.round(Number(m[1]) * unit);
  return Number.isSafeInteger(v) ? v : undefined;
}

/**
 * A path split before its last part — `['/usr/bin/', 'node']`, `['C:\\Windows\\', 'ntdll.dll']` — so that a narrow
 * cell can cut the folders and keep the file name. A name without a separator is all leaf.
 */
export function splitPath(path: string): readonly [dir: string, leaf: string] {
  const cut = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1;
  return cut > 0 && cut < path.length ? [path.slice(0, cut), path.slice(cut)] : ['', path];
}
