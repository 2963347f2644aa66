/**
 * Recorded sessions: a JSON Lines file the user keeps. Line 1 is a versioned header (host, OS, backend, policy);
 * then one line per host call in the `hostmem exec` request format with its result, and sample and snapshot
 * lines. The writer flushes at least every 250 ms (a `kill -9` loses at most the last interval) and stops at a
 * size cap with a clear message; the reader tolerates a torn last line.
 */
import { closeSync, createReadStream, fsyncSync, openSync, writeSync } from 'node:fs';
import { hostname, release } from 'node:os';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { hresultHex, hresultName, type HostPolicy } from '../host';

export const SESSION_FORMAT = 'hostmem.session/1';

export interface SessionHeader {
  readonly format: typeof SESSION_FORMAT;
  readonly createdAt: string;
  readonly hostmem: string;
  readonly host: { readonly hostname: string };
  readonly os: { readonly platform: string; readonly release: string; readonly arch: string };
  readonly backend: 'win32' | 'posix';
  readonly pageSize: number;
  /** The policy in force when recording started, in the exec policy format (sizes in bytes). */
  readonly policy: ExecPolicy;
  /** What produced it, e.g. `hostmem run --scenario pressure --seed 1`. */
  readonly command?: string;
}

/** A HostPolicy as the exec protocol's policy object (null limits left out). */
export type ExecPolicy = Record<string, unknown>;

export function toExecPolicy(p: HostPolicy): ExecPolicy {
  const out: Record<string, unknown> = {
    thresholds: { ...p.thresholds },
    processCriticalWaitMs: p.processCriticalWaitMs,
    faults: p.faults.map((f) => ({ ...f })),
    seed: p.seed,
  };
  if (p.commitLimit !== null) out.commitLimit = p.commitLimit;
  if (p.reserveLimit !== null) out.reserveLimit = p.reserveLimit;
  return out;
}

/** One recorded call: the exec request, and its result as exec prints it. */
export interface CallLine {
  readonly type: 'call';
  /** ms since the epoch. */
  readonly t: number;
  readonly request: Record<string, unknown> & { readonly op: string };
  readonly result: {
    readonly hr: string;
    readonly hrName: string;
    readonly reason?: string;
    readonly address?: string | null;
  };
}

export interface DataLine {
  readonly type: 'sample' | 'snapshot' | 'note';
  readonly t: number;
  readonly [key: string]: unknown;
}

export type SessionLine = CallLine | DataLine;

export function resultFields(
  hr: number,
  reason: string | undefined,
  address: number | null | undefined,
): CallLine['result'] {
  const out: { hr: string; hrName: string; reason?: string; address?: string | null } = {
    hr: hresultHex(hr),
    hrName: hresultName(hr),
  };
  if (reason !== undefined) out.reason = reason;
  if (address !== undefined) out.address = address === null ? null : `0x${address.toString(16)}`;
  return out;
}

export interface SessionWriterOptions {
  /** Flush interval, ms (default 250). */
  readonly flushMs?: number;
  /** Stop recording past this many bytes (default 1 GiB). */
  readonly maxBytes?: number;
  /** Told once when the cap stops the recording. */
  readonly onCapped?: (message: string) => void;
}

/** Appends lines to a session file; writes are batched and flushed by a timer, at a size, and on close. */
export class SessionWriter {
  private readonly fd: number;
  private chunks: string[] = [];
  private pendingBytes = 0;
  private written = 0;
  private capped = false;
  private closed = false;
  private readonly timer: NodeJS.Timeout;
  private readonly maxBytes: number;

  constructor(
    readonly path: string,
    header: SessionHeader,
    private readonly options: SessionWriterOptions = {},
  ) {
    this.maxBytes = options.maxBytes ?? 1024 ** 3;
    this.fd = openSync(path, 'w');
    this.append(header as unknown as Record<string, unknown>);
    this.flush();
    this.timer = setInterval(() => this.flush(), options.flushMs ?? 250);
    this.timer.unref();
  }

  get bytes(): number {
    return this.written + this.pendingBytes;
  }

  get isCapped(): boolean {
    return this.capped;
  }

  append(line: Record<string, unknown>): void {
    this.appendText(JSON.stringify(line) + '\n');
  }

