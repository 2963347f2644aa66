/**
 * The Electron IPC channels of the contract. Kept apart from `index.ts` (which brings zod) so that the sandboxed
 * preload, bundled into one script, carries only these names; main validates every message with the contract.
 */
export const IPC_CHANNELS = Object.freeze({
  /** renderer → main, `ipcRenderer.invoke`: `{ method, params }` → `{ ok: true, value } | { ok: false, error }`. */
  call: 'hostmem:call',
  /** renderer → main, `ipcRenderer.send`: start (or restart, after a reload) this page's pushes; the first is full. */
  subscribe: 'hostmem:subscribe',
  /** main → renderer, `webContents.send`: one `Push`. */
  push: 'hostmem:push',
} as const);

export type IpcChannel = (typeof IPC_CHANNELS)[keyof typeof IPC_CHANNELS];
