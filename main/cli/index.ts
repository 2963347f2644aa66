#!/usr/bin/env node
/** The `hostmem` executable (bundled to out/cli/hostmem.js): runs the command line and exits with its status. */
import { reason } from './commands/paths';
import { main } from './main';

/** Flush stdout/stderr, then exit: the host may hold timers that would keep the process alive. */
async function exit(code: number): Promise<never> {
  let failed = false;
  const flush = (stream: NodeJS.WriteStream) =>
    new Promise<void>((resolve) => {
      try {
        stream.write('', (error) => {
          if (error && !isBrokenPipe(error)) failed = true;
          resolve();
        });
      } catch {
        failed = true;
        resolve();
      }
    });
  await Promise.all([flush(process.stdout), flush(process.stderr)]);
  process.exit(failed && code === 0 ? 1 : code);
}

/** The reader of our output went away (`hostmem exec … | head`): stop quietly, as a shell pipeline expects. */
function isBrokenPipe(error: unknown): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === 'EPIPE';
}

/** An error of the OS (ENOSPC, EIO, …) rather than a bug: said in one line, without a stack trace. */
function isSystemError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string';
}

/** Standard output cannot be written (`> /dev/full`): one line on stderr, exit 1. */
function outputFailed(error: unknown): never {
  try {
    process.stderr.write(`hostmem: cannot write the output: ${reason(error)}\n`);
  } catch {
    // stderr is gone too: the exit status says it.
  }
  process.exit(1);
}

process.stdout.on('error', (error) => {
  if (isBrokenPipe(error)) process.exit(0);
  outputFailed(error);
});

main(process.argv.slice(2)).then(exit, async (error: unknown) => {
  if (isBrokenPipe(error)) process.exit(0);
  if (isSystemError(error)) {
    const syscall =
      error.syscall === 'write' ? 'cannot write the output' : `${error.syscall ?? 'a system call'} failed`;
    process.stderr.write(`hostmem: ${syscall}: ${reason(error)}${error.path ? ` (${error.path})` : ''}\n`);
  } else {
    process.stderr.write(`hostmem: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  }
  await exit(1);
});
