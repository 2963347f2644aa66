/**
 * Recorded sessions: a JSON Lines file the user keeps. Line 1 is a versioned header (host, OS, backend, policy);
 * then one line per host call in the `hostmem exec` request format with its result, and sample and snapshot
 * lines. The writer flushes at least every 250 ms (a `kill -9` loses at most the last interval) and stops at a
 * size cap with a clear message. What a reader accepts is in session-records.ts (one schema per record kind) and
 * session-reader.ts (the one reader, and its rule for damage).
 */
import { closeSync, fsyncSync, openSync, write, writeSync } from 'node:fs';
import { hostname, release } from 'node:os';
import { hresultHex, hresultName, type Backend, type HostPolicy } from '../host';
import type { CallRecord } from './session-records';

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

/** One recorded call: the exec request, and its result as exec prints it (its schema: session-records.ts). */
export type CallLine = CallRecord;

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

  /** Append one record; false when it was not kept (the writer is closed or stopped at its size cap). */
  append(line: Record<string, unknown>): boolean {
    return this.appendText(JSON.stringify(line) + '\n');
  }

  /** Append one already-serialised line (with its newline): the recorder's fast path. False when not kept. */
  appendText(text: string): boolean {
    if (this.closed || this.capped) return false;
    // UTF-8 takes at most 3 bytes per UTF-16 unit: the exact length is only needed when that bound is close.
    const bound = text.length * 3;
    if (this.position + this.pendingBytes + bound > this.maxBytes) {
      if (this.position + this.pendingBytes + Buffer.byteLength(text) > this.maxBytes) {
        this.cap();
        return false;
      }
    }
    if (this.pendingBytes + bound > this.buffer.length) {
      this.flush();
      if (bound > this.buffer.length) {
        this.writeAt(Buffer.from(text), text.length === 0 ? 0 : Buffer.byteLength(text));
        return true;
      }
    }
    this.pendingBytes += this.buffer.write(text, this.pendingBytes);
    return true;
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

/** A file that is not a session at all (no header, or not this format): the one error a reader throws. */
export class SessionFormatError extends Error {}
