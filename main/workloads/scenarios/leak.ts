/**
 * `leak`: allocates steadily and forgets a fraction of what it allocates, so committed bytes grow in a straight
 * line. Allocations are VirtualAlloc reservations (reserved and committed in one call) or host-heap blocks
 * (DebugAlloc, so the "leak site" shows as file:line); each is written (Fill). The others are temporaries, checked
 * and freed after a short while.
 *
 * Unlike every other scenario, leak leaves what it leaked behind when it stops (that is the point): the summary
 * reports it as `retained`, tagged `leak/leaked`. Set `releaseOnStop: true` to have it released like the rest.
 */
import { z } from 'zod';
import { commonFields, levelWeights, size, type CommonParams, type LevelWeights } from '../params';
import type { Scenario } from '../types';
import {
  Blocks,
  KiB,
  MiB,
  Pool,
  formatBytes,
  pickByte,
  pickLevel,
  pickSize,
  sharedHeap,
  whileUnavailable,
  type Reservation,
} from './model';

export interface LeakParams extends CommonParams {
  readonly sizeMin: number;
  readonly sizeMax: number;
  readonly leakFraction: number;
  readonly temporaries: number;
  readonly heapFraction: number;
  readonly maxLeak: number;
  readonly releaseOnStop: boolean;
  readonly levels: LevelWeights;
}

const params = z
  .strictObject({
    ...commonFields({ durationMs: 30_000, rate: 50 }),
    sizeMin: size()
      .default(16 * KiB)
      .describe('smallest allocation'),
    sizeMax: size()
      .default(256 * KiB)
      .describe('largest allocation'),
    leakFraction: z.number().min(0).max(1).default(0.25).describe('fraction of allocations that are never freed'),
    temporaries: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(16)
      .describe('temporaries alive at once (freed oldest first)'),
    heapFraction: z
      .number()
      .min(0)
      .max(1)
      .default(0.3)
      .describe('fraction of allocations made in the host heap (DebugAlloc)'),
    maxLeak: size()
      .default(64 * MiB)
      .describe('once this much has leaked, only temporaries are allocated'),
    releaseOnStop: z.boolean().default(false).describe('release the leaked memory too when the workload ends'),
    levels: levelWeights(
      { eTaskCritical: 0.8, eAppDomainCritical: 0.2, eProcessCritical: 0 },
      'weights of the critical levels of allocations',
    ),
  })
  .refine((p) => p.sizeMin <= p.sizeMax, { message: 'sizeMin must not exceed sizeMax' });

export const leak: Scenario<LeakParams> = {
  name: 'leak',
  description: 'Allocates steadily and forgets a fraction: committed bytes grow; the leak stays after it stops.',
  params,
  async run(host, ctx, p) {
    const pool = new Pool(host, ctx);
    const rng = ctx.rng;
    const page = host.pageSize;
    const heapId = p.heapFraction > 0 ? await sharedHeap(host) : undefined;
    const temps = heapId === undefined ? undefined : new Blocks(host, heapId);
    const leakedBlocks = heapId === undefined ? undefined : new Blocks(host, heapId);
    const tempRegions: Reservation[] = [];
    let leaked = 0;
    let capped = false;
    let step = 0;
    ctx.log(`leak: ${p.leakFraction * 100}% of ${formatBytes(p.sizeMin)}..${formatBytes(p.sizeMax)} allocations leak`);

    while (await ctx.pace()) {
      if (!(await whileUnavailable(host, ctx))) break;
      step++;
      const bytes = pickSize(rng, p.sizeMin, p.sizeMax, page);
      const level = pickLevel(rng, p.levels);
      const leaks = rng() < p.leakFraction && !capped;
      const inHeap = heapId !== undefined && rng() < p.heapFraction;
      const byte = pickByte(rng);
      if (inHeap && temps && leakedBlocks) {
        const blocks = leaks ? leakedBlocks : temps;
        const file = leaks ? 'leak/leaked' : 'leak/temp';
        if (await blocks.alloc(bytes, level, byte, { file, line: step })) {
          if (leaks) {
            leaked += bytes;
            if (!p.releaseOnStop) ctx.keep(blocks.list[blocks.list.length - 1]!.address);
          }
        }
      } else {
        const r = await pool.reserve(bytes, level, leaks ? 'leak/leaked' : 'leak/temp', { commit: true });
        if (r) {
          await pool.fill(r, 0, r.pages, byte);
          if (leaks) {
            leaked += bytes;
            if (!p.releaseOnStop) ctx.keep(r.base);
            pool.list.splice(pool.list.indexOf(r), 1); // forgotten
          } else tempRegions.push(r);
        }
      }
      if (!capped && leaked >= p.maxLeak) {
        capped = true;
        ctx.log(`leaked ${formatBytes(leaked)}: maxLeak reached, only temporaries from now on`);
      }
      // Temporaries: the oldest is checked and freed once there are too many.
      while (tempRegions.length > p.temporaries) {
        const old = tempRegions.shift()!;
        await pool.check(old, 0, Math.min(old.pages, 4));
        await pool.release(old);
      }
      while (temps && temps.list.length > p.temporaries) await temps.free(0, true);
      if (step % 100 === 0) ctx.log(`leaked so far: ${formatBytes(leaked)}`);
    }
    ctx.log(`leak: ${formatBytes(leaked)} leaked${p.releaseOnStop ? ' (released on stop)' : ' and left behind'}`);
  },
};
