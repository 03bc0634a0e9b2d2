import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The browser client's page script (echo-test.ts and the typed checks it imports from src/) as
 * one classic script, beside the compiled run-browser.js that serves it.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../../../../dist/interop/browser', import.meta.url)),
    // tsc wrote run-browser.js and the rest there already.
    emptyOutDir: false,
    target: 'es2022',
    sourcemap: false,
    // Read in the browser's console when a cell fails: kept readable.
    minify: false,
    lib: {
      entry: fileURLToPath(new URL('./echo-test.ts', import.meta.url)),
      formats: ['iife'],
      name: 'webrtcEchoPageScript',
      fileName: () => 'page-script.js',
    },
  },
});
