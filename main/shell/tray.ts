/**
 * The system-tray monitor: Electron's Tray, fed by the core's tray views (./core). The icon is one nativeImage built
 * for the display's scale factor (./tray-scale: one bitmap at the display's size on Windows, which makes the icon
 * from the 1× bitmap alone; 1× plus the display's scale elsewhere) and rebuilt when that changes (`rescale`); it is
 * replaced only when a pixel changed, the tooltip only when its text did, the menu only when its template did. The
 * Tray object lives as long as the app (a collected Tray vanishes from the taskbar).
 */
import { Menu, nativeImage, Tray, type MenuItemConstructorOptions, type NativeImage } from 'electron';
import type { TrayView } from './core';
import type { TrayIconFrame } from './tray-icon';
import type { TrayRepresentation } from './tray-scale';
import type { MenuItemSpec } from './tray-model';

export interface TrayHandlers {
  /** A menu item with this id was clicked (checkbox items: with their new state). */
  onMenu(id: string, checked: boolean): void;
  /** The icon itself was clicked (Windows: left click opens the window). */
  onClick(): void;
  /** A balloon shown by `balloon` was clicked (Windows). */
  onBalloonClick(): void;
}

export interface TrayMonitor {
  update(view: TrayView): void;
  /**
   * Rebuild the menu from `view` even if its template did not change: a checkbox the user clicked has already flipped
   * in the native menu, and must flip back when the change it asked for failed.
   */
  refreshMenu(view: TrayView): void;
  /** What the tray shows now (for the e2e test hook and the log). */
  describe(): { exists: boolean; tooltip: string; menuLabels: string[]; iconKey: string };
  /** A balloon / notification from the tray icon (Windows); false where there is none. */
  balloon(title: string, content: string): boolean;
  /** Whether `balloon` shows anything here (Windows). */
  readonly hasBalloons: boolean;
  /** The display changed: build the image with these representations from `view` (drawn at their sizes). */
  rescale(representations: readonly TrayRepresentation[], view: TrayView): void;
  destroy(): void;
}

/**
 * The image for the tray: each representation from the frame drawn at its size. Null when a size is missing (a view
 * drawn for the previous display, before `rescale`): the tray keeps its image until the right frames come.
 */
export function iconImage(
  frames: readonly TrayIconFrame[],
  representations: readonly TrayRepresentation[],
): NativeImage | null {
  const image = nativeImage.createEmpty();
  for (const { size, scaleFactor } of representations) {
    const frame = frames.find((f) => f.size === size);
    if (!frame) return null;
    image.addRepresentation({ scaleFactor, buffer: frame.png, width: size, height: size });
  }
  return image;
}

function template(specs: readonly MenuItemSpec[], handlers: TrayHandlers): MenuItemConstructorOptions[] {
  return specs.map((spec): MenuItemConstructorOptions => {
    if (spec.type === 'separator') return { type: 'separator' };
    const item: MenuItemConstructorOptions = {
      type: spec.type,
      label: spec.label ?? '',
      enabled: spec.enabled ?? true,
    };
    if (spec.id !== undefined) item.id = spec.id;
    if (spec.type === 'checkbox') item.checked = spec.checked ?? false;
    if (spec.type === 'submenu') item.submenu = template(spec.submenu ?? [], handlers);
    else if (spec.id !== undefined) {
      const id = spec.id;
      item.click = (menuItem) => handlers.onMenu(id, menuItem.checked);
    }
    return item;
  });
}

function labels(specs: readonly MenuItemSpec[]): string[] {
  return specs.flatMap((s) => [...(s.label ? [s.label] : []), ...labels(s.submenu ?? [])]);
}

export function createTrayMonitor(
  first: TrayView,
  representations: readonly TrayRepresentation[],
  handlers: TrayHandlers,
): TrayMonitor {
  let shape = representations;
  const tray = new Tray(iconImage(first.icon.frames, shape) ?? nativeImage.createEmpty());
  let tooltip = first.tooltip;
  let menuKey = first.menuKey;
  let menu = first.menu;
  let iconKey = first.iconKey;
  tray.setToolTip(tooltip);
  tray.setContextMenu(Menu.buildFromTemplate(template(menu, handlers)));
  tray.on('click', () => handlers.onClick());
  tray.on('balloon-click', () => handlers.onBalloonClick());
  const hasBalloons = process.platform === 'win32';

  const setIcon = (view: TrayView): void => {
    const image = iconImage(view.icon.frames, shape);
    if (image) tray.setImage(image);
  };

  return {
    update(view) {
      if (tray.isDestroyed()) return;
      if (view.icon.changed) setIcon(view);
      iconKey = view.iconKey;
      if (view.tooltip !== tooltip) {
        tooltip = view.tooltip;
        tray.setToolTip(tooltip);
      }
      if (view.menuKey !== menuKey) {
        menuKey = view.menuKey;
        menu = view.menu;
        tray.setContextMenu(Menu.buildFromTemplate(template(menu, handlers)));
      }
    },
    refreshMenu(view) {
      if (tray.isDestroyed()) return;
      menuKey = view.menuKey;
      menu = view.menu;
      tray.setContextMenu(Menu.buildFromTemplate(template(menu, handlers)));
    },
    describe() {
      return { exists: !tray.isDestroyed(), tooltip, menuLabels: labels(menu), iconKey };
    },
    hasBalloons,
    rescale(next, view) {
      shape = next;
      if (!tray.isDestroyed()) setIcon(view);
    },
    balloon(title, content) {
      if (!hasBalloons || tray.isDestroyed()) return false;
      tray.displayBalloon({ title, content, iconType: 'info' });
      return true;
    },
    destroy() {
      if (!tray.isDestroyed()) tray.destroy();
    },
  };
}
