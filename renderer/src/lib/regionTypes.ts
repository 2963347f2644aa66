/**
 * The colours of the region types, as Sysinternals VMMap draws them (so its users read the bar at a glance): image
 * purple, mapped file blue, shareable teal, heap red, stack orange, private data yellow, free pale. Free space is
 * the page's track colour, so it reads as empty in both themes.
 */
import type { ProcessRegionType } from '../api/contract';

export const REGION_TYPE_COLOURS: Readonly<Record<Exclude<ProcessRegionType, 'free'>, string>> = {
  image: '#a371f7',
  mapped: '#4f9be8',
  shareable: '#2aa198',
  heap: '#e5534b',
  stack: '#e3873b',
  private: '#e0c040',
};

/** A CSS colour for a type (free: the theme's track colour). */
export function regionTypeColour(type: ProcessRegionType): string {
  return type === 'free' ? 'var(--track)' : REGION_TYPE_COLOURS[type];
}
