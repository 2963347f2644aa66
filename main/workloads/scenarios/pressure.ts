/**
 * `pressure`: ramps committed bytes into the commit limit with mixed critical levels, so that failures of all three
 * levels appear, in the order the thresholds imply: eTaskCritical first (its threshold, 0.90 of the limit by
 * default), then eAppDomainCritical (0.95), then eProcessCritical (1.00, after waiting processCriticalWaitMs),
 * which turns the host unavailable.
 *
 * Why the order is guaranteed: the ramp goes in rounds, and each round asks at every level in ascending order
 * (`levels` says how many requests per level per round); committed bytes only grow during a ramp; and every chunk
 * is smaller than the gap between two thresholds (larger chunks are clamped, and the log says so). So when a level
 * is first refused, every lower level was already refused earlier in the same round or before. (Other workloads
 * freeing memory on the same host at the same time can of course blur this.)
 *
 * The commit limit: pressure uses the host's. If the host has none, it sets `commitLimit` (default 64 MiB) for its
 * run and puts the previous policy back when it ends (unless someone changed the policy meanwhile); with
 * `commitLimit: null` it leaves the policy alone, says so in its log, and ends at once.
 *
 * When the host turns unavailable nothing can be freed (every call answers HOST_E_CLRNOTAVAILABLE), so
 * `onUnavailable` decides: `end` (default) logs and ends — the runner releases what pressure holds as soon as the
 * host is reset; `wait` waits for someone to reset the host, then releases `releaseFraction` of what it holds and
 * ramps again; `reset` calls host.reset() itself after `resetDelayMs`, then does the same.
 */
import { z } from 'zod';
import { LEVELS, hresultName, type HostPolicy, type LevelName } from '../../host';
import { commonFields, duration, size, type CommonParams } from '../params';
import type { Scenario } from '../types';
import { KiB, MiB, Pool, formatBytes, pickByte, pickSize } from './model';

export type OnUnavailable = 'end' | 'wait' | 'reset';

export interface PressureParams extends CommonParams {
  readonly commitLimit: number | null;
  readonly chunkMin: number;
  readonly chunkMax: number;
  readonly levels: Readonly<Record<LevelName, number>>;
  readonly fillFraction: number;
  readonly onUnavailable: OnUnavailable;
  readonly resetDelayMs: number;
  readonly releaseFraction: number;
}

const count = (n: number): z.ZodDefault<z.ZodNumber> => z.number().int().min(0).max(1000).default(n);

const params = z
  .strictObject({
    ...commonFields({ durationMs: 60_000, rate: 500 }),
    commitLimit: size(MiB)
      .nullable()
      .default(64 * MiB)
      .describe(
        'used only when the host has no commit limit: set for the run, the previous policy restored at the end; ' +
          'null: never touch the policy',
      ),
    chunkMin: size()
      .default(256 * KiB)
      .describe('smallest commit request'),
    chunkMax: size()
      .default(1 * MiB)
      .describe('largest commit request (clamped below the gap between two thresholds)'),
    levels: z
      .strictObject({ eTaskCritical: count(2), eAppDomainCritical: count(1), eProcessCritical: count(1) })
      .prefault({})
      .refine((l) => LEVELS.some((name) => l[name] > 0), { message: 'at least one level needs a count above 0' })
      .describe('requests per round at each level (a round asks eTask, then eAppDomain, then eProcess)'),
    fillFraction: z
      .number()
      .min(0)
      .max(1)
      .default(0.25)
      .describe('fraction of granted chunks written (Fill) and checked'),
    onUnavailable: z
      .enum(['end', 'wait', 'reset'])
      .default('end')
      .describe('when the host turns unavailable: end; wait for a reset; or reset it after resetDelayMs'),
    resetDelayMs: duration().default(1000).describe('with onUnavailable "reset": how long the host stays unavailable'),
    releaseFraction: z
      .number()
      .min(0)
      .max(1)
      .default(0.5)
      .describe('after a reset: fraction of its reservations released before ramping again'),
  })
  .refine((p) => p.chunkMin <= p.chunkMax, { message: 'chunkMin must not exceed chunkMax' });

