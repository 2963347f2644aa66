/**
 * The file arguments of every command, checked before any work: a path that is missing, a folder, or not readable
 * (writable) gets one clear sentence and exit status 2, never raw errno text (`EISDIR: illegal operation on a
 * directory, read`) or exit 1.
 */
import { accessSync, constants, statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';

export interface InputRules {
  /** A pipe (FIFO, `<(…)`, /dev/stdin fed by a pipe) is fine: it is read once, as a stream. Default: refused. */
  readonly pipes?: boolean;
  /** The largest regular file accepted, bytes (a policy file: 1 MiB). Default: any size. */
  readonly maxBytes?: number;
}

/**
 * What is wrong with `path` as a file to read, or undefined when it can be read. `what` names it: "session file".
 * Only regular files (and pipes where `rules.pipes`) are read: a device (`/dev/zero` never ends), a socket or a
 * folder is refused, and a file above `rules.maxBytes` too.
 */
export function inputFileProblem(path: string, what = 'file', rules: InputRules = {}): string | undefined {
  let stat: Stats;
  try {
    stat = statSync(path);
  } catch (error) {
    return describe(error, path, what, 'read');
  }
  if (stat.isDirectory()) return `${path}: is a folder, not a ${what}`;
  if (stat.isFIFO()) {
    if (!rules.pipes) return `${path}: is a pipe, not a ${what} (give a regular file)`;
  } else if (!stat.isFile()) {
    const kind =
      stat.isCharacterDevice() || stat.isBlockDevice()
        ? 'a device'
        : stat.isSocket()
          ? 'a socket'
          : 'not a regular file';
    return `${path}: is ${kind}, not a ${what} (give a regular file${rules.pipes ? ' or a pipe' : ''})`;
  } else if (rules.maxBytes !== undefined && stat.size > rules.maxBytes) {
    return `${path}: is ${stat.size} bytes, more than a ${what} may be (${rules.maxBytes} bytes)`;
  }
  try {
    accessSync(path, constants.R_OK);
  } catch (error) {
    return describe(error, path, what, 'read');
  }
  return undefined;
}

/** What is wrong with `path` as a file to write (created or replaced), or undefined when it can be written. */
export function outputFileProblem(path: string, what = 'file'): string | undefined {
  try {
    const stat = statSync(path);
    if (stat.isDirectory()) return `${path}: is a folder, not a ${what}`;
    accessSync(path, constants.W_OK);
    return undefined;
  } catch (error) {
    if (codeOf(error) !== 'ENOENT') return describe(error, path, what, 'write');
  }
  const folder = dirname(resolve(path));
  try {
    if (!statSync(folder).isDirectory()) return `${path}: ${folder} is not a folder`;
    accessSync(folder, constants.W_OK);
  } catch (error) {
    if (codeOf(error) === 'ENOENT') return `${path}: the folder ${folder} does not exist`;
    return `${path}: cannot create the ${what}: ${reason(error)}`;
  }
  return undefined;
}

function codeOf(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null ? (error as NodeJS.ErrnoException).code : undefined;
}

/** What went wrong with a file operation, in words (never a stack trace): "no space left on device". */
export function reason(error: unknown): string {
  switch (codeOf(error)) {
    case 'ENOSPC':
      return 'no space left on device';
    case 'EDQUOT':
      return 'disk quota exceeded';
    case 'EROFS':
      return 'read-only file system';
    case 'EFBIG':
      return 'file too large';
    case 'EIO':
      return 'input/output error';
    case 'ESPIPE':
      return 'not a file that can be written at an offset (a pipe or a terminal)';
    case 'EISDIR':
      return 'is a folder';
    case 'ENOENT':
      return 'no such file or folder';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOTDIR':
      return 'a part of the path is not a folder';
    case 'ENAMETOOLONG':
      return 'the name is too long';
    case 'ELOOP':
      return 'too many symbolic links';
    default:
      return error instanceof Error ? error.message : String(error);
  }
}

function describe(error: unknown, path: string, what: string, verb: 'read' | 'write'): string {
  if (codeOf(error) === 'ENOENT') return `${path}: no such ${what}`;
  return `${path}: cannot ${verb} the ${what}: ${reason(error)}`;
}

/** True when `a` and `b` name the same file (the same inode, through links and `..`; or the same path if new). */
export function isSameFile(a: string, b: string): boolean {
  if (resolve(a) === resolve(b)) return true;
  try {
    const x = statSync(a);
    const y = statSync(b);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

/**
 * An output that is one of the command's inputs would destroy it before it is read: `exec --in x --out x`,
 * `run --script w.mjs --record w.mjs`, `report s --out s`. The problem as one sentence, or undefined.
 */
export function outputIsInputProblem(
  outputs: readonly (readonly [option: string, path: string])[],
  inputs: readonly (readonly [option: string, path: string])[],
): string | undefined {
  for (const [outOption, out] of outputs) {
    for (const [inOption, input] of inputs) {
      if (isSameFile(out, input))
        return `${outOption} ${out} is the ${inOption} file: writing it would destroy what is read (choose another name)`;
    }
  }
  return undefined;
}

/** An output file that exists is replaced only with --force: the sentence, or undefined. */
export function existingOutputProblem(option: string, path: string, force: boolean): string | undefined {
  if (force) return undefined;
  try {
    statSync(path);
  } catch {
    return undefined;
  }
  return `${option} ${path} already exists (use --force to replace it)`;
}
