/**
 * The names of the summary by type and its row shapes, with no value import: the contract (bundled by the renderer)
 * may import this file.
 */

/** The types a region is counted under, in the order VMMap shows them. */
export const REGION_TYPES = ['image', 'mapped', 'shareable', 'heap', 'stack', 'private', 'free'] as const;
export type RegionTypeName = (typeof REGION_TYPES)[number];

/** What a person reads for each type (VMMap's own words). */
export const REGION_TYPE_TITLES: Readonly<Record<RegionTypeName, string>> = {
  image: 'Image',
  mapped: 'Mapped file',
  shareable: 'Shareable',
  heap: 'Heap',
  stack: 'Stack',
  private: 'Private data',
  free: 'Free',
};

export interface TypeTotals {
  /** Bytes of address space. */
  readonly size: number;
  readonly committed: number;
  /** Null when the OS gave no resident figure for any region of the type. */
  readonly resident: number | null;
  readonly private: number | null;
  readonly regions: number;
}

export interface TypeSummary {
  readonly byType: Readonly<Record<RegionTypeName, TypeTotals>>;
  /** Every type but `free`. */
  readonly total: TypeTotals;
}
