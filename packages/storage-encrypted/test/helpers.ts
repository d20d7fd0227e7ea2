import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Keyring, generateDataKey } from '@clinic-mesh/security'

export async function freshKeyring(id = 1): Promise<Keyring> {
  return new Keyring((await generateDataKey(id)).dataKey)
}

/** Every file under `dir`, recursively, with its bytes. */
export async function allFiles(dir: string): Promise<{ path: string; bytes: Buffer }[]> {
  const out: { path: string; bytes: Buffer }[] = []
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue
    const path = join(entry.parentPath, entry.name)
    out.push({ path, bytes: await readFile(path) })
  }
  return out
}

/** Small scrypt cost for tests (the defaults take ~0.25 s per derivation). */
export const TEST_SCRYPT = { N: 2 ** 10, r: 8, p: 1 } as const
