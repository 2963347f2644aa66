/**
 * Sizes and durations as people write them — `"64MiB"`, `"0x1000"`, `"30s"`, `"500ms"` — read by one parser each, so
 * every command option, exec request, policy file, workload parameter and the UI accept the same words and refuse the
 * same values. Imports nothing (see README.md): every layer may use it.
 */

/**
 * The longest wait a timer can do: Node's timers hold a signed 32-bit count of ms, and a longer delay fires after
 * 1 ms (with a warning). Every duration that ends in a timer (a policy's eProcessCritical wait, exec's Sleep, a
 * workload's duration, a snapshot or watch interval) is refused above it, never cut short.
 */
export const MAX_TIMER_MS = 2_147_483_647;

/** A parser's answer: the value, or one line saying what was expected and what was given (quoted, bounded). */
export type Quantity = { readonly ok: true; readonly value: number } | { readonly ok: false; readonly error: string };

/** How much of a bad input a message quotes: enough to recognise it, never a whole file. */
export const MAX_QUOTED_CHARS = 200;

/** `text` as a message quotes it: JSON-quoted, cut to MAX_QUOTED_CHARS characters with "…" and its full length. */
export function quote(text: string): string {
  if (text.length <= MAX_QUOTED_CHARS) return JSON.stringify(text);
  return `${JSON.stringify(text.slice(0, MAX_QUOTED_CHARS))}… (${text.length} characters)`;
}

const SIZE_UNITS: Readonly<Record<string, number>> = {
  b: 1,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};
const SIZE_TEXT = /^([0-9]+(?:\.[0-9]+)?)\s*([a-z]+)?$/i;
const HEX_TEXT = /^0x[0-9a-f]+$/i;

/** What a size may be written as, for messages. */
export const SIZE_HINT = 'a byte count or a string like "4096", "0x1000", "64KiB", "1MiB", "1GiB"';

function describe(value: unknown): string {
  if (typeof value === 'string') return quote(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'undefined') return String(value);
  return 'an object';
}

/**
 * A byte count: a non-negative safe integer, or a string with an optional B/KiB/MiB/GiB/TiB unit (`"1.5MiB"`) or in
 * hex (`"0x1000"`). Anything that is not a whole number of bytes below 2^53 is refused.
 */
export function parseSizeValue(value: unknown): Quantity {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) return bad(`expected a size (${SIZE_HINT}), got ${describe(value)}`);
    return { ok: true, value };
  }
  if (typeof value !== 'string') return bad(`expected a size (${SIZE_HINT}), got ${describe(value)}`);
  const text = value.trim();
  if (HEX_TEXT.test(text)) return wholeBytes(text.length > 16 ? Infinity : Number(text), value);
  const match = SIZE_TEXT.exec(text);
  const unit = match ? SIZE_UNITS[(match[2] ?? 'b').toLowerCase()] : undefined;
  if (!match || unit === undefined) return bad(`expected a size (${SIZE_HINT}), got ${describe(value)}`);
  return wholeBytes(Number(match[1]) * unit, value);
}

function wholeBytes(bytes: number, text: string): Quantity {
  if (!Number.isSafeInteger(bytes)) return bad(`size ${quote(text)} is not a whole number of bytes below 2^53`);
  return { ok: true, value: bytes };
}

const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000 };
const DURATION_TEXT = /^([0-9]+(?:\.[0-9]+)?)\s*([a-z]+)?$/i;

/** What a duration may be written as, for messages. */
export const DURATION_HINT = 'e.g. 500ms, 30s, 2m, 1h or a number of ms';

/**
 * Milliseconds: a number, or a string like "500ms", "30s", "2m", "1h" (a bare number is ms), rounded to whole ms,
 * from 0 to MAX_TIMER_MS (about 24.8 days). A longer duration is refused: no timer can wait for it.
 */
export function parseDurationValue(value: unknown): Quantity {
  let ms: number;
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0)
      return bad(`expected a duration (${DURATION_HINT}), got ${describe(value)}`);
    ms = Math.round(value);
  } else if (typeof value === 'string') {
    const match = DURATION_TEXT.exec(value.trim());
    const unit = match ? DURATION_UNITS[(match[2] ?? 'ms').toLowerCase()] : undefined;
    if (!match || unit === undefined) return bad(`expected a duration (${DURATION_HINT}), got ${describe(value)}`);
    ms = Math.round(Number(match[1]) * unit);
  } else {
    return bad(`expected a duration (${DURATION_HINT}), got ${describe(value)}`);
  }
  if (!(ms <= MAX_TIMER_MS))
    return bad(`duration ${describe(value)} is longer than ${MAX_TIMER_MS} ms (about 24.8 days), the longest timer`);
  return { ok: true, value: ms };
}

function bad(error: string): Quantity {
  return { ok: false, error };
}
