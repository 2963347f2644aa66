/**
 * `npm run bench:exec`: `hostmem exec` on one very long line (1, 10 and 100 MB), against baselines measured side by
 * side on the same file: `wc -l` (the I/O floor), Node's own `readline`, and the previous exec line reader (which
 * re-scanned what it had buffered for every chunk: quadratic; run on 1 and 10 MB only).
 *
 * Each measurement runs in a fresh child process (this file with `--child`), which reports its wall time and peak
 * RSS, so the memory a reader held is that child's alone. The line is a valid VirtualAlloc request whose `tag` fills
 * it; exec runs it twice: with the default maximum line length (1 MiB: the 10 and 100 MB lines are refused with an
 * error line, and never held) and with `--max-line-length 256MiB` (the line is held, parsed and run).
 *
 *   node out/bench/exec.bench.js [--sizes=1,10,100] [--rounds=3]
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
import { execCommand } from '../main/cli/commands/exec';
import type { CliIo } from '../main/cli/commands/io';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const MB = 1_000_000;

/** The exec line reader before this benchmark (kept here as the baseline it was measured against). */
async function* previousReadLines(stream: Readable): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  for await (const chunk of stream) {
    const text = rest + decoder.write(chunk as Buffer);
    let start = 0;
    for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n', start)) {
      yield text.slice(start, end);
      start = end + 1;
    }
    rest = text.slice(start);
  }
  rest += decoder.end();
  if (rest !== '') yield rest;
}

async function child(kind: string, file: string): Promise<void> {
  const t0 = process.hrtime.bigint();
  let lines = 0;
  if (kind === 'readline') {
    const rl = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
    for await (const _ of rl) lines++;
  } else if (kind === 'previous') {
    for await (const _ of previousReadLines(createReadStream(file))) lines++;
  } else {
    const sink = createWriteStream('/dev/null');
    const io: CliIo = { stdin: process.stdin, stdout: sink, stderr: process.stderr };
    const extra = kind === 'exec-256MiB' ? ['--max-line-length', '256MiB'] : [];
    await execCommand(['--in', file, '--out', join(tmpdir(), `exec-bench-${process.pid}.out`), ...extra], io);
    rmSync(join(tmpdir(), `exec-bench-${process.pid}.out`), { force: true });
    lines = 1;
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  process.stdout.write(JSON.stringify({ ms, rss: process.resourceUsage().maxRSS * 1024, lines }) + '\n');
}

function measure(kind: string, file: string): { ms: number; rss: number } {
  if (kind === 'wc') {
    const t0 = process.hrtime.bigint();
    const r = spawnSync('wc', ['-l', file], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`wc: ${r.stderr}`);
    return { ms: Number(process.hrtime.bigint() - t0) / 1e6, rss: Number.NaN };
  }
  const r = spawnSync(process.execPath, [process.argv[1]!, '--child', kind, file], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  if (r.status !== 0) throw new Error(`${kind}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { ms: number; rss: number };
}

async function makeLine(file: string, bytes: number): Promise<void> {
  const out = createWriteStream(file);
  const head =
    '{"op":"VirtualAlloc","id":"r1","address":null,"size":65536,"type":"MEM_RESERVE","protect":"PAGE_READWRITE","level":0,"tag":"';
  const tail = '"}\n';
  out.write(head);
  const block = 'x'.repeat(1 << 16);
  let left = bytes - head.length - tail.length;
  while (left > 0) {
    const piece = left >= block.length ? block : block.slice(0, left);
    if (!out.write(piece)) await once(out, 'drain');
    left -= piece.length;
  }
  out.end(tail);
  await once(out, 'finish');
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  if (args.has('child')) {
    await child(process.argv[3]!, process.argv[4]!);
    return;
  }
  const sizes = (args.get('sizes') ?? '1,10,100').split(',').map(Number);
  const rounds = Number(args.get('rounds') ?? 3);
  const dir = mkdtempSync(join(tmpdir(), 'hostmem-exec-bench-'));
  const kinds = ['wc', 'readline', 'previous', 'exec', 'exec-256MiB'];
  console.log(`exec on one line of ${sizes.join(', ')} MB, median of ${rounds} (ms; peak RSS of the process, MiB)`);
  console.log(['size', ...kinds].map((k) => k.padStart(18)).join(''));
  const execMs: number[] = [];
  try {
    for (const size of sizes) {
      const file = join(dir, `line-${size}MB.jsonl`);
      await makeLine(file, size * MB);
      const cells: string[] = [`${size} MB`.padStart(18)];
      for (const kind of kinds) {
        if (kind === 'previous' && size > 10) {
          cells.push('(skipped)'.padStart(18));
          continue;
        }
        const runs = Array.from({ length: rounds }, () => measure(kind, file));
        const ms = median(runs.map((r) => r.ms));
        const rss = median(runs.map((r) => r.rss));
        if (kind === 'exec') execMs.push(ms);
        cells.push(`${ms.toFixed(0)} ms${Number.isNaN(rss) ? '' : ` ${(rss / 2 ** 20).toFixed(0)}M`}`.padStart(18));
      }
      console.log(cells.join(''));
      rmSync(file, { force: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (execMs.length >= 2) {
    const first = execMs[0]!;
    const last = execMs.at(-1)!;
    console.log(
      `exec time ${sizes.at(-1)! / sizes[0]!}× the line: ${(last / first).toFixed(2)}× the time (linear: at most ${sizes.at(-1)! / sizes[0]!}×)`,
    );
  }
}

void main();
