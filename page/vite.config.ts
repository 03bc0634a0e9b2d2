import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

// The echo server serves dist/page at `/`, but people also host the page elsewhere or
// open it under a sub-path, so every asset URL is relative (base './').
export default defineConfig({
  root: here,
  base: './',
  build: {
    outDir: fileURLToPath(new URL('../dist/page', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // One small page: no source maps shipped, no inlined-asset surprises.
    sourcemap: false,
    // Two pages: the Echo Test, and WHIP in / WHEP out.
    rollupOptions: { input: { main: `${here}index.html`, ingest: `${here}ingest.html` } },
  },
});
