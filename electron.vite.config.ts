// electron-vite 6: the desktop app's three builds.
//   main      main/index.ts     → out/main/index.js   (ESM; package.json "main"; koffi stays in node_modules)
//   preload   preload/index.ts  → out/preload/index.cjs (CommonJS, everything bundled: sandboxed preloads cannot be ESM
//                                                        and cannot require anything but electron)
//   renderer  renderer/index.html → out/renderer/       (Vue 3)
// The `hostmem` command and the backend tests are built separately by scripts/build-node.mjs (plain Node).
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'electron-vite';
import type { Plugin } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

/**
 * renderer/index.html carries the production Content-Security-Policy. Vite's dev server injects <style> elements and
 * talks to the page over a WebSocket, so in `electron-vite dev` only, allow exactly that.
 */
function devServerCsp(): Plugin {
  return {
    name: 'hostmem:dev-server-csp',
    apply: 'serve',
    transformIndexHtml(html) {
      return html
        .replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
        .replace("connect-src 'self'", "connect-src 'self' ws: http:");
    },
  };
}

/** The commit being built, for hostmem_build_info (main/metrics/build-info.ts); `unknown` without git. */
function sourceRevision(): string {
  const git = spawnSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: root, encoding: 'utf8' });
  return git.status === 0 && git.stdout.trim() !== '' ? git.stdout.trim() : 'unknown';
}

export default defineConfig({
  main: {
    define: { __HOSTMEM_REVISION__: JSON.stringify(sourceRevision()) },
    build: {
      // package.json "dependencies" stay external (electron-builder ships them in node_modules); koffi must, as a
      // native addon that finds its per-platform binary next to itself.
      externalizeDeps: true,
      rolldownOptions: {
        input: { index: resolve(root, 'main/index.ts') },
        external: ['koffi'],
      },
    },
  },
  preload: {
    build: {
      externalizeDeps: false,
      rolldownOptions: {
        input: { index: resolve(root, 'preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve(root, 'renderer'),
    plugins: [vue(), devServerCsp()],
    build: {
      rolldownOptions: {
        input: { index: resolve(root, 'renderer/index.html') },
      },
    },
  },
});
