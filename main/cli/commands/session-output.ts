/**
 * What `replay` and `report` say about a session's reading, in the same words: each damaged line as
 * `FILE:LINE: what is wrong (skipped)`, a summary of what was skipped, and the `--max-line-length` option.
 */
import { LONGEST_LINE_BYTES } from '../../telemetry/line-reader';
import { damageSummary, damageText, type SessionIntegrity } from '../../telemetry/session-reader';
import { parseSize } from '../exec/values';
import type { CliIo } from './io';

/** `--max-line-length SIZE` of the session readers; undefined when not given. Throws a usage error. */
export function maxLineOption(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const size = parseSize(text);
  if (!size.ok) throw new Error(`--max-line-length: ${size.error}`);
  if (size.value === 0) throw new Error('--max-line-length: must be > 0');
  if (size.value > LONGEST_LINE_BYTES)
    throw new Error(`--max-line-length: at most ${LONGEST_LINE_BYTES} bytes (the longest string Node can hold)`);
  return size.value;
}

/** The summary's notes on what reading skipped: damage, a torn last line, unknown record kinds. */
export function integrityNotes(integrity: SessionIntegrity): string[] {
  const notes: string[] = [];
  const damage = damageSummary(integrity);
  if (damage !== undefined) notes.push(damage);
  if (integrity.torn) notes.push('the last line was torn and was left out');
  const unknown = Object.entries(integrity.unknownKinds);
  if (unknown.length > 0)
    notes.push(
      `passed over records of kinds this hostmem does not know: ${unknown.map(([k, u]) => `${k} ×${u.count}`).join(', ')}`,
    );
  return notes;
}

/** Each damaged line (the first ones) as `FILE:LINE: what is wrong`, and each unknown kind's first line, on stderr. */
export function writeIntegrity(io: CliIo, command: string, path: string, integrity: SessionIntegrity): void {
  for (const d of integrity.damage) io.stderr.write(`${command}: ${damageText(path, d)} (skipped)\n`);
  if (integrity.damaged > integrity.damage.length)
    io.stderr.write(`${command}: ${path}: ${integrity.damaged - integrity.damage.length} more damaged lines skipped\n`);
  for (const [kind, u] of Object.entries(integrity.unknownKinds))
    io.stderr.write(
      `${command}: ${path}:${u.firstLine}: a "${kind}" record, a kind this hostmem does not know: passed over (${u.count} in all)\n`,
    );
}
