/**
 * Whole-or-absent report files: each target is written to a temporary file in its own folder and moved into place
 * only when everything was written. An existing file is replaced only with `force` (without it, the move itself
 * refuses to replace: a file that appears meanwhile is kept). Writers append text to a buffered sink that hands
 * about 1 MiB at a time to the file, so memory stays flat however large the report.
 */
import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { link, open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

/** The target exists and `force` was not given. */
export class ReportExistsError extends Error {
  constructor(readonly path: string) {
    super(`${path} already exists (use --force to replace it)`);
    this.name = 'ReportExistsError';
  }
}

/** The target cannot be written (missing folder, no permission, a folder in the way, disk full…). */
export class ReportWriteError extends Error {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`cannot write ${path}: ${reason}`);
    this.name = 'ReportWriteError';
  }
}

const FLUSH_AT = 1 << 20;

/** Where a format writes: `write` buffers; when `full`, the writer awaits `flush()` before going on. */
export interface ReportSink {
  write(chunk: string | Uint8Array): void;
  readonly full: boolean;
  flush(): Promise<void>;
}

/** Collects text in memory (the HTML handed to a PDF printer, tests). */
export class MemorySink implements ReportSink {
  private readonly parts: string[] = [];
  readonly full = false;

  write(chunk: string | Uint8Array): void {
    this.parts.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
  }

  async flush(): Promise<void> {}

  text(): string {
    return this.parts.join('');
  }
}

/**
 * Buffered text (or bytes) going to one file. Text is encoded at once into a 1 MiB buffer outside the JS heap: kept
 * as strings until the flush, a million small pieces survived young-generation GCs and made them the main cost.
 */
export class FileSink implements ReportSink {
  private buffer = Buffer.allocUnsafe(FLUSH_AT);
  private used = 0;
  private pending: Buffer[] = [];

  constructor(private readonly handle: FileHandle) {}

  write(chunk: string | Uint8Array): void {
    if (typeof chunk === 'string') {
      // UTF-8 takes at most 3 bytes per UTF-16 unit.
      if (this.used + chunk.length * 3 > this.buffer.length) {
        this.spill();
        if (chunk.length * 3 > this.buffer.length) {
          this.pending.push(Buffer.from(chunk, 'utf8'));
          return;
        }
      }
      this.used += this.buffer.write(chunk, this.used, 'utf8');
    } else {
      this.spill();
      this.pending.push(Buffer.from(chunk));
    }
  }

  private spill(): void {
    if (this.used === 0) return;
    this.pending.push(this.buffer.subarray(0, this.used));
    this.buffer = Buffer.allocUnsafe(FLUSH_AT);
    this.used = 0;
  }

  /** True when a buffer is full and the writer should `await flush()`. */
  get full(): boolean {
    return this.pending.length > 0;
  }

  async flush(): Promise<void> {
    this.spill();
    const pending = this.pending;
    this.pending = [];
    for (const data of pending) {
      let done = 0;
      while (done < data.length) done += (await this.handle.write(data, done, data.length - done)).bytesWritten;
    }
  }
}

function reasonOf(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'ENOENT':
      return 'the folder does not exist';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a folder';
    case 'ENOTDIR':
      return 'a part of the path is not a folder';
    case 'ENOSPC':
      return 'no space left on the device';
    case 'EROFS':
      return 'read-only file system';
    default:
      return e instanceof Error ? e.message : String(error);
  }
}

async function statOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR')
      return undefined;
    throw new ReportWriteError(path, reasonOf(error));
  }
}

/** Check that each target may be written: not a folder, and absent unless `force`. */
export async function checkTargets(paths: readonly string[], force: boolean): Promise<void> {
  for (const path of paths) {
    const st = await statOrUndefined(path);
    if (st?.isDirectory()) throw new ReportWriteError(path, 'it is a folder');
    if (st && !force) throw new ReportExistsError(path);
  }
}

/** Move a finished temporary file to its target; without `force`, never over a file that exists. */
async function place(temp: string, target: string, force: boolean): Promise<void> {
  if (force) {
    await rename(temp, target);
    return;
  }
  try {
    // A hard link fails with EEXIST rather than replace: the no-replace move.
    await link(temp, target);
    await unlink(temp);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new ReportExistsError(target);
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'ENOSYS' || code === 'EXDEV') {
      // File systems without hard links (FAT, some network shares): check, then rename.
      if (await statOrUndefined(target)) throw new ReportExistsError(target);
      await rename(temp, target);
      return;
    }
    throw error;
  }
}

/**
 * Write `paths` as a unit: `fill` gets one sink per path (same order) and writes them; then every file is synced,
 * closed and moved into place. On any error the temporary files are removed and no target is touched (except, in
 * the rare case that moving one of several files fails, the ones already moved).
 */
export async function writeAtomically(
  paths: readonly string[],
  options: { readonly force: boolean },
  fill: (sinks: readonly FileSink[]) => Promise<void>,
): Promise<void> {
  const targets = paths.map((p) => resolve(p));
  await checkTargets(targets, options.force);
  const temps: Array<{ path: string; handle: FileHandle | undefined }> = [];
  try {
    for (const target of targets) {
      const temp = join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
      try {
        const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
        temps.push({ path: temp, handle });
      } catch (error) {
        throw new ReportWriteError(target, reasonOf(error));
      }
    }
    const sinks = temps.map((t) => new FileSink(t.handle!));
    await fill(sinks);
    for (let i = 0; i < temps.length; i++) {
      const t = temps[i]!;
      try {
        await sinks[i]!.flush();
        await t.handle!.sync();
        await t.handle!.close();
        t.handle = undefined;
      } catch (error) {
        throw new ReportWriteError(targets[i]!, reasonOf(error));
      }
    }
    for (let i = 0; i < temps.length; i++) {
      try {
        await place(temps[i]!.path, targets[i]!, options.force);
      } catch (error) {
        if (error instanceof ReportExistsError) throw error;
        throw new ReportWriteError(targets[i]!, reasonOf(error));
      }
    }
  } finally {
    for (const t of temps) {
      await t.handle?.close().catch(() => undefined);
      await unlink(t.path).catch(() => undefined);
    }
  }
}
