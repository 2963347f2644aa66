/**
 * For tests of the `hostmem` command: run it in this process with its output captured.
 */
import { Writable } from 'node:stream';
import type { CliIo } from './commands/io';
import { main } from './main';

/** Run `hostmem ARGV…` here; `onOut` sees stdout as it is written (to act while a watch runs). */
export async function runCli(
  argv: readonly string[],
  onOut: (text: string) => void = () => {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  let out = '';
  let err = '';
  const sink = (append: (text: string) => void): Writable =>
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        append(chunk.toString());
        callback();
      },
    });
  const stdout = sink((t) => {
    out += t;
    onOut(t);
  });
  const io = { stdin: process.stdin, stdout, stderr: sink((t) => (err += t)) } as unknown as CliIo;
  const code = await main([...argv], io);
  return { code, stdout: out, stderr: err };
}
