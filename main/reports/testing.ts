/**
 * Helpers shared by the report tests (not shipped in the app: only test files import this).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** RFC 4180 rows (quotes, doubled quotes, CRLF). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r') continue;
    else if (c === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += c;
  }
  if (cell !== '' || row.length > 0) rows.push([...row, cell]);
  return rows;
}

/** Run `pdftotext` on a file (stdio to files); undefined when pdftotext is not installed. */
export function pdfText(pdf: string, workDir: string): string | undefined {
  const txt = join(workDir, `${Date.now()}-${Math.random().toString(36).slice(2)}.txt`);
  const err = openSync(join(workDir, 'pdftotext.err'), 'w');
  const r = spawnSync('pdftotext', ['-layout', pdf, txt], { stdio: ['ignore', 'ignore', err] });
  closeSync(err);
  if (r.error || r.status !== 0) return undefined;
  return readFileSync(txt, 'utf8');
}
