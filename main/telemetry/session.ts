/**
 * Recorded sessions: a JSON Lines file the user keeps. Line 1 is a versioned header (host, OS, backend, policy);
 * then one line per host call in the `hostmem exec` request format with its result, and sample and snapshot
 * lines. The writer flushes at least every 250 ms (a `kill -9` loses at most the last interval) and stops at a
 * size cap with a clear message; the reader tolerates a torn last line.
 */
import { closeSync, createReadStream, fsyncSync, openSync, write, writeSync } from 'node:fs';
import { hostname, release } from 'node:os';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { BACKENDS, hresultHex, hresultName, type Backend, type HostPolicy } from '../host';

export const SESSION_FORMAT = 'hostmem.session/1';

export interface SessionHeader {
  readonly format: typeof SESSION_FORMAT;
  readonly createdAt: string;
  readonly hostmem: string;
  readonly host: { readonly hostname: string };
  readonly os: { readonly platform: string; readonly release: string; readonly arch: string };
  readonly backend: Backend;
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

/** Lines are encoded into buffers of this size; a full one is written at once. */
const BUFFER_BYTES = 1 << 20;
/** Asynchronous writes allowed in flight before the writer waits for the disk (writes synchronously). */
const MAX_IN_FLIGHT = 4;

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
  /**
   * Pending lines, encoded at once into a buffer: holding them as strings until the flush made them survive
   * young-generation GCs, and the old-generation GCs that followed halved recording throughput.
   */
  private buffer: Buffer = Buffer.allocUnsafe(BUFFER_BYTES);
  private readonly spare: Buffer[] = [];
  private pendingBytes = 0;
  /** File offset of the next flushed byte: writes are positional, so they may complete in any order. */
  private position = 0;
  private inFlight = 0;
  private drained: Array<() => void> = [];
  private failure: Error | undefined;
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
    const text = Buffer.from(JSON.stringify(header) + '\n');
    writeSync(this.fd, text, 0, text.length, 0);
    this.position = text.length;
    this.timer = setInterval(() => this.flush(), options.flushMs ?? 250);
    this.timer.unref();
  }

  get bytes(): number {
    return this.position + this.pendingBytes;
  }

  get isCapped(): boolean {
    return this.capped;
  }

  /** The first write error, if any (the file is then incomplete). */
  get error(): Error | undefined {
    return this.failure;
  }

  append(line: Record<string, unknown>): void {
    this.appendText(JSON.stringify(line) + '\n');
  }

  /** Append one already-serialised line (with its newline): the recorder's fast path. */
  appendText(text: string): void {
    if (this.closed || this.capped) return;
    // UTF-8 takes at most 3 bytes per UTF-16 unit: the exact length is only needed when that bound is close.
    const bound = text.length * 3;
    if (this.position + this.pendingBytes + bound > this.maxBytes) {
      if (this.position + this.pendingBytes + Buffer.byteLength(text) > this.maxBytes) {
        this.cap();
        return;
      }
    }
    if (this.pendingBytes + bound > this.buffer.length) {
      this.flush();
      if (bound > this.buffer.length) {
        this.writeAt(Buffer.from(text), text.length === 0 ? 0 : Buffer.byteLength(text));
        return;
      }
    }
    this.pendingBytes += this.buffer.write(text, this.pendingBytes);
  }

  private cap(): void {
    this.capped = true;
    const message = `recording stopped: the session reached its size cap of ${this.maxBytes} bytes (${this.path})`;
    this.flush();
    const note = Buffer.from(JSON.stringify({ type: 'note', t: Date.now(), note: 'capped', message }) + '\n');
    this.writeAt(note, note.length);
    this.options.onCapped?.(message);
  }

  /**
   * Write `data` at the next file position. Asynchronously (the thread pool does the I/O, so a slow disk never
   * blocks the host's calls) while few writes are in flight; synchronously when the disk falls behind.
   */
  private writeAt(chunk: Buffer, length: number): void {
    const at = this.position;
    this.position += length;
    if (this.inFlight >= MAX_IN_FLIGHT || this.closed) {
      let done = 0;
      while (done < length) done += writeSync(this.fd, chunk, done, length - done, at + done);
      if (chunk.length === BUFFER_BYTES) this.spare.push(chunk);
      return;
    }
    this.inFlight++;
    const finish = (err: NodeJS.ErrnoException | null, written: number): void => {
      if (err) {
        this.failure ??= err;
      } else if (written < length) {
        // A short write: finish it in place (rare; regular files take whole writes).
        let done = written;
        try {
          while (done < length) done += writeSync(this.fd, chunk, done, length - done, at + done);
        } catch (e) {
          this.failure ??= e as Error;
        }
      }
      if (chunk.length === BUFFER_BYTES) this.spare.push(chunk);
      this.inFlight--;
      if (this.inFlight === 0) for (const resolve of this.drained.splice(0)) resolve();
    };
    write(this.fd, chunk, 0, length, at, finish);
  }

  /** Hand what is pending to the OS (the timer does this every flush interval). */
  flush(): void {
    if (this.pendingBytes === 0 || this.closed) return;
    const full = this.buffer;
    const n = this.pendingBytes;
    this.buffer = this.spare.pop() ?? Buffer.allocUnsafe(BUFFER_BYTES);
    this.pendingBytes = 0;
    // The whole buffer goes back to the pool once its write is done.
    this.writeAt(full, n);
  }

  /** Flush, wait for every write, sync and close the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    clearInterval(this.timer);
    this.flush();
    if (this.inFlight > 0) await new Promise<void>((resolve) => this.drained.push(resolve));
    this.closed = true;
    try {
      fsyncSync(this.fd);
    } finally {
      closeSync(this.fd);
    }
    if (this.failure) throw new Error(`writing ${this.path} failed: ${this.failure.message}`);
  }
}

export function sessionHeader(backend: Backend, pageSize: number, policy: HostPolicy, command?: string): SessionHeader {
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
  backend: z.enum(BACKENDS),
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
