import { defineConfig } from 'vitest/config';

// No @vitejs/plugin-react: esbuild compiles TSX with the automatic JSX runtime, which is all a
// production build needs (fast refresh is a dev-server nicety we do without).
export default defineConfig({
  esbuild: { jsx: 'automatic' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    // The bundle budget is 400 KB gzipped for the first load; Vite reports sizes on each build.
    chunkSizeWarningLimit: 1200,
    rollupOptions: {
      onwarn(w, warn) {
        // React Flow marks its entry "use client" (for React Server Components); meaningless here.
        if (w.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(w);
      },
    },
  },
  server: { proxy: { '/v1': 'http://127.0.0.1:8080' } },
  test: { environment: 'node', include: ['src/**/*.test.ts'] },
});
