/**
 * The system-tray monitor: Electron's Tray, fed by the core's tray views (./core). The icon is one nativeImage with
 * a representation per size (16/20/24/32 px, i.e. 100–200 % scale), so Windows picks the sharp one for the
 * display; it is replaced only when a pixel changed, the tooltip only when its text did, the menu only when its
 * template did. The Tray object lives as long as the app (a collected Tray vanishes from the taskbar).
 */
import { Menu, nativeImage, Tray, type MenuItemConstructorOptions, type NativeImage } from 'electron';
import type { TrayView } from './core';
import type { TrayIconFrame } from './tray-icon';
import type { MenuItemSpec } from './tray-model';

export interface TrayHandlers {
  /** A menu item with this id was clicked (checkbox items: with their new state). */
  onMenu(id: string, checked: boolean): void;
  /** The icon itself was clicked (Windows: left click opens the window). */
  onClick(): void;
}

export interface TrayMonitor {
  update(view: TrayView): void;
  /** What the tray shows now (for the e2e test hook and the log). */
  describe(): { exists: boolean; tooltip: string; menuLabels: string[]; iconKey: string };
  /** A balloon / notification from the tray icon (Windows); false where there is none. */
  balloon(title: string, content: string): boolean;
  destroy(): void;
}

export function iconImage(frames: readonly TrayIconFrame[]): NativeImage {
  const image = nativeImage.createEmpty();
  const base = frames[0]?.size ?? 16;
  for (const frame of frames) {
    image.addRepresentation({
      scaleFactor: frame.size / base,
      buffer: frame.png,
      width: frame.size,
      height: frame.size,
    });
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

export function createTrayMonitor(first: TrayView, handlers: TrayHandlers): TrayMonitor {
  const tray = new Tray(iconImage(first.icon.frames));
  let tooltip = first.tooltip;
  let menuKey = first.menuKey;
  let menu = first.menu;
  let iconKey = first.iconKey;
  tray.setToolTip(tooltip);
  tray.setContextMenu(Menu.buildFromTemplate(template(menu, handlers)));
  tray.on('click', () => handlers.onClick());

  return {
    update(view) {
      if (tray.isDestroyed()) return;
      if (view.icon.changed) {
        tray.setImage(iconImage(view.icon.frames));
      }
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
    describe() {
      return { exists: !tray.isDestroyed(), tooltip, menuLabels: labels(menu), iconKey };
    },
    balloon(title, content) {
      if (process.platform !== 'win32' || tray.isDestroyed()) return false;
      tray.displayBalloon({ title, content, iconType: 'info' });
      return true;
    },
    destroy() {
      if (!tray.isDestroyed()) tray.destroy();
    },
  };
}
