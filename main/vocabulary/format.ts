/**
 * The one way hostmem writes sizes, times of day and addresses for a person — the dashboard (renderer/src/lib/format
 * through main/contract) and the HTML / PDF reports (main/reports/i18n) alike, so that the screen and the report a
 * colleague gets say the same "228 KiB" at the same "19:00:12". Machine formats (JSON, CSV) keep raw numbers.
 *
 * Browser-safe and import-free like the rest of the vocabulary: `Intl` only. `locale` is a BCP 47 tag (`en`, `fr`,
 * `zh-CN`, `en-US`…); French writes octets (`Kio`, `Mio`), the others `KiB`, `MiB`.
 */

const UNITS_BINARY = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;
const UNITS_OCTETS = ['o', 'Kio', 'Mio', 'Gio', 'Tio'] as const;
/** Between a figure and its unit: a no-break space, so that a narrow cell never splits them. */
export const UNIT_SPACE = '\u00a0';

/** The byte unit `power` (0: bytes, 1: Ki, 2: Mi…) in this locale's words. */
export function byteUnit(power: number, locale: string): string {
  const units = locale.toLowerCase().startsWith('fr') ? UNITS_OCTETS : UNITS_BINARY;
  return units[Math.max(0, Math.min(units.length - 1, power))]!;
}

const numberFormats = new Map<string, Intl.NumberFormat>();

/** A number with the locale's separators and at most `fractionDigits` decimals (no trailing zeros). */
export function formatNumber(value: number, locale: string, fractionDigits = 0): string {
  const key = `${locale}|${fractionDigits}`;
  let f = numberFormats.get(key);
  if (f === undefined) {
    f = new Intl.NumberFormat(locale, { maximumFractionDigits: fractionDigits, minimumFractionDigits: 0 });
    numberFormats.set(key, f);
  }
  return f.format(value);
}

/**
 * Bytes in binary units with three significant figures at most: `0 B`, `228 KiB`, `1.5 MiB`, `12.3 GiB`
 * (`1,5 Mio` in French); `—` for a value that is not a number.
 */
export function formatBytes(bytes: number, locale: string): string {
  if (!Number.isFinite(bytes)) return '—';
  const sign = bytes < 0 ? '-' : '';
  let v = Math.abs(bytes);
  let unit = 0;
  while (v >= 1024 && unit < UNITS_BINARY.length - 1) {
    v /= 1024;
    unit++;
  }
  const digits = unit === 0 ? 0 : v < 10 ? 2 : v < 100 ? 1 : 0;
  return `${sign}${formatNumber(v, locale, digits)}${UNIT_SPACE}${byteUnit(unit, locale)}`;
}

const timeFormats = new Map<string, Intl.DateTimeFormat>();

/** A time of day on the 24-hour clock with seconds, two digits each: `07:00:12`, `19:00:37`. */
export function formatTime(ms: number, locale: string): string {
  let f = timeFormats.get(locale);
  if (f === undefined) {
    f = new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
    timeFormats.set(locale, f);
  }
  return f.format(ms);
}

/** An address (or flags) in upper-case hex after `0x`: `0x7F1234560000`. */
export function formatHex(value: number): string {
  return `0x${value.toString(16).toUpperCase()}`;
}

/**
 * The colour of each failure group, the same on screen (chart markers, badges, the renderer's CSS variables) and in
 * the reports (HTML / PDF charts and swatches): "Other" failures are one colour everywhere.
 */
export const FAILURE_GROUP_COLOURS = {
  eTaskCritical: '#d29922',
  eAppDomainCritical: '#e8590c',
  eProcessCritical: '#cf222e',
  other: '#8250df',
} as const;
