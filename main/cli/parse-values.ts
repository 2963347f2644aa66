/**
 * The values of command-line options, read the same way by every command: durations and sizes through the one
 * parser of each (main/vocabulary/quantities.ts), limits that must be above 0, counts, process ids. Each throws a
 * `UsageError` whose message names the option (`--duration: duration "3000000000" is longer than …`); a command
 * prints it as one line with "see 'hostmem NAME --help'" (`usageFailure`) and exits 2.
 */
import { parseDurationValue, parseSizeValue, quote } from '../vocabulary';
import type { CliIo } from './commands/io';

/** A mistake in the command line: one line, exit status 2. */
export class UsageError extends Error {}

/** Milliseconds from "500ms", "30s", "2m", "1h" or a number of ms, 0 … MAX_TIMER_MS; `min` (ms) when 0 is not allowed. */
export function durationOption(option: string, text: string, min = 0): number {
  const ms = parseDurationValue(text);
  if (!ms.ok) throw new UsageError(`${option}: ${ms.error}`);
  if (ms.value < min) throw new UsageError(`${option}: must be at least ${min} ms, got ${quote(text)}`);
  return ms.value;
}

/** Bytes from "4096", "0x1000", "64KiB", "1.5MiB"… (below 2^53); `min` bytes at least. */
export function sizeOption(option: string, text: string, min = 0): number {
  const size = parseSizeValue(text);
  if (!size.ok) throw new UsageError(`${option}: ${size.error}`);
  if (size.value < min) throw new UsageError(`${option}: must be at least ${min} bytes, got ${quote(text)}`);
  return size.value;
}

/** A commit or reserve limit: a size above 0 (no limit is the option left out). */
export function limitOption(option: string, text: string): number {
  const size = sizeOption(option, text);
  if (size === 0) throw new UsageError(`${option}: a limit must be > 0 (leave the option out for no limit)`);
  return size;
}

/** A whole number from `min` to Number.MAX_SAFE_INTEGER, written in decimal digits. */
export function integerOption(option: string, text: string, min = 0): number {
  const n = Number(text);
  if (!/^\s*[0-9]+\s*$/.test(text) || !Number.isSafeInteger(n) || n < min)
    throw new UsageError(`${option}: expected a whole number ≥ ${min}, got ${quote(text)}`);
  return n;
}

/** A finite number ≥ 0 (a rate). */
export function rateOption(option: string, text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0)
    throw new UsageError(`${option}: expected a number ≥ 0, got ${quote(text)}`);
  return n;
}

/** The message of whatever a parser threw, as text. */
export function messageOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  // Node's parseArgs explains some mistakes over several lines: one line here.
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .join(' ');
}

/**
 * A usage error as the user sees it: `hostmem NAME: what is wrong` and where the options are explained, two short
 * lines on stderr (never the whole help). Returns the exit status, 2.
 */
export function usageFailure(io: CliIo, command: string, error: unknown): 2 {
  io.stderr.write(`hostmem ${command}: ${messageOf(error)}\nsee 'hostmem ${command} --help'\n`);
  return 2;
}
