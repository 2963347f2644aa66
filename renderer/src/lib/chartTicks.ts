/**
 * Chart axes a person can read: byte ticks at round binary steps, all in one unit (0, 256, 512, 768 MiB — not 47.7,
 * 95.4, 954 MiB or a mix of MiB and GiB), and time ticks at round steps of seconds or minutes, none repeated.
 */
import { byteUnit, UNIT_SPACE } from '../api/contract';
import { formatNumber } from './format';

/** Powers of 1024 a tick may be written in (B … TiB). */
const MAX_UNIT = 4;

export interface ByteTicks {
  /** The tick values, from 0 up to the first tick at or above the maximum. */
  readonly values: readonly number[];
  /** The power of 1024 every tick is written in. */
  readonly unit: number;
}

/** About `count` ticks from 0 to at least `max`, a power-of-two step of the unit of the largest (× 1/4, 1/2, 1…). */
export function byteTicks(max: number, count = 5): ByteTicks {
  const top = Math.max(max, 1);
  let step = 1;
  while (step * count < top) step *= 2;
  // A step of 768 MiB reads badly; a power of two of bytes is always a round figure in binary units.
  const last = Math.ceil(top / step) * step;
  const values: number[] = [];
  for (let v = 0; v <= last; v += step) values.push(v);
  let unit = 0;
  while (unit < MAX_UNIT && last >= 1024 ** (unit + 1)) unit++;
  return { values, unit };
}

/** A byte tick in the axis's unit: `0.25 GiB`, `512 MiB`. */
export function formatByteTick(value: number, unit: number, locale: string): string {
  return `${formatNumber(value / 1024 ** unit, locale, 2)}${UNIT_SPACE}${byteUnit(unit, locale)}`;
}

const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200].map((s) => s * 1000);

/** Time ticks (ms) at a round step between `min` and `max`, at most `count` of them, each on a whole step. */
export function timeTicks(min: number, max: number, count = 8): number[] {
  const span = Math.max(0, max - min);
  const step = TIME_STEPS.find((s) => span / s <= count) ?? TIME_STEPS[TIME_STEPS.length - 1]!;
  const out: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max; v += step) out.push(v);
  return out;
}
