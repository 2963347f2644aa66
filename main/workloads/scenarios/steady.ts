/**
 * `steady`: the gentle default the app starts with. A small population of reservations whose pages are committed,
 * written, checked, decommitted, queried and now and then released and reserved again, plus a few small heap
 * blocks, at a low rate — always far from any limit.
 */
import { z } from 'zod';
import { commonFields, levelWeights, size, type CommonParams, type LevelWeights } from '../params';
import type { Scenario } from '../types';
import {
  Blocks,
  KiB,
  MiB,
  Pool,
  isWritable,
  pickByte,
  pickInt,
  pickLevel,
  pickSize,
  sharedHeap,
  whileUnavailable,
} from './model';

export interface SteadyParams extends CommonParams {
  readonly regions: number;
  readonly reserveMin: number;
  readonly reserveMax: number;
  readonly chunkPages: number;
  readonly maxCommitted: number;
  readonly headroom: number;
  readonly heapBlocks: number;
  readonly levels: LevelWeights;
}

const params = z
  .strictObject({
    ...commonFields({ durationMs: 0, rate: 20 }),
    regions: z.number().int().min(1).max(1024).default(8).describe('reservations kept alive'),
    reserveMin: size()
      .default(256 * KiB)
      .describe('smallest reservation'),
    reserveMax: size()
      .default(1 * MiB)
      .describe('largest reservation'),
    chunkPages: z.number().int().min(1).max(4096).default(16).describe('most pages committed or decommitted at once'),
    maxCommitted: size()
      .default(8 * MiB)
      .describe('the most this workload keeps committed'),
    headroom: z
      .number()
      .gt(0)
      .max(1)
      .default(0.5)
      .describe('never commit past this fraction of the host commit limit (when there is one)'),
    heapBlocks: z
      .number()
      .int()
      .min(0)
      .max(4096)
      .default(16)
      .describe('most live blocks in the host heap (0: no heap)'),
    levels: levelWeights(
      { eTaskCritical: 0.7, eAppDomainCritical: 0.2, eProcessCritical: 0.1 },
      'weights of the critical levels of allocations',
    ),
  })
  .refine((p) => p.reserveMin <= p.reserveMax, { message: 'reserveMin must not exceed reserveMax' });

export const steady: Scenario<SteadyParams> = {
  name: 'steady',
  description: 'A small population of reservations committed, written, decommitted and released at a low rate.',
  params,
  async run(host, ctx, p) {
    const pool = new Pool(host, ctx);
    const rng = ctx.rng;
    const page = host.pageSize;
    const heapId = p.heapBlocks > 0 ? await sharedHeap(host) : undefined;
    const blocks = heapId === undefined ? undefined : new Blocks(host, heapId);
    ctx.log(`steady: ${p.regions} reservations of ${p.reserveMin}..${p.reserveMax} bytes at ${p.rate} calls/s`);

    /** Whether committing `bytes` more keeps this workload and the host well away from the limits. */
    const mayCommit = (bytes: number): boolean => {
      if (pool.committedBytes() + bytes > p.maxCommitted) return false;
      const limit = host.policy().commitLimit;
      if (limit === null) return true;
      const s = host.stats();
      return s.committed + s.heap + bytes <= p.headroom * limit;
    };

    while (await ctx.pace()) {
      if (!(await whileUnavailable(host, ctx))) break;
      if (pool.size < p.regions) {
        await pool.reserve(pickSize(rng, p.reserveMin, p.reserveMax, page), pickLevel(rng, p.levels), 'steady/region');
        continue;
      }
      const r = pool.random(rng)!;
      const op = rng();
      if (op < 0.3) {
        const count = pickInt(rng, 1, Math.min(p.chunkPages, r.pages));
        const first = pickInt(rng, 0, r.pages - count);
        if (mayCommit(count * page)) await pool.commit(r, first, first + count, pickLevel(rng, p.levels));
        else {
          const run = r.run(rng, p.chunkPages, (prot) => prot !== 0);
          if (run) await pool.decommit(r, run[0], run[1]);
          else await pool.query(r, first);
        }
      } else if (op < 0.5) {
        const run = r.run(rng, p.chunkPages, (prot) => prot !== 0);
        if (run) await pool.decommit(r, run[0], run[1]);
        else await pool.query(r, 0);
      } else if (op < 0.65) {
        const run = r.run(rng, p.chunkPages, isWritable);
        if (run) await pool.fill(r, run[0], run[1], pickByte(rng));
        else await pool.query(r, 0);
      } else if (op < 0.77) {
        const run = r.uniformRun(rng, p.chunkPages);
        if (run) await pool.check(r, run[0], run[1]);
        else await pool.query(r, 0);
      } else if (op < 0.88 && blocks) {
        if (blocks.list.length < p.heapBlocks && (blocks.list.length === 0 || rng() < 0.5)) {
          await blocks.alloc(pickInt(rng, 512, 8 * KiB), pickLevel(rng, p.levels), pickByte(rng));
        } else await blocks.free(Math.floor(rng() * blocks.list.length), rng() < 0.5);
      } else if (op < 0.95) {
        await pool.query(r, Math.floor(rng() * r.pages));
      } else {
        await pool.release(r);
      }
    }
  },
};
