import { chmod, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { startPostgresCluster, tempDir } from '@clinic-mesh/testing'
import { describe, expect, it } from 'vitest'

describe('startPostgresCluster when PostgreSQL cannot start', () => {
  it('names the missing binaries with PostgresUnavailableError', async () => {
    const dir = await tempDir('clinic-mesh-no-pg-')
    try {
      await expect(startPostgresCluster({ binDir: dir.path })).rejects.toMatchObject({
        name: 'PostgresUnavailableError',
        message: expect.stringContaining(`no initdb/pg_ctl in ${dir.path}`),
      })
    } finally {
      await dir.remove()
    }
  })

  it("carries initdb's output when initdb fails", async () => {
    const dir = await tempDir('clinic-mesh-bad-pg-')
    try {
      await chmod(dir.path, 0o755) // the tools run as the postgres user when the tests run as root
      for (const tool of ['initdb', 'pg_ctl']) {
        const path = join(dir.path, tool)
        await writeFile(
          path,
          `#!/bin/sh\necho "${tool}: could not create directory: disk on fire" >&2\nexit 1\n`,
        )
        await chmod(path, 0o755)
      }
      const error: unknown = await startPostgresCluster({ binDir: dir.path }).catch((e: unknown) => e)
      expect(error).toMatchObject({ name: 'PostgresUnavailableError' })
      expect((error as { output: string }).output).toContain(
        'initdb: could not create directory: disk on fire',
      )
      expect((error as Error).message).toMatch(/initdb failed/)
    } finally {
      await dir.remove()
    }
  })
})
