/**
 * The one line reader of hostmem's line-oriented inputs (`hostmem exec` requests, recorded sessions): linear in its
 * input and bounded in memory.
 *
 * Each chunk is searched once for its newlines (`Buffer.indexOf`, memchr), so a line costs what its bytes cost however
 * many chunks it spans; the previous reader re-scanned everything it had buffered for every chunk, which made one
 * 100 MB line take ~50 s. A line longer than `maxLineBytes` is not held: its bytes are counted and dropped as they
 * arrive, and the reader says so (`tooLong`) when the line ends, then goes on with the next one.
 */

/** Default longest line for `hostmem exec` requests: a request is a few hundred bytes; a policy with many faults a few KiB. */
export const EXEC_MAX_LINE_BYTES = 1024 ** 2;
/**
 * Default longest line of a session file: its snapshot lines hold every live region (~150 bytes each), so a
 * 1,000,000-region snapshot is ~150 MB. V8 cannot make a string much longer than 512 MiB anyway.
 */
export const SESSION_MAX_LINE_BYTES = 256 * 1024 ** 2;

/** The longest line a reader may be asked to hold: V8's longest string (a UTF-8 line never decodes to more chars). */
export const LONGEST_LINE_BYTES = 0x1fffffe8;

export interface TextLine {
  /** 1-based physical line number (blank lines count). */
  readonly n: number;
  /** The line without `\n`, `\r\n` or (first line) a UTF-8 byte order mark. */
  readonly text: string;
  /** False for a last line that had no newline after it (a torn write, for a file that is still being written). */
  readonly terminated: boolean;
}

export interface LongLine {
  readonly n: number;
  /** Bytes the line held (not kept). */
  readonly tooLong: number;
  readonly terminated: boolean;
}

export type ReadLine = TextLine | LongLine;

export function isLongLine(line: ReadLine): line is LongLine {
  return (line as LongLine).tooLong !== undefined;
}

export interface LineReaderOptions {
  /** Lines longer than this many bytes (without their newline) are reported as `tooLong` and not held. */
  readonly maxLineBytes: number;
}

const NL = 0x0a;

function clean(text: string, first: boolean): string {
  let out = text;
  if (first && out.charCodeAt(0) === 0xfeff) out = out.slice(1);
  if (out.charCodeAt(out.length - 1) === 0x0d) out = out.slice(0, -1);
  return out;
}

/** The lines of a UTF-8 byte stream (strings are taken as UTF-8 text), one at a time. */
export async function* readLines(
  stream: AsyncIterable<Buffer | string>,
  options: LineReaderOptions,
): AsyncGenerator<ReadLine> {
  for await (const batch of readLineBatches(stream, options)) yield* batch;
}

/**
 * The same lines, in one array per chunk read: readers of large files (sessions) iterate plain arrays instead of
 * paying an async generator step for every line.
 */
export async function* readLineBatches(
  stream: AsyncIterable<Buffer | string>,
  options: LineReaderOptions,
): AsyncGenerator<ReadLine[]> {
  const max = options.maxLineBytes;
  // The current line's bytes so far, when it spans chunks.
  const parts: Buffer[] = [];
  let held = 0;
  // The current line is over-long: only its length is kept.
  let skipped = -1;
  let n = 0;
  for await (const raw of stream) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
    const batch: ReadLine[] = [];
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(NL, start);
      const end = nl < 0 ? chunk.length : nl;
      if (skipped >= 0) skipped += end - start;
      else if (held + end - start > max) {
        skipped = held + end - start;
        parts.length = 0;
        held = 0;
      } else if (nl < 0) {
        parts.push(chunk.subarray(start, end));
        held += end - start;
      }
      if (nl < 0) break;
      n++;
      if (skipped >= 0) {
        batch.push({ n, tooLong: skipped, terminated: true });
        skipped = -1;
        start = nl + 1;
        continue;
      }
      if (held > 0) {
        parts.push(chunk.subarray(start, end));
        const text = Buffer.concat(parts).toString('utf8');
        parts.length = 0;
        held = 0;
        batch.push({ n, text: clean(text, n === 1), terminated: true });
        start = nl + 1;
        continue;
      }
      // Whole lines inside this chunk: decoded together when none of them can be over-long (the common case).
      const last = chunk.lastIndexOf(NL);
      if (last > end && last - nl - 1 <= max) {
        batch.push({ n, text: clean(chunk.toString('utf8', start, end), n === 1), terminated: true });
        const text = chunk.toString('utf8', nl + 1, last);
        let from = 0;
        for (;;) {
          const i = text.indexOf('\n', from);
          const line = i < 0 ? text.slice(from) : text.slice(from, i);
          n++;
          batch.push({ n, text: clean(line, false), terminated: true });
          if (i < 0) break;
          from = i + 1;
        }
        start = last + 1;
        continue;
      }
      batch.push({ n, text: clean(chunk.toString('utf8', start, end), n === 1), terminated: true });
      start = nl + 1;
    }
    if (batch.length > 0) yield batch;
  }
  if (skipped >= 0) yield [{ n: n + 1, tooLong: skipped, terminated: false }];
  else if (held > 0)
    yield [{ n: n + 1, text: clean(Buffer.concat(parts).toString('utf8'), n === 0), terminated: false }];
}
