/**
 * The one reader of session files: replay, report, the dashboard and every later reader go through it, so they all
 * see the same records and the same damage (the rule is in README.md, "Reading a session"):
 *
 * - line 1 is the header; a file whose header is missing or wrong is not a session (SessionFormatError, `FILE:1: …`);
 * - every other line is one record, validated by its kind's schema (session-records.ts); a line that is not JSON,
 *   not a record, or not what its kind must hold is **damage**: skipped, counted, and kept as `FILE:LINE: what is
 *   wrong` (the first MAX_LISTED of them), and the reading goes on;
 * - a record of a kind this reader does not know (a newer writer's) is passed over and counted by kind, not damage;
 * - a last line without a newline that is not a whole record is a **torn** write (the writer was killed): left out,
 *   said, and not damage;
 * - a line longer than `maxLineBytes` is damage too, and is never held in memory.
 */
import { createReadStream } from 'node:fs';
import { z } from 'zod';
import { isLongLine, readLineBatches, SESSION_MAX_LINE_BYTES, type ReadLine } from './line-reader';
import {
  describeIssues,
  isRecordKind,
  isValidSnapshot,
  matchCall,
  matchOkCallTime,
  recordedPolicy,
  SESSION_RECORD_KINDS,
  type SessionRecord,
} from './session-records';
import { SESSION_FORMAT, SessionFormatError, type SessionHeader } from './session';
import { BACKENDS } from '../vocabulary';

/** Damaged lines listed by line number (all are counted). */
export const MAX_LISTED = 100;

export interface SessionDamage {
  /** 1-based line of the file. */
  readonly line: number;
  /** What is wrong, without the `FILE:LINE: ` prefix. */
  readonly message: string;
}

/** What reading found besides the records: the same for every reader of the same file. */
export interface SessionIntegrity {
  /** Damaged lines, skipped. */
  readonly damaged: number;
  /** The first MAX_LISTED of them, in file order. */
  readonly damage: readonly SessionDamage[];
  /** The last line was torn (no newline, not a whole record) and was left out. */
  readonly torn: boolean;
  /** Records of kinds this reader does not know, passed over: count by kind, and the first line of each. */
  readonly unknownKinds: Readonly<Record<string, { readonly count: number; readonly firstLine: number }>>;
  /** Physical lines read. */
  readonly lines: number;
}

export interface SessionEntry {
  readonly line: number;
  readonly record: SessionRecord;
}

export interface SessionReadOptions {
  /** Longest line held (default SESSION_MAX_LINE_BYTES); a longer one is damage. */
  readonly maxLineBytes?: number;
}

const headerSchema = z.looseObject({
  format: z.literal(SESSION_FORMAT),
  createdAt: z.string(),
  hostmem: z.string().optional(),
  host: z.looseObject({ hostname: z.string().optional() }).optional(),
  os: z.looseObject({ platform: z.string(), release: z.string(), arch: z.string() }).partial().optional(),
  backend: z.enum(BACKENDS),
  pageSize: z
    .number()
    .int()
    .min(1)
    .refine((n) => (n & (n - 1)) === 0, 'expected a power of two'),
  policy: recordedPolicy,
  command: z.string().optional(),
});

/** `FILE:LINE: message`, the form every reader prints damage in. */
export function damageText(path: string, d: SessionDamage): string {
  return `${path}:${d.line}: ${d.message}`;
}

/** One line saying how many lines were damaged and where (for a command's output); undefined when none. */
export function damageSummary(integrity: SessionIntegrity): string | undefined {
  if (integrity.damaged === 0) return undefined;
  const where = integrity.damage.map((d) => d.line).join(', ');
  const more = integrity.damaged > integrity.damage.length ? ', …' : '';
  return `${integrity.damaged} damaged line${integrity.damaged === 1 ? '' : 's'} skipped (line${integrity.damaged === 1 ? '' : 's'} ${where}${more})`;
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, message: `not JSON (${error instanceof Error ? error.message : String(error)})` };
  }
}

/**
 * Reads one session file: `header()` first, then `entries()` in batches (one per chunk read, in file order);
 * `integrity` says what was skipped, at any point and at the end.
 */
export class SessionReader {
  private readonly lines: AsyncGenerator<ReadLine[]>;
  private pending: ReadLine[] = [];
  private headerValue: SessionHeader | undefined;
  private damagedCount = 0;
  private readonly damageList: SessionDamage[] = [];
  private tornLast = false;
  private readonly unknown = new Map<string, { count: number; firstLine: number }>();
  private lastLine = 0;

  constructor(
    readonly path: string,
    options: SessionReadOptions = {},
  ) {
    const maxLineBytes = options.maxLineBytes ?? SESSION_MAX_LINE_BYTES;
    this.lines = readLineBatches(createReadStream(path, { highWaterMark: 1 << 20 }), { maxLineBytes });
  }

  get integrity(): SessionIntegrity {
    return {
      damaged: this.damagedCount,
      damage: [...this.damageList],
      torn: this.tornLast,
      unknownKinds: Object.fromEntries(this.unknown),
      lines: this.lastLine,
    };
  }

