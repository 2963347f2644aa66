/**
 * Which tray icon to draw for a display, as a pure function of its scale factor (no Electron here).
 *
 * The tray icon is 16 × 16 at 100 % (Windows' SM_CXSMICON; the macOS menu bar and Linux panels use about the same),
 * so a display at 125 % wants 20 px, 150 % 24 px, 200 % 32 px. How the image reaches the OS differs:
 *
 * - **Windows** builds the tray's HICON from the image's 1× bitmap only (Electron's `NativeImage::GetHICON` for an
 *   image not loaded from an .ico: `CreateHICONFromSkBitmap(image.AsBitmap())`), so extra representations are never
 *   used and a 16 px bitmap is blown up, blurry, above 100 %. There the image gets one representation: drawn at the
 *   display's size and declared 1×.
 * - **macOS and Linux** read the image in density-independent pixels: a 16 px 1× representation, plus one at the
 *   display's scale when it is above 1, which they pick for that display.
 *
 * The shell redraws when the display's scale factor changes (tray.ts, app.ts).
 */
import { trayIconGeometry } from './tray-icon';

/** The tray icon's size at 100 %, in pixels (= in density-independent pixels at any scale). */
export const TRAY_BASE_SIZE = 16;
/** The largest icon drawn (the drawing's own limit). */
export const TRAY_MAX_SIZE = 256;

/** One representation of the tray image: `size` pixels square, declared at `scaleFactor`. */
export interface TrayRepresentation {
  readonly size: number;
  readonly scaleFactor: number;
}

/**
 * The icon's pixel size on a display with `scaleFactor`: 16 × the factor, rounded to a whole pixel (100 % → 16,
 * 125 % → 20, 150 % → 24, 175 % → 28, 200 % → 32, 300 % → 48), never below 16 nor above 256. A factor that is not a
 * positive finite number (a display that reports nothing useful) counts as 1.
 */
export function trayIconSizeFor(scaleFactor: number): number {
  const factor = Number.isFinite(scaleFactor) && scaleFactor > 0 ? scaleFactor : 1;
  return Math.min(TRAY_MAX_SIZE, Math.max(TRAY_BASE_SIZE, Math.round(TRAY_BASE_SIZE * factor)));
}

/**
 * The representations of the tray image for a display with `scaleFactor`. `iconFromOneBitmap`: the OS turns the
 * image into an icon from its 1× bitmap alone (Windows).
 */
export function trayRepresentations(scaleFactor: number, iconFromOneBitmap: boolean): TrayRepresentation[] {
  const size = trayIconSizeFor(scaleFactor);
  trayIconGeometry(size); // a size the drawing supports (throws otherwise)
  if (iconFromOneBitmap) return [{ size, scaleFactor: 1 }];
  const base: TrayRepresentation = { size: TRAY_BASE_SIZE, scaleFactor: 1 };
  return size === TRAY_BASE_SIZE ? [base] : [base, { size, scaleFactor: size / TRAY_BASE_SIZE }];
}

/** The sizes to draw for these representations (what the core's icon cache is given). */
export function representationSizes(representations: readonly TrayRepresentation[]): number[] {
  return representations.map((r) => r.size);
}
