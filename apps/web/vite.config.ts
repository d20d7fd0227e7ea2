import { defineConfig, type PluginOption } from 'vite'
import { svelte } from '@sveltejs/vite-plugin-svelte'
import wasm from 'vite-plugin-wasm'
import { fileURLToPath } from 'node:url'

// Workspace packages are compiled from their TypeScript sources ("source" export condition), so the web
// build does not depend on `tsc -b` having run first. Automerge's browser entry imports its .wasm module
// (vite-plugin-wasm); `esnext` keeps the top-level await that wasm instantiation needs.
export default defineConfig({
  plugins: [svelte(), wasm()],
  resolve: { conditions: ['source', 'browser', 'module', 'import', 'default'] },
  build: {
    target: 'esnext',
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 4000,
    // review.html: the reviewer console, served by the relay (talks only to the relay's JSON API)
    rollupOptions: {
      input: {
        index: fileURLToPath(new URL('index.html', import.meta.url)),
        review: fileURLToPath(new URL('review.html', import.meta.url)),
      },
    },
  },
  worker: { format: 'es', plugins: (): PluginOption[] => [wasm() as PluginOption] },
  server: {
    proxy: { '/api': 'http://127.0.0.1:4100', '/sync': { target: 'ws://127.0.0.1:4100', ws: true } },
  },
})
