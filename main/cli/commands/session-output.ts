/**
 * What `replay` and `report` say about a session's reading, in the same words: each damaged line as
 * `FILE:LINE: what is wrong (skipped)`, a summary of what was skipped, and the `--max-line-length` option.
 */
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
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

/**
 * A session given as a pipe (`hostmem report <(…)`, `/dev/stdin`) can be read only once, and a report reads its
 * session twice (what kinds it holds, then the records): the pipe is copied once into a private temporary file,
 * read from there and removed by `dispose`. A regular file is read where it is. `name` is what messages call it.
 */
export async function sessionSource(path: string): Promise<{ readonly path: string; dispose(): void }> {
  if (!statSync(path).isFIFO()) return { path, dispose: () => undefined };
  const folder = mkdtempSync(join(tmpdir(), 'hostmem-session-'));
  const copy = join(folder, 'session');
  const dispose = (): void => rmSync(folder, { recursive: true, force: true });
  try {
    await pipeline(createReadStream(path), createWriteStream(copy, { mode: 0o600 }));
  } catch (error) {
    dispose();
    throw error;
  }
  return { path: copy, dispose };
}
