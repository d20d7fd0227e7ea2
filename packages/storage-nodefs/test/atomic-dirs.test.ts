import { rm } from 'node:fs/promises'
import * as fsp from 'node:fs/promises'
import { join } from 'node:path'
import { AtomicNodeFSStorageAdapter, TEMP_DIR } from '@clinic-mesh/storage-nodefs'
import { type TempDir, tempDir } from '@clinic-mesh/testing'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof fsp>()
  return { ...real, mkdir: vi.fn(real.mkdir) }
})

const DOC = '3WkbkQ7EkwY1Qrx9dz4Xp6bZ6SRg'
const bytes = (n: number): Uint8Array => new Uint8Array([n])

describe('AtomicNodeFSStorageAdapter directories', () => {
  let dir: TempDir
  beforeEach(async () => {
    dir = await tempDir('clinic-mesh-storage-dirs-')
    vi.mocked(fsp.mkdir).mockClear()
  })
  afterEach(async () => {
    await dir.remove()
  })

  it('makes each directory once, not twice per save', async () => {
    const adapter = new AtomicNodeFSStorageAdapter(dir.path)
    for (let i = 0; i < 20; i++) {
      await adapter.save([DOC, 'incremental', `c${i}`], bytes(i))
      if (i % 2) await adapter.remove([DOC, 'incremental', `c${i - 1}`]) // compaction removes chunks: files only
    }
    // the temp directory and the document's incremental directory: once each
    expect(vi.mocked(fsp.mkdir).mock.calls.length).toBe(2)
    expect(await adapter.load([DOC, 'incremental', 'c19'])).toEqual(bytes(19))
  })

  it('saves again after its directories were removed by removeRange or behind its back', async () => {
    const adapter = new AtomicNodeFSStorageAdapter(dir.path)
    await adapter.save([DOC, 'snapshot', 'a'], bytes(1))
    await adapter.removeRange([DOC])
    await adapter.save([DOC, 'snapshot', 'b'], bytes(2))
    expect(await adapter.load([DOC, 'snapshot', 'b'])).toEqual(bytes(2))
    // another process (or a person) deletes the document's directory and the temp directory
    await rm(join(dir.path, DOC.slice(0, 2)), { recursive: true, force: true })
    await rm(join(dir.path, TEMP_DIR), { recursive: true, force: true })
    await adapter.save([DOC, 'snapshot', 'c'], bytes(3))
    expect(await adapter.load([DOC, 'snapshot', 'c'])).toEqual(bytes(3))
    expect((await adapter.loadRange([DOC])).map((c) => c.key[2])).toEqual(['c'])
  })
})
