#!/usr/bin/env node
/** The `hostmem` executable (bundled to out/cli/hostmem.js): runs the command line and exits with its status. */
import { main } from './main';

/** Flush stdout/stderr, then exit: the host may hold timers that would keep the process alive. */
async function exit(code: number): Promise<never> {
  const flush = (stream: NodeJS.WriteStream) => new Promise<void>((resolve) => stream.write('', () => resolve()));
  await Promise.all([flush(process.stdout), flush(process.stderr)]);
  process.exit(code);
}

/** The reader of our output went away (`hostmem exec … | head`): stop quietly, as a shell pipeline expects. */
function isBrokenPipe(error: unknown): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === 'EPIPE';
}

process.stdout.on('error', (error) => {
  if (isBrokenPipe(error)) process.exit(0);
});

main(process.argv.slice(2)).then(exit, async (error: unknown) => {
  if (isBrokenPipe(error)) process.exit(0);
  process.stderr.write(`hostmem: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  await exit(1);
});
