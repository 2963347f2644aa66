/**
 * `fragmentation`: many small reservations (some top-down) released in random order, so the address space is left
 * full of holes; and a few larger "arenas" whose pages are committed and decommitted one small run at a time, with
 * VirtualProtect flipping runs between read-write, read-only, execute-read and no-access — page maps of many short
 * runs. Written pages are checked; protections are respected (no Fill on read-only pages, no Check on no-access).
 */
import { z } from 'zod';
import { PAGE } from '../../vocabulary';
import { commonFields, levelWeights, size, type CommonParams, type LevelWeights } from '../params';
import type { Scenario } from '../types';
import {
  KiB,
  MiB,
  Pool,
  formatBytes,
  isReadable,
  isWritable,
  pickByte,
  pickInt,
  pickLevel,
  pickOne,
  pickSize,
  whileUnavailable,
  type Reservation,
} from './model';

export interface FragmentationParams extends CommonParams {
  readonly maxRegions: number;
  readonly smallMin: number;
  readonly smallMax: number;
  readonly arenas: number;
  readonly arenaSize: number;
  readonly protectFraction: number;
  readonly topDownFraction: number;
  readonly levels: LevelWeights;
}

const params = z
  .strictObject({
    ...commonFields({ durationMs: 30_000, rate: 200 }),
    maxRegions: z.number().int().min(1).max(100_000).default(256).describe('most small reservations alive at once'),
    smallMin: size()
      .default(4 * KiB)
      .describe('smallest small reservation'),
    smallMax: size()
      .default(64 * KiB)
      .describe('largest small reservation'),
    arenas: z.number().int().min(0).max(64).default(2).describe('larger reservations committed sparsely'),
    arenaSize: size(64 * KiB)
      .default(1 * MiB)
      .describe('size of an arena'),
    protectFraction: z.number().min(0).max(1).default(0.15).describe('fraction of steps that change a protection'),
    topDownFraction: z.number().min(0).max(1).default(0.2).describe('fraction of small reservations made MEM_TOP_DOWN'),
    levels: levelWeights(
      { eTaskCritical: 0.9, eAppDomainCritical: 0.1, eProcessCritical: 0 },
      'weights of the critical levels of allocations',
    ),
  })
  .refine((p) => p.smallMin <= p.smallMax, { message: 'smallMin must not exceed smallMax' });

const PROTECTIONS = [PAGE.READWRITE, PAGE.READONLY, PAGE.EXECUTE_READ, PAGE.NOACCESS, PAGE.READWRITE] as const;

export const fragmentation: Scenario<FragmentationParams> = {
  name: 'fragmentation',
  description: 'Many small reservations freed out of order, sparse arenas and protection changes: holes everywhere.',
  params,
  async run(host, ctx, p) {
    const pool = new Pool(host, ctx);
    const rng = ctx.rng;
    const page = host.pageSize;
    const arenas: Reservation[] = [];
    const small = (): Reservation[] => pool.list.filter((r) => !arenas.includes(r));
    let released = 0;
    ctx.log(
      `fragmentation: up to ${p.maxRegions} reservations of ${formatBytes(p.smallMin)}..${formatBytes(p.smallMax)}, ${p.arenas} arena(s)`,
    );

    while (await ctx.pace()) {
      if (!(await whileUnavailable(host, ctx))) break;
      for (let i = arenas.length - 1; i >= 0; i--) if (!pool.list.includes(arenas[i]!)) arenas.splice(i, 1);
      if (arenas.length < p.arenas) {
        const arena = await pool.reserve(p.arenaSize, pickLevel(rng, p.levels), 'fragmentation/arena');
        if (arena) arenas.push(arena);
        continue;
      }
      const op = rng();
      if (op < p.protectFraction) {
        // Protect a committed run, then touch it as its new protection allows.
        const target = pickOne(rng, pool.list);
        const run = target?.run(rng, 4, (prot) => prot !== 0);
        if (!target || !run) {
          if (target) await pool.query(target, 0);
          continue;
        }
        const protect = PROTECTIONS[Math.floor(rng() * PROTECTIONS.length)]!;
        if (!(await pool.protect(target, run[0], run[1], protect))) continue;
        if (isWritable(protect)) await pool.fill(target, run[0], run[1], pickByte(rng));
        else if (isReadable(protect)) {
          const uniform = target.uniformRun(rng, run[1] - run[0]);
          if (uniform) await pool.check(target, uniform[0], uniform[1]);
        }
      } else if (op < 0.45 && arenas.length > 0) {
        // Arena: commit or decommit one short run.
        const arena = pickOne(rng, arenas)!;
        const count = pickInt(rng, 1, 3);
        const first = pickInt(rng, 0, arena.pages - count);
        if (rng() < 0.6) {
          if (await pool.commit(arena, first, first + count, pickLevel(rng, p.levels))) {
            const w = arena.run(rng, count, isWritable);
            if (w) await pool.fill(arena, w[0], w[1], pickByte(rng));
          }
        } else {
          const run = arena.run(rng, count, (prot) => prot !== 0);
          if (run) await pool.decommit(arena, run[0], run[1]);
          else await pool.query(arena, first);
        }
      } else {
        const smalls = small();
        if (smalls.length < p.maxRegions && (smalls.length === 0 || rng() < 0.55)) {
          const bytes = pickSize(rng, p.smallMin, p.smallMax, page);
          const r = await pool.reserve(bytes, pickLevel(rng, p.levels), 'fragmentation/small', {
            commit: true,
            topDown: rng() < p.topDownFraction,
          });
          if (r) await pool.fill(r, 0, 1, pickByte(rng));
        } else {
          // Free out of order: any of them, not the last one made.
          const victim = pickOne(rng, smalls)!;
          const run = victim.uniformRun(rng, 1);
          if (run && rng() < 0.3) await pool.check(victim, run[0], run[1]);
          await pool.release(victim);
          released++;
        }
      }
    }
    ctx.log(`fragmentation: ${released} reservation(s) released out of order`);
  },
};
