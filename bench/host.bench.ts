/**
 * `npm run bench:host`: the reserve → commit → decommit → release cycle through the host and through the raw
 * native layer, side by side in one process (rounds alternate host and raw, so both see the same machine and the
 * same OS state), on 64 KiB and 1 MiB regions, with 1, 10,000 and 1,000,000 live host regions around it.
 * Then owned-address lookups (VirtualQuery from the books) at 1,000 and 1,000,000 live regions.
 * The last line is `ratio host/raw <median ratio at 64 KiB and 10,000 live regions>`.
 */
import { MEM, PAGE, createOsMemory } from '../native';
import { createHost, type Host } from '../main/host';

const KiB = 1024;
const MiB = 1024 * KiB;
const RW = PAGE.READWRITE;
const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const ROUNDS = Number(args.get('rounds') ?? 15);
const CYCLES = Number(args.get('cycles') ?? 2000);
const LIVE = (args.get('live') ?? '1,10000,1000000').split(',').map(Number);

const os = createOsMemory();
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function hostCycles(host: Host, size: number, n: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const r = await host.VirtualAlloc(null, size, MEM.RESERVE, RW, 0);
    const a = r.address!;
    await host.VirtualAlloc(a, size, MEM.COMMIT, RW, 0);
    await host.VirtualFree(a, size, MEM.DECOMMIT);
    await host.VirtualFree(a, 0, MEM.RELEASE);
  }
  return Number(process.hrtime.bigint() - t0) / 1000 / n;
}

function rawCycles(size: number, n: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const r = os.reserve(null, size, false);
    if (!r.ok) throw new Error(r.error.message);
    const a = r.value;
    os.commit(a, size, RW);
    os.decommit(a, size);
    os.release(a, size);
  }
  return Number(process.hrtime.bigint() - t0) / 1000 / n;
}

async function populate(host: Host, target: number, live: number[]): Promise<void> {
  while (live.length < target) {
    const r = await host.VirtualAlloc(null, 64 * KiB, MEM.RESERVE, RW, live.length % 3, 'live');
    if (r.address === null) throw new Error(`could not hold ${target} live regions (at ${live.length})`);
    live.push(r.address);
  }
}

/** Random owned addresses, drawn before timing and read in order, so only the host's lookup is measured. */
function probes(live: number[], n: number): Float64Array {
  const out = new Float64Array(n);
  let x = 12345;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = live[x % live.length]! + 4096;
  }
  return out;
}

async function lookups(host: Host, addresses: Float64Array): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < addresses.length; i++) {
    const q = await host.VirtualQuery(addresses[i]!);
    if (!q.info?.owned) throw new Error('lookup missed');
  }
  return Number(process.hrtime.bigint() - t0) / 1000 / addresses.length;
}

async function main(): Promise<void> {
  console.log(
    `hostmem bench: host vs raw native layer (${os.backend}, node ${process.version}, ${ROUNDS} rounds × ${CYCLES} cycles)`,
  );
  const host = createHost({ os });
  const live: number[] = [];
  let headline = NaN;
  const rows: string[] = [];
  for (const target of LIVE) {
    await populate(host, target, live);
    for (const size of [64 * KiB, 1 * MiB]) {
      // Warm up both paths (JIT, OS free lists) before measuring.
      await hostCycles(host, size, 200);
      rawCycles(size, 200);
      const h: number[] = [];
      const r: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        gc();
        if (round % 2 === 0) {
          h.push(await hostCycles(host, size, CYCLES));
          r.push(rawCycles(size, CYCLES));
        } else {
          r.push(rawCycles(size, CYCLES));
          h.push(await hostCycles(host, size, CYCLES));
        }
      }
      const ratio = median(h) / median(r);
      if (size === 64 * KiB && target === 10000) headline = ratio;
      const row = `live ${String(target).padStart(8)}  size ${size === MiB ? '  1 MiB' : ' 64 KiB'}  host ${median(h).toFixed(2).padStart(6)} µs/cycle  raw ${median(r).toFixed(2).padStart(6)} µs/cycle  ratio ${ratio.toFixed(3)}`;
      rows.push(row);
      console.log(row);
    }
  }
  // Lookups: owned-address VirtualQuery at 1,000 and at the largest population.
  const small = createHost({ os });
  const smallLive: number[] = [];
  await populate(small, 1000, smallLive);
  const smallProbes = probes(smallLive, 50000);
  const bigProbes = probes(live, 50000);
  await lookups(small, smallProbes);
  await lookups(host, bigProbes);
  const ls: number[] = [];
  const lb: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    gc();
    ls.push(await lookups(small, smallProbes));
    lb.push(await lookups(host, bigProbes));
  }
  const lookupRatio = median(lb) / median(ls);
  // The region map alone (what VirtualQuery, VirtualFree, commit and Fill all start with).
  const indexLookups = (h: Host, addresses: Float64Array): number => {
    const t0 = process.hrtime.bigint();
    let found = 0;
    for (let i = 0; i < addresses.length; i++) if (h.regionAt(addresses[i]!) !== undefined) found++;
    if (found !== addresses.length) throw new Error('index lookup missed');
    return Number(process.hrtime.bigint() - t0) / 1000 / addresses.length;
  };
  // The same working set in both: 1,000 distinct regions probed, picked among all the live ones. This isolates
  // what the structure costs as it grows from what DRAM costs when every probe lands on a cold region.
  const hotProbes = probes(
    Array.from({ length: 1000 }, (_, i) => live[Math.floor((i * live.length) / 1000)]!),
    50000,
  );
  const is: number[] = [];
  const ib: number[] = [];
  const ih: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    is.push(indexLookups(small, smallProbes));
    ib.push(indexLookups(host, bigProbes));
    ih.push(indexLookups(host, hotProbes));
  }
  console.log(
    `lookup (region map, 1,000 hot regions) at ${smallLive.length} live: ${median(is).toFixed(3)} µs; at ${live.length} live: ${median(ih).toFixed(3)} µs; ratio ${(median(ih) / median(is)).toFixed(3)}`,
  );
  console.log(
    `lookup (region map, uniform over all) at ${smallLive.length} live: ${median(is).toFixed(3)} µs; at ${live.length} live: ${median(ib).toFixed(3)} µs; ratio ${(median(ib) / median(is)).toFixed(3)}`,
  );
  console.log(
    `lookup (VirtualQuery, owned) at ${smallLive.length} live: ${median(ls).toFixed(3)} µs; at ${live.length} live: ${median(lb).toFixed(3)} µs; ratio ${lookupRatio.toFixed(3)}`,
  );
  const audit = host.audit();
  console.log(`audit over ${audit.regions} regions: ${audit.drift.length} drift entries`);
  small.dispose();
  host.dispose();
  console.log(`ratio host/raw ${headline.toFixed(3)}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
