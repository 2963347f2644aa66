/**
 * `gc-heap`: what a garbage-collected runtime does with its host. Segments are reserved up front and committed in
 * chunks as "allocation" proceeds (objects are written: Fill); a gen0 "collection" checks the survivors (Check),
 * promotes them into a gen2 segment and decommits gen0; every Nth collection is a full one that compacts gen2,
 * decommits its tail, releases segments it no longer needs and frees the large objects (LOH, reserved and
 * committed in one call).
 */
import { z } from 'zod';
import { commonFields, levelWeights, size, type CommonParams, type LevelWeights } from '../params';
import type { Scenario } from '../types';
import {
  KiB,
  MiB,
  Pool,
  formatBytes,
  pickByte,
  pickLevel,
  pickSize,
  whileUnavailable,
  type Reservation,
} from './model';

export interface GcHeapParams extends CommonParams {
  readonly segmentSize: number;
  readonly allocationChunk: number;
  readonly gen0Budget: number;
  readonly survival: number;
  readonly fullEvery: number;
  readonly maxGen2Segments: number;
  readonly lohChance: number;
  readonly lohMin: number;
  readonly lohMax: number;
  readonly levels: LevelWeights;
}

const params = z
  .strictObject({
    ...commonFields({ durationMs: 30_000, rate: 200 }),
    segmentSize: size(64 * KiB)
      .default(4 * MiB)
      .describe('size of a gen0 or gen2 segment (reserved whole, committed in chunks)'),
    allocationChunk: size()
      .default(64 * KiB)
      .describe('bytes committed per allocation step'),
    gen0Budget: size()
      .default(1 * MiB)
      .describe('bytes allocated in gen0 between two collections'),
    survival: z.number().min(0).max(1).default(0.15).describe('fraction of gen0 that survives a collection into gen2'),
    fullEvery: z.number().int().min(1).default(8).describe('every Nth collection is a full one (gen2 compaction)'),
    maxGen2Segments: z
      .number()
      .int()
      .min(1)
      .max(64)
      .default(4)
      .describe('gen2 segments kept before a full collection releases some'),
    lohChance: z
      .number()
      .min(0)
      .max(1)
      .default(0.05)
      .describe('chance that an allocation step also allocates a large object'),
    lohMin: size()
      .default(128 * KiB)
      .describe('smallest large object'),
    lohMax: size()
      .default(1 * MiB)
      .describe('largest large object'),
    levels: levelWeights(
      { eTaskCritical: 0.6, eAppDomainCritical: 0.4, eProcessCritical: 0 },
      'weights of the critical levels of commits',
    ),
  })
  .refine((p) => p.allocationChunk <= p.segmentSize, { message: 'allocationChunk must not exceed segmentSize' })
  .refine((p) => p.lohMin <= p.lohMax, { message: 'lohMin must not exceed lohMax' });