  /** The header (line 1). Throws SessionFormatError when the file is not a session. */
  async header(): Promise<SessionHeader> {
    if (this.headerValue) return this.headerValue;
    const first = await this.lines.next();
    if (first.done || first.value.length === 0) throw new SessionFormatError(`${this.path}: empty file, not a session`);
    const [line, ...rest] = first.value;
    this.pending = rest;
    this.lastLine = line!.n;
    const fail = (message: string): never => {
      throw new SessionFormatError(`${this.path}:1: not a ${SESSION_FORMAT} header: ${message}`);
    };
    if (isLongLine(line!)) return fail(`the line is ${line!.tooLong} bytes long, more than the maximum line length`);
    const json = parseJson(line!.text);
    if (!json.ok) return fail(line!.terminated ? json.message : `${json.message}; the file ends inside its header`);
    const header = headerSchema.safeParse(json.value);
    if (!header.success) return fail(describeIssues(header.error));
    this.headerValue = header.data as SessionHeader;
    return this.headerValue;
  }

  /** The records after the header, in batches; damaged lines are skipped (see `integrity`). */
  async *entries(): AsyncGenerator<SessionEntry[]> {
    for await (const batch of this.read(false)) yield batch as SessionEntry[];
  }

  /**
   * The same, except that a successful call line in the recorder's exact form (most lines of a large session) is
   * validated as usual but comes as its time alone (a number, in its place in file order), not built as a record:
   * for readers that only count those calls.
   */
  entriesOrOkCallTimes(): AsyncGenerator<Array<SessionEntry | number>> {
    return this.read(true);
  }

  private async *read(okCallTimes: boolean): AsyncGenerator<Array<SessionEntry | number>> {
    await this.header();
    let batch = this.pending;
    this.pending = [];
    for (;;) {
      const out: Array<SessionEntry | number> = [];
      for (const line of batch) {
        this.lastLine = line.n;
        if (okCallTimes && !isLongLine(line)) {
          const t = matchOkCallTime(line.text);
          if (t !== undefined) {
            out.push(t);
            continue;
          }
        }
        const record = this.record(line);
        if (record !== undefined) out.push({ line: line.n, record });
      }
      if (out.length > 0) yield out;
      const next = await this.lines.next();
      if (next.done) return;
      batch = next.value;
    }
  }

  private damage(line: number, message: string): void {
    this.damagedCount++;
    if (this.damageList.length < MAX_LISTED) this.damageList.push({ line, message });
  }

  private record(line: ReadLine): SessionRecord | undefined {
    if (isLongLine(line)) {
      if (!line.terminated) this.tornLast = true;
      else this.damage(line.n, `the line is ${line.tooLong} bytes long, more than the maximum line length`);
      return undefined;
    }
    const text = line.text;
    if (text.length === 0 || (text.charCodeAt(0) <= 32 && text.trim() === '')) return undefined;
    const fast = matchCall(text);
    if (fast !== undefined) return fast;
    const problem = (message: string): undefined => {
      if (!line.terminated) this.tornLast = true;
      else this.damage(line.n, message);
      return undefined;
    };
    const json = parseJson(text);
    if (!json.ok) return problem(json.message);
    const value = json.value as { type?: unknown; t?: unknown } | null;
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      return problem('not a record (a JSON object with "type" and "t")');
    if (typeof value.type !== 'string') return problem('not a record: "type" is missing or not a string');
    if (!isRecordKind(value.type)) {
      if (typeof value.t !== 'number') return problem(`not a record: "t" is missing or not a number`);
      const known = this.unknown.get(value.type);
      if (known) known.count++;
      else this.unknown.set(value.type, { count: 1, firstLine: line.n });
      return undefined;
    }
    if (value.type === 'snapshot' && isValidSnapshot(value)) return value;
    const parsed = SESSION_RECORD_KINDS[value.type].safeParse(value);
    if (!parsed.success) return problem(`${value.type} record: ${describeIssues(parsed.error)}`);
    return parsed.data as SessionRecord;
  }
}

export interface SessionContents {
  readonly header: SessionHeader;
  /** Records after the header, in order, with their line numbers. */
  readonly entries: SessionEntry[];
  readonly integrity: SessionIntegrity;
}

/** Read a whole session into memory (tests, small files; replay and report stream instead). */
export async function readSessionFile(path: string, options: SessionReadOptions = {}): Promise<SessionContents> {
  const reader = new SessionReader(path, options);
  const header = await reader.header();
  const entries: SessionEntry[] = [];
  for await (const batch of reader.entries()) entries.push(...batch);
  return { header, entries, integrity: reader.integrity };
}

/** A whole session as records (tests): `lines` in file order, `torn` as in `integrity`. */
export async function readSession(
  path: string,
  options: SessionReadOptions = {},
): Promise<{ header: SessionHeader; lines: SessionRecord[]; torn: boolean; integrity: SessionIntegrity }> {
  const { header, entries, integrity } = await readSessionFile(path, options);
  return { header, lines: entries.map((e) => e.record), torn: integrity.torn, integrity };
}
