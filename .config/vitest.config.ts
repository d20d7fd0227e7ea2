import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

// Tests run on sources: workspace packages resolve through their "source" export condition.
export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  // multi-process and browser scenarios run 20-40 s on a quiet 2-core box; a loaded one (CI) can take 2-3x that
  test: {
    include: ['packages/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
})
