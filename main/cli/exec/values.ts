/**
 * Parsers for the scalar fields of a request: sizes, addresses (and references to earlier results), levels, bytes.
 * Each returns a value or a message that says what was expected and what was given.
 */
import { LEVELS, MAX_TIMER_MS, type LevelName } from '../../host/types';
import { parseSizeValue, quote } from '../../vocabulary';
import { describeValue, invalid, parsed, type Parsed } from './parsed';

const HEX_TEXT = /^0x[0-9a-f]+$/i;

/**
 * A byte count: a non-negative integer, or a string with an optional KiB/MiB/GiB/TiB unit (`"1.5MiB"`, `"0x1000"`).
 * The one size parser (main/vocabulary/quantities.ts), in this module's Parsed form.
 */
export function parseSize(value: unknown): Parsed<number> {
  const size = parseSizeValue(value);
  return size.ok ? parsed(size.value) : invalid(size.error);
}

/** An address as written in a request, before references are resolved. */
export type AddressSpec =
  | { readonly kind: 'null' }
  | { readonly kind: 'absolute'; readonly value: number }
  | { readonly kind: 'reference'; readonly id: string; readonly offset: number; readonly text: string };

const REFERENCE = /^(.+?)([+-])\s*(0x[0-9a-f]+|[0-9]+)$/i;

const ADDRESS_HINT = 'null, a hex string like "0x7f0000000000", or a reference like "r1", "r1+4096", "r1+0x1000"';

function parseHexAddress(text: string): Parsed<number> {
  const value = BigInt(text);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) return invalid(`address ${text} is above 2^53`);
  return parsed(Number(value));
}

/**
 * `null`, `"0x…"`, or `"id"`, `"id+4096"`, `"id+0x1000"`, `"id-0x10"`. A string that names a known id as a whole is
 * that id (so ids may contain `+` or `-`); otherwise the last `+N`/`-N` is the offset. Knowing the ids is the
 * caller's business: pass `isId` to test a whole string.
 */
export function parseAddress(value: unknown, isId: (id: string) => boolean): Parsed<AddressSpec> {
  if (value === null) return parsed({ kind: 'null' });
  if (typeof value !== 'string') return invalid(`expected an address (${ADDRESS_HINT}), got ${describeValue(value)}`);
  const text = value.trim();
  if (text === '') return invalid(`expected an address (${ADDRESS_HINT}), got an empty string`);
  if (HEX_TEXT.test(text)) {
    const hex = parseHexAddress(text);
    return hex.ok ? parsed({ kind: 'absolute', value: hex.value }) : hex;
  }
  if (isId(text)) return parsed({ kind: 'reference', id: text, offset: 0, text });
  const match = REFERENCE.exec(text);
  if (match) {
    const [, id = '', sign, amount = '0'] = match;
    const magnitude = Number(amount);
    if (!Number.isSafeInteger(magnitude)) return invalid(`offset in ${quote(text)} is above 2^53`);
    return parsed({ kind: 'reference', id: id.trim(), offset: sign === '-' ? -magnitude : magnitude, text });
  }
  return parsed({ kind: 'reference', id: text, offset: 0, text });
}

/** A critical level: its name, or an integer passed through (the host answers E_INVALIDARG outside 0..2). */
export function parseLevel(value: unknown): Parsed<number> {
  if (typeof value === 'string') {
    const index = LEVELS.indexOf(value as LevelName);
    if (index >= 0) return parsed(index);
    return invalid(`unknown level ${quote(value)} (levels: ${LEVELS.join(', ')}, or 0, 1, 2)`);
  }
  if (typeof value === 'number' && Number.isSafeInteger(value)) return parsed(value);
  return invalid(`expected a level (${LEVELS.join(', ')}, or 0, 1, 2), got ${describeValue(value)}`);
}

/** The byte Fill writes and Check compares: 0..255, as a number or a hex string. */
export function parseByte(value: unknown): Parsed<number> {
  const byte = typeof value === 'string' && HEX_TEXT.test(value.trim()) ? Number(value.trim()) : value;
  if (typeof byte === 'number' && Number.isInteger(byte) && byte >= 0 && byte <= 255) return parsed(byte);
  return invalid(`expected a byte 0..255 (a number or a hex string like "0xAB"), got ${describeValue(value)}`);
}

/**
 * The longest Sleep: the longest timer (MAX_TIMER_MS) — a sleep the driver cannot do is refused rather than cut
 * short (exec-protocol.md, Sleep).
 */
export const MAX_SLEEP_MS = MAX_TIMER_MS;

/** Milliseconds for Sleep: a finite number from 0 to MAX_SLEEP_MS. */
export function parseMs(value: unknown): Parsed<number> {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= MAX_SLEEP_MS) return parsed(value);
  return invalid(`expected milliseconds (a number from 0 to ${MAX_SLEEP_MS}), got ${describeValue(value)}`);
}

/** A request's id: a non-empty string or an integer; a string must not look like a hex address. */
export function parseId(value: unknown): Parsed<string | number> {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return parsed(value);
  if (typeof value === 'string' && value.trim() !== '' && value === value.trim()) {
    if (HEX_TEXT.test(value)) return invalid(`id ${quote(value)} looks like a hex address; pick another name`);
    return parsed(value);
  }
  return invalid(
    `expected an id (a non-empty string without surrounding spaces, or an integer), got ${describeValue(value)}`,
  );
}
