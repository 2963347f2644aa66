/**
 * The shapes of a watched process as the UI and the reports see it: region rows, totals by type, samples, the end
 * of a watch and the diff of two walks. Types and a few constants only (no value import), so the contract — which
 * the renderer bundles — and main/reports both import them; main/service makes them from the inspector's walks
 * (main/reports/process.ts has the conversions).
 */
import { REGION_TYPES, type RegionTypeName, type TypeTotals } from '../inspect/types';

/** The region types, in the order VMMap lists them (the address-space bar and the summary table follow it). */
export const PROCESS_REGION_TYPES = REGION_TYPES;
export type ProcessRegionType = RegionTypeName;

/** A region's state, as VirtualQueryEx gives it (MEM_COMMIT / MEM_RESERVE / MEM_FREE). */
export const PROCESS_REGION_STATES = ['commit', 'reserve', 'free'] as const;
export type ProcessRegionState = (typeof PROCESS_REGION_STATES)[number];

/** Added / removed / grown lists of a process diff are capped at this many entries each (totals stay exact). */
export const MAX_PROCESS_DIFF_ENTRIES = 2000;

/** One region of a watched process, as the region table shows it. Keyed by `base`. */
export interface ProcessRegionRow {
  readonly base: number;
  readonly size: number;
  readonly state: ProcessRegionState;
  readonly type: ProcessRegionType;
  /** PAGE_* of the region (the OS's own flags on Windows, mapped from rwxp on Linux); 0 when none (free, reserved). */
  readonly protect: number;
  readonly committed: number;
  /** Resident bytes; null when the OS does not say per region. */
  readonly resident: number | null;
  /** Private (not shared) bytes; null when the OS does not say. */
  readonly private: number | null;
  /** The file mapped there (images, mapped files), or a pseudo-path such as `[heap]`; null when none. */
  readonly file: string | null;
}

/** One type's totals in a walk (the inspector's TypeTotals with its type). */
export interface ProcessTypeTotals extends TypeTotals {
  readonly type: ProcessRegionType;
}

/** One walk's figures over time, for the chart. */
export interface ProcessSample {
  /** ms since the epoch. */
  readonly t: number;
  readonly committed: number;
  /** Reserved address space (committed included). */
  readonly reserved: number;
  /** Null when the OS does not say per region. */
  readonly resident: number | null;
  readonly regions: number;
}

/** Why a watch ended or cannot go on. */
export interface ProcessEnd {
  /** `exited`: the process is gone; `access-denied`: the OS refused to read it; `failed`: another error. */
  readonly reason: 'exited' | 'access-denied' | 'failed';
  readonly time: number;
  /** What the OS said, in words (an errno / Win32 error name included). */
  readonly message: string;
}

export interface ProcessRegionChange {
  readonly before: ProcessRegionRow;
  readonly after: ProcessRegionRow;
}

/** Before, after and delta of a figure. */
export interface ProcessFigureDelta {
  readonly before: number;
  readonly after: number;
  readonly delta: number;
}

/** The diff of two snapshots of one process: regions added, removed, grown and shrunk; totals by type. */
export interface ProcessDiff {
  readonly pid: number;
  readonly from: { readonly id: number; readonly time: number; readonly label: string | null };
  readonly to: { readonly id: number; readonly time: number; readonly label: string | null };
  readonly added: readonly ProcessRegionRow[];
  readonly removed: readonly ProcessRegionRow[];
  /** Same base, more committed (or resident, or size) bytes after. */
  readonly grown: readonly ProcessRegionChange[];
  /** Same base, fewer committed bytes after. */
  readonly shrunk: readonly ProcessRegionChange[];
  readonly unchanged: number;
  readonly byType: readonly {
    readonly type: ProcessRegionType;
    readonly committed: ProcessFigureDelta;
    readonly size: ProcessFigureDelta;
    readonly regions: ProcessFigureDelta;
  }[];
  readonly totals: { readonly committed: ProcessFigureDelta; readonly reserved: ProcessFigureDelta };
  /** True when a list was cut at MAX_PROCESS_DIFF_ENTRIES. */
  readonly truncated: boolean;
}
