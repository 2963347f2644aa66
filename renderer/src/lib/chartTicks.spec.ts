import { describe, expect, it } from 'vitest';
import { byteTicks, formatByteTick, timeTicks } from './chartTicks';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

describe('byteTicks', () => {
  it('steps by a power of two and writes every tick in one unit', () => {
    const t = byteTicks(1.12 * GiB);
    expect(t.values).toEqual([0, 256 * MiB, 512 * MiB, 768 * MiB, GiB, 1.25 * GiB]);
    expect(t.unit).toBe(3);
    expect(t.values.map((v) => formatByteTick(v, t.unit, 'en').replace('\u00a0', ' '))).toEqual([
      '0 GiB',
      '0.25 GiB',
      '0.5 GiB',
      '0.75 GiB',
      '1 GiB',
      '1.25 GiB',
    ]);
    const small = byteTicks(190 * MiB);
    expect(small.values.at(-1)).toBeGreaterThanOrEqual(190 * MiB);
    expect(small.values.map((v) => formatByteTick(v, small.unit, 'fr').replace('\u00a0', ' '))).toEqual([
      '0 Mio',
      '64 Mio',
      '128 Mio',
      '192 Mio',
    ]);
  });
  it('has a tick above zero for an empty chart', () => {
    expect(byteTicks(0).values.length).toBeGreaterThan(1);
  });
});

describe('timeTicks', () => {
  it('never repeats a second and labels the first seconds', () => {
    const t0 = Date.UTC(2026, 0, 1, 12, 0, 0, 400);
    const ticks = timeTicks(t0, t0 + 3_000);
    expect(ticks).toEqual([t0 + 600, t0 + 1600, t0 + 2600]);
    expect(new Set(ticks.map((v) => Math.floor(v / 1000))).size).toBe(ticks.length);
    const long = timeTicks(t0, t0 + 600_000);
    expect(long.length).toBeLessThanOrEqual(8);
    expect(long.every((v) => v % 60_000 === 0)).toBe(true);
  });
});
