/** Locale-aware formatting of the figures the dashboard shows (bytes, counts, times, addresses). */

const numberFormats = new Map<string, Intl.NumberFormat>();

function numberFormat(locale: string, fractionDigits: number): Intl.NumberFormat {
  const key = `${locale}|${fractionDigits}`;
  let f = numberFormats.get(key);
  if (f === undefined) {
    f = new Intl.NumberFormat(locale, { maximumFractionDigits: fractionDigits, minimumFractionDigits: 0 });
    numberFormats.set(key, f);
  }
  return f;
}

export function formatNumber(value: number, locale: string, fractionDigits = 0): string {
  return numberFormat(locale, fractionDigits).format(value);
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

/** Bytes in binary units, e.g. `1.5 MiB`, with the locale's digits and decimal separator. */
export function formatBytes(bytes: number, locale: string): string {
  if (!Number.isFinite(bytes)) return '—';
  const sign = bytes < 0 ? '-' : '';
  let v = Math.abs(bytes);
  let unit = 0;
  while (v >= 1024 && unit < UNITS.length - 1) {
    v /= 1024;
    unit++;
  }
  const digits = unit === 0 ? 0 : v < 10 ? 2 : v < 100 ? 1 : 0;
  return `${sign}${formatNumber(v, locale, digits)} ${UNITS[unit]}`;
}

/** A signed byte delta: `+1.5 MiB`, `-4 KiB`, `0 B`. */
export function formatBytesDelta(bytes: number, locale: string): string {
  return bytes > 0 ? `+${formatBytes(bytes, locale)}` : formatBytes(bytes, locale);
}

export function formatPercent(value: number, locale: string): string {
  return `${formatNumber(value, locale, 1)} %`;
}

const timeFormats = new Map<string, Intl.DateTimeFormat>();

export function formatTime(ms: number, locale: string): string {
  let f = timeFormats.get(locale);
  if (f === undefined) {
    f = new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
    timeFormats.set(locale, f);
  }
  return f.format(ms);
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

/** An address as `0x7f12_3456_0000`-free plain hex: `0x7F1234560000`. */
export function hex(value: number): string {
  return `0x${value.toString(16).toUpperCase()}`;
}

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
