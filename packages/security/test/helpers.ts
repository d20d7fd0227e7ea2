import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export async function tempDir(): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'clinic-mesh-security-'))
  return { path, remove: () => rm(path, { recursive: true, force: true }) }
}

/** Small scrypt cost for tests (the defaults take ~0.25 s per derivation). */
export const TEST_SCRYPT = { N: 2 ** 10, r: 8, p: 1 } as const