export const gcHeap: Scenario<GcHeapParams> = {
  name: 'gc-heap',
  description: 'GC segments reserved, committed in chunks as allocation proceeds, decommitted after collections.',
  params,
  async run(host, ctx, p) {
    const pool = new Pool(host, ctx);
    const rng = ctx.rng;
    const page = host.pageSize;
    const chunkPages = Math.max(1, Math.round(p.allocationChunk / page));
    let gen0: Reservation | undefined;
    let allocPage = 0;
    let allocatedSinceGc = 0;
    const gen2: Reservation[] = [];
    /** Pages used in each gen2 segment (promotion pointer). */
    const gen2Used = new Map<Reservation, number>();
    const loh: Reservation[] = [];
    let collections = 0;

    const newSegment = async (tag: string): Promise<Reservation | undefined> => {
      const seg = await pool.reserve(p.segmentSize, pickLevel(rng, p.levels), tag);
      if (!seg) ctx.log(`could not reserve a ${formatBytes(p.segmentSize)} ${tag} segment`);
      return seg;
    };

    /** Promote `pages` survivor pages into gen2, reserving a new gen2 segment when the current one is full. */
    const promote = async (pages: number): Promise<void> => {
      let left = pages;
      while (left > 0 && !ctx.stopping) {
        let seg: Reservation | undefined = gen2[gen2.length - 1];
        if (!seg || gen2Used.get(seg)! >= seg.pages) {
          seg = await newSegment('gc-heap/gen2');
          if (!seg) return;
          gen2.push(seg);
          gen2Used.set(seg, 0);
        }
        const used = gen2Used.get(seg)!;
        const n = Math.min(left, seg.pages - used);
        if (!(await pool.commit(seg, used, used + n, pickLevel(rng, p.levels)))) return;
        await pool.fill(seg, used, used + n, pickByte(rng));
        gen2Used.set(seg, used + n);
        left -= n;
      }
    };

    const collect = async (): Promise<void> => {
      collections++;
      const full = collections % p.fullEvery === 0;
      if (gen0 && allocPage > 0) {
        // Mark: read some of what was allocated.
        const run = gen0.uniformRun(rng, chunkPages);
        if (run) await pool.check(gen0, run[0], run[1]);
        await promote(Math.round(allocPage * p.survival));
        await pool.decommit(gen0, 0, gen0.pages);
      }
      allocPage = 0;
      allocatedSinceGc = 0;
      if (!full) return;
      // Full collection: gen2 shrinks by a third; segments beyond it are released, the last one's tail decommitted.
      const usedPages = gen2.reduce((n, s) => n + gen2Used.get(s)!, 0);
      let keep = Math.floor((usedPages * 2) / 3);
      const maxPages = p.maxGen2Segments * Math.ceil(p.segmentSize / page);
      keep = Math.min(keep, maxPages);
      const survivors: Reservation[] = [];
      for (const seg of gen2) {
        const used = gen2Used.get(seg)!;
        if (keep <= 0) {
          await pool.release(seg);
          gen2Used.delete(seg);
          continue;
        }
        if (keep < used) {
          await pool.decommit(seg, keep, used);
          gen2Used.set(seg, keep);
        }
        keep -= Math.min(keep, used);
        survivors.push(seg);
      }
      gen2.splice(0, gen2.length, ...survivors);
      for (const obj of loh.splice(0)) await pool.release(obj);
      ctx.log(
        `full collection #${collections}: gen2 ${gen2.length} segment(s), ${formatBytes(pool.committedBytes())} committed`,
      );
    };

    ctx.log(
      `gc-heap: ${formatBytes(p.segmentSize)} segments, ${formatBytes(p.allocationChunk)} chunks, gen0 budget ${formatBytes(p.gen0Budget)}`,
    );
    while (await ctx.pace()) {
      if (!(await whileUnavailable(host, ctx))) break;
      if (!gen0 || !pool.list.includes(gen0)) {
        gen0 = await newSegment('gc-heap/gen0');
        allocPage = 0;
        if (!gen0) continue;
      }
      if (allocPage + chunkPages > gen0.pages || allocatedSinceGc >= p.gen0Budget) {
        await collect();
        continue;
      }
      // Allocate: commit the next chunk and write the objects into it.
      const level = pickLevel(rng, p.levels);
      if (await pool.commit(gen0, allocPage, allocPage + chunkPages, level)) {
        await pool.fill(gen0, allocPage, allocPage + chunkPages, pickByte(rng));
        allocPage += chunkPages;
        allocatedSinceGc += chunkPages * page;
      } else {
        // Out of memory for gen0: collect now, as a runtime would.
        await collect();
      }
      if (rng() < p.lohChance) {
        const obj = await pool.reserve(pickSize(rng, p.lohMin, p.lohMax, page), level, 'gc-heap/loh', { commit: true });
        if (obj) {
          loh.push(obj);
          await pool.fill(obj, 0, Math.min(obj.pages, chunkPages), pickByte(rng));
        }
      }
    }
    ctx.log(`gc-heap: ${collections} collection(s)`);
  },
};