export const pressure: Scenario<PressureParams> = {
  name: 'pressure',
  description: 'Ramps committed bytes into the commit limit: eTask, then eAppDomain, then eProcess failures.',
  params,
  async run(host, ctx, p) {
    const rng = ctx.rng;
    const page = host.pageSize;
    const previous = host.policy();
    let ours: HostPolicy | undefined;
    let limit = previous.commitLimit;
    if (limit === null) {
      if (p.commitLimit === null) {
        ctx.log('the host has no commit limit and commitLimit is null: nothing to press against; ending');
        return;
      }
      limit = p.commitLimit;
      ours = { ...previous, commitLimit: limit };
      host.setPolicy(ours);
      ctx.log(
        `the host has no commit limit: ${formatBytes(limit)} set for this run (the previous policy comes back at the end)`,
      );
    }
    try {
      await ramp(limit);
    } finally {
      if (ours && host.policy() === ours) {
        host.setPolicy(previous);
        ctx.log('the previous policy is back');
      }
    }

    async function ramp(limit: number): Promise<void> {
      const pool = new Pool(host, ctx);
      const th = host.policy().thresholds;
      const active = LEVELS.filter((l) => p.levels[l] > 0);
      let gap = Infinity;
      for (let i = 1; i < active.length; i++) gap = Math.min(gap, th[active[i]!] - th[active[i - 1]!]);
      let chunkMax = p.chunkMax;
      let chunkMin = p.chunkMin;
      const fit = Number.isFinite(gap) ? Math.floor((gap * limit) / page) * page : Infinity;
      if (fit < page) {
        ctx.log('the thresholds are too close together for this limit: the order of failures is not guaranteed');
      } else if (chunkMax >= fit) {
        chunkMax = Math.max(page, fit - page);
        chunkMin = Math.min(chunkMin, chunkMax);
        ctx.log(`chunks clamped to ${formatBytes(chunkMax)}: below the smallest gap between thresholds`);
      }
      ctx.log(
        `pressure: ramping into ${formatBytes(limit)} with ${formatBytes(chunkMin)}..${formatBytes(chunkMax)} chunks; ` +
          `thresholds ${LEVELS.map((l) => `${l} ${Math.round(th[l] * 100)}%`).join(', ')}`,
      );
      let firsts = new Set<LevelName>();
      let cycle = 1;
      for (;;) {
        for (let level = 0; level < LEVELS.length; level++) {
          const name = LEVELS[level]!;
          for (let k = 0; k < p.levels[name]; k++) {
            if (!(await ctx.pace())) return;
            const bytes = pickSize(rng, chunkMin, chunkMax, page);
            const r = await pool.reserve(bytes, level, `pressure/${name}`, { commit: true });
            if (r) {
              if (rng() < p.fillFraction) {
                await pool.fill(r, 0, r.pages, pickByte(rng));
                if (rng() < 0.5) await pool.check(r, 0, r.pages);
              }
            } else if (!firsts.has(name)) {
              firsts.add(name);
              const s = host.stats();
              const charged = s.committed + s.heap;
              ctx.log(
                `cycle ${cycle}: first ${name} failure, ${hresultName(pool.lastHr)} for ${formatBytes(bytes)} with ` +
                  `${formatBytes(charged)} charged (${((100 * charged) / limit).toFixed(1)}% of ${formatBytes(limit)}; ` +
                  `threshold ${Math.round(th[name] * 100)}%)`,
              );
            }
            if (host.stats().state === 'unavailable') {
              if (!(await unavailable(pool))) return;
              firsts = new Set();
              cycle++;
            }
          }
        }
      }
    }

    /** The host turned unavailable: false to end, true to ramp again. */
    async function unavailable(pool: Pool): Promise<boolean> {
      ctx.log(
        `the host is unavailable (an eProcessCritical request failed); pressure holds ` +
          `${formatBytes(pool.committedBytes())} in ${pool.size} reservation(s)`,
      );
      if (p.onUnavailable === 'end') {
        ctx.log('onUnavailable "end": ending; what pressure holds is released once the host is reset');
        return false;
      }
      if (p.onUnavailable === 'reset') {
        if (!(await ctx.sleep(p.resetDelayMs))) return false;
        host.reset();
        ctx.log('host.reset() (onUnavailable "reset")');
      } else {
        ctx.log('onUnavailable "wait": waiting for someone to reset the host');
        while (host.stats().state !== 'available') if (!(await ctx.sleep(250))) return false;
        ctx.log('the host was reset');
      }
      const n = Math.ceil(pool.size * p.releaseFraction);
      let freed = 0;
      for (let i = 0; i < n && pool.size > 0; i++) {
        const victim = pool.list[Math.floor(rng() * pool.size)]!;
        freed += victim.committedPages * page;
        await pool.release(victim);
      }
      ctx.log(`released ${n} reservation(s) (${formatBytes(freed)}); ramping again`);
      return true;
    }
  },
};
