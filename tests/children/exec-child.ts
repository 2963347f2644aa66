/**
 * A real process to watch in tests: `hostmem exec` (out/cli/hostmem.js) as a child, driven line by line over its
 * stdin. `commit(size)` makes it reserve and commit `size` bytes read-write and write them (so they are resident
 * too), and resolves with the region's address as the OS gave it; `exit()` closes its stdin, which ends it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface ExecChild {
  readonly pid: number;
  readonly child: ChildProcess;
  /** Reserve + commit `size` bytes (PAGE_READWRITE) and fill them; the region's base address. */
  commit(size: number, tag?: string): Promise<number>;
  /** Close stdin: the child ends; resolves with its exit code. */
  exit(): Promise<number | null>;
}

export function execChild(root: string = process.cwd()): Promise<ExecChild> {
  const cli = join(root, 'out', 'cli', 'hostmem.js');
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run node scripts/build-node.mjs`);
  const child = spawn(process.execPath, [cli, 'exec'], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
  const waiting: ((line: string) => void)[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => waiting.shift()?.(line));
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (c: string) => (stderr += c));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const ask = (request: object): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      waiting.push((line) => {
        const result = JSON.parse(line) as Record<string, unknown>;
        if (result.error !== undefined || (result.hr !== undefined && result.hr !== '0x00000000')) {
          reject(new Error(`exec child: ${line} ${stderr}`));
        } else resolve(result);
      });
      child.stdin!.write(`${JSON.stringify(request)}\n`);
    });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('spawn', () =>
      resolve({
        pid: child.pid!,
        child,
        async commit(size, tag) {
          const r = await ask({
            op: 'VirtualAlloc',
            address: null,
            size,
            type: ['MEM_RESERVE', 'MEM_COMMIT'],
            protect: 'PAGE_READWRITE',
            level: 0,
            ...(tag !== undefined && { tag }),
          });
          const address = String(r.address);
          await ask({ op: 'Fill', address, size, byte: 0x5a });
          return Number.parseInt(address, 16);
        },
        exit() {
          child.stdin!.end();
          return exited;
        },
      }),
    );
  });
}
