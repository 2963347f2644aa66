// The renderer's view of the preload bridge (`window.hostmem`, set by preload/index.ts). Outside Electron — a plain
// browser, the tests — there is none.
export interface HostmemBridge {
  readonly versions: {
    readonly electron: string;
    readonly chrome: string;
    readonly node: string;
  };
}

declare global {
  interface Window {
    readonly hostmem?: HostmemBridge;
  }
}

export function getBridge(): HostmemBridge | null {
  return typeof window !== 'undefined' && window.hostmem ? window.hostmem : null;
}
