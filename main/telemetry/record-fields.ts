/**
 * The bounds of the values a session record holds, declared once for every record kind (session-records.ts,
 * process-records.ts): a value outside them is damage (`FILE:LINE: what is wrong`), never a value that breaks a
 * reader later (a time a Date cannot hold, an address that reads as another number).
 */
import { z } from 'zod';

/** The largest time a Date can hold, ms since the epoch (±8.64e15 ms: ECMAScript's time range). */
export const MAX_TIME = 8.64e15;

/** A time, ms since the epoch, that a Date can hold. */
export const time = z.number().min(0).max(MAX_TIME);

/** A duration in ms: finite, ≥ 0 (a walk's duration; at most the whole time range). */
export const durationMs = z.number().min(0).max(MAX_TIME);

/** True for a time the `time` schema accepts (the fast paths that do not build a copy). */
export function isTime(value: unknown): boolean {
  return typeof value === 'number' && value >= 0 && value <= MAX_TIME;
}

/** The hex digits of a 64-bit address, at most. */
const HEX_ADDRESS = /^0x[0-9a-f]{1,16}$/i;

/**
 * True when `text` is `0x…` with at most 16 digits and a value a double holds exactly (user space is below 2^48;
 * Linux's `[vsyscall]` page at 0xffffffffff600000 is exact too), so that reading it gives back the same address.
 */
export function isExactHexAddress(text: string): boolean {
  if (!HEX_ADDRESS.test(text)) return false;
  const value = BigInt(text);
  return BigInt(Number(value)) === value;
}

export const ADDRESS_MESSAGE = 'expected an address "0x…" of at most 16 hex digits that a number holds exactly';

/** An address as a `"0x…"` string, exact (see isExactHexAddress). */
export const hexAddressText = z.string().regex(HEX_ADDRESS, ADDRESS_MESSAGE).refine(isExactHexAddress, ADDRESS_MESSAGE);