  /** Append one already-serialised line (with its newline): the recorder's fast path. */
  appendText(text: string): void {
    if (this.closed || this.capped) return;
    if (this.written + this.pendingBytes + text.length > this.maxBytes) {
      this.capped = true;
      const message = `recording stopped: the session reached its size cap of ${this.maxBytes} bytes (${this.path})`;
      const note = JSON.stringify({ type: 'note', t: Date.now(), note: 'capped', message }) + '\n';
      this.chunks.push(note);
      this.pendingBytes += note.length;
      this.flush();
      this.options.onCapped?.(message);
      return;
    }
    this.chunks.push(text);
    this.pendingBytes += text.length;
    if (this.pendingBytes >= 1 << 20) this.flush();
  }

  flush(): void {
    if (this.chunks.length === 0 || this.closed) return;
    const data = this.chunks.join('');
    this.chunks = [];
    this.pendingBytes = 0;
    writeSync(this.fd, data);
    this.written += Buffer.byteLength(data);
  }

  close(): void {
    if (this.closed) return;
    clearInterval(this.timer);
    this.flush();
    this.closed = true;
    try {
      fsyncSync(this.fd);
    } finally {
      closeSync(this.fd);
    }
  }
}

export function sessionHeader(
  backend: 'win32' | 'posix',
  pageSize: number,
  policy: HostPolicy,
  command?: string,
): SessionHeader {
  return {
    format: SESSION_FORMAT,
    createdAt: new Date().toISOString(),
    hostmem: '0.1.0',
    host: { hostname: hostname() },
    os: { platform: process.platform, release: release(), arch: process.arch },
    backend,
    pageSize,
    policy: toExecPolicy(policy),
    ...(command === undefined ? {} : { command }),
  };
}

const headerSchema = z.looseObject({
  format: z.literal(SESSION_FORMAT),
  createdAt: z.string(),
  backend: z.enum(['win32', 'posix']),
  pageSize: z.number(),
  policy: z.record(z.string(), z.unknown()),
});

const lineSchema = z.looseObject({ type: z.string(), t: z.number() });

export interface SessionContents {
  readonly header: SessionHeader;
  /** Lines after the header, in order. */
  readonly lines: SessionLine[];
  /** True when the last line was cut off (a killed writer) and was left out. */
  readonly torn: boolean;
}

export class SessionFormatError extends Error {}

/**
 * Stream a session's lines. A last line that does not parse is a torn write and is skipped (`onTorn` is told);
 * any other bad line is a format error naming its line number.
 */
export async function* readSessionLines(
  path: string,
  onTorn?: () => void,
): AsyncGenerator<{ readonly header: SessionHeader } | { readonly line: SessionLine }> {
  const rl = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let n = 0;
  let bad: { n: number; message: string } | undefined;
  for await (const text of rl) {
    n++;
    if (bad) throw new SessionFormatError(`${path}:${bad.n}: ${bad.message}`);
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      // Only the very last line may be torn: remember it and fail if another line follows.
      bad = { n, message: `not JSON (${e instanceof Error ? e.message : String(e)})` };
      continue;
    }
    if (n === 1) {
      const h = headerSchema.safeParse(value);
      if (!h.success)
        throw new SessionFormatError(
          `${path}:1: not a ${SESSION_FORMAT} header (${h.error.issues[0]?.message ?? 'invalid'})`,
        );
      yield { header: value as SessionHeader };
      continue;
    }
    const l = lineSchema.safeParse(value);
    if (!l.success) throw new SessionFormatError(`${path}:${n}: not a session line (needs "type" and "t")`);
    yield { line: value as SessionLine };
  }
  if (bad) {
    if (bad.n === 1) throw new SessionFormatError(`${path}:1: ${bad.message}`);
    onTorn?.();
  }
  if (n === 0) throw new SessionFormatError(`${path}: empty file, not a session`);
}

/** Read a whole session (for reports and tests; replay streams instead). */
export async function readSession(path: string): Promise<SessionContents> {
  let header: SessionHeader | undefined;
  let torn = false;
  const lines: SessionLine[] = [];
  for await (const item of readSessionLines(path, () => (torn = true))) {
    if ('header' in item) header = item.header;
    else lines.push(item.line);
  }
  if (!header) throw new SessionFormatError(`${path}: no header`);
  return { header, lines, torn };
}
