/**
 * `burst`: idle, then a short burst of calls at a high rate, again and again — what a request spike looks like.
 * A burst reserves and commits small blocks, writes them, checks and frees most of them (newest first, like a
 * stack of temporaries) and keeps `keepFraction` of them until the end of the next burst.
 */
import { z } from 'zod';
import { commonFields, duration, levelWeights, size, type CommonParams, type LevelWeights } from '../params';
import type { Scenario } from '../types';
import { KiB, Pool, formatBytes, pickByte, pickLevel, pickSize, whileUnavailable, type Reservation } from './model';

export interface BurstParams extends CommonParams {
  readonly idleMs: number;
  readonly burstCalls: number;
  readonly sizeMin: number;
  readonly sizeMax: number;
  readonly live: number;
  readonly keepFraction: number;
  readonly levels: LevelWeights;
}

const params = z
  .strictObject({
    ...commonFields({ durationMs: 30_000, rate: 5000 }),
    idleMs: duration().default(2000).describe('quiet time before each burst, ms or "2s"'),
    burstCalls: z.number().int().min(1).max(10_000_000).default(400).describe('host calls per burst (made at `rate`)'),
    sizeMin: size()
      .default(4 * KiB)
      .describe('smallest block'),
    sizeMax: size()
      .default(128 * KiB)
      .describe('largest block'),
    live: z.number().int().min(1).max(100_000).default(32).describe('most blocks alive at once during a burst'),
    keepFraction: z
      .number()
      .min(0)
      .max(1)
      .default(0.1)
      .describe("fraction of a burst's blocks kept until the next burst ends"),
    levels: levelWeights(
      { eTaskCritical: 0.8, eAppDomainCritical: 0.2, eProcessCritical: 0 },
      'weights of the critical levels of allocations',
    ),
  })
  .refine((p) => p.sizeMin <= p.sizeMax, { message: 'sizeMin must not exceed sizeMax' });

export const burst: Scenario<BurstParams> = {
  name: 'burst',
  description: 'Idle, then a short burst of allocations at a high rate; again and again.',
  params,
  async run(host, ctx, p) {
    const pool = new Pool(host, ctx);
    const rng = ctx.rng;
    const page = host.pageSize;
    let kept: Reservation[] = [];
    let bursts = 0;
    ctx.log(
      `burst: ${p.burstCalls} calls at ${p.rate}/s every ${p.idleMs} ms, ${formatBytes(p.sizeMin)}..${formatBytes(p.sizeMax)}`,
    );

    while (await ctx.sleep(p.idleMs)) {
      if (!(await whileUnavailable(host, ctx))) break;
      bursts++;
      const started = performance.now();
      const firstCall = ctx.elapsed();
      const stack: Reservation[] = [];
      let calls = 0;
      const counted = async (f: () => Promise<unknown>): Promise<void> => {
        await f();
        calls++;
      };
      while (calls < p.burstCalls && (await ctx.pace())) {
        const top = stack[stack.length - 1];
        if (top && (stack.length >= p.live || rng() < 0.4)) {
          // Free the newest, after checking it held what was written.
          const t = top;
          stack.pop();
          if (rng() < 0.5) await counted(() => pool.check(t, 0, 1));
          await counted(() => pool.release(t));
        } else {
          const bytes = pickSize(rng, p.sizeMin, p.sizeMax, page);
          let made: Reservation | undefined;
          await counted(async () => {
            made = await pool.reserve(bytes, pickLevel(rng, p.levels), 'burst/block', { commit: true });
          });
          const m = made;
          if (m) {
            stack.push(m);
            await counted(() => pool.fill(m, 0, 1, pickByte(rng)));
          }
        }
      }
      if (ctx.stopping) break; // the runner releases what is left
      // End of the burst: free the previous burst's survivors, keep a few of this one's.
      for (const r of kept) await pool.release(r);
      kept = [];
      for (const r of stack) {
        if (rng() < p.keepFraction) kept.push(r);
        else await pool.release(r);
      }
      ctx.log(
        `burst ${bursts}: ${calls} calls in ${Math.round(performance.now() - started)} ms (at ${Math.round(firstCall)} ms), ` +
          `${kept.length} block(s) kept`,
      );
    }
  },
};
