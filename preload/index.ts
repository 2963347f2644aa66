// Sandboxed preload (built to CommonJS): the only door between the renderer and main. It exposes a frozen object
// and nothing of Node or Electron itself. Its shape is `HostmemBridge` in renderer/src/bridge.ts; the typed
// main ↔ renderer contract module will replace both when the dashboard lands.
import { contextBridge } from 'electron';

const bridge = Object.freeze({
  versions: Object.freeze({
    electron: process.versions.electron,
    chrome: process.versions.chrome,
    node: process.versions.node,
  }),
});

contextBridge.exposeInMainWorld('hostmem', bridge);
