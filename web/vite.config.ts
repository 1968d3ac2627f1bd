import { defineConfig } from 'vite';

/**
 * The relay serves `web/dist` at `/`. `@rexec/shared` is read from its TypeScript source so a
 * web build never picks up a stale `shared/dist`.
 */
export default defineConfig({
  base: '/',
  resolve: {
    alias: { '@rexec/shared': decodeURIComponent(new URL('../shared/src/index.ts', import.meta.url).pathname) },
  },
  // Preact's automatic JSX runtime for .tsx files.
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
    target: 'es2022',
    chunkSizeWarningLimit: 1024,
  },
  server: {
    // `vite dev` against a relay on :8080 (see README).
    proxy: {
      '/api': 'http://127.0.0.1:8080',
      '/ws': { target: 'ws://127.0.0.1:8080', ws: true },
    },
  },
});
