// Vitest runs the renderer's tests only (Vue components and stores, in happy-dom). Backend code (native/, main/)
// is tested with node:test instead, because the same compiled files must also run under Windows Node in Wine.
import { fileURLToPath } from 'node:url';
import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [vue()],
  test: {
    include: ['renderer/**/*.spec.ts'],
    environment: 'happy-dom',
    passWithNoTests: true,
  },
});
