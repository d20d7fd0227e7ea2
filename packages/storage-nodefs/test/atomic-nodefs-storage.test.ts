import { pbkdf2 } from 'node:crypto'
import { mkdir, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { AtomicNodeFSStorageAdapter, TEMP_DIR } from '@clinic-mesh/storage-nodefs'
import { type TempDir, tempDir } from '@clinic-mesh/testing'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'

const DOC = '3WkbkQ7EkwY1Qrx9dz4Xp6bZ6SRg'
const bytes = (n: number): Uint8Array => new Uint8Array([n])

describe('AtomicNodeFSStorageAdapter', () => {
  let dir: TempDir
  beforeEach(async () => {
    dir = await tempDir('clinic-mesh-storage-nodefs-')
  })
  afterEach(async () => {
    await dir.remove()
  })

  it('keeps the stock file layout and leaves no temp file behind', async () => {
    const adapter = new AtomicNodeFSStorageAdapter(dir.path)
    await adapter.save([DOC, 'snapshot', 'a'], bytes(1))
    expect(await readdir(join(dir.path, DOC.slice(0, 2), DOC.slice(2), 'snapshot'))).toEqual(['a'])
    expect(await readdir(join(dir.path, TEMP_DIR))).toEqual([])
  })

  it('lists saved keys in save order, then chunks of an earlier run sorted by key', async () => {
    const first = new AtomicNodeFSStorageAdapter(dir.path)
    for (const name of ['m', 'c', 'x']) await first.save([DOC, 'incremental', name], bytes(1))
    const second = new AtomicNodeFSStorageAdapter(dir.path)
    await second.save([DOC, 'sync-state', 'z'], bytes(2))
    await second.save([DOC, 'incremental', 'm'], bytes(3)) // re-saved: takes its place in this run's order
    await second.save([DOC, 'snapshot', 'a'], bytes(4))
    const keys = (await second.loadRange([DOC])).map((c) => c.key.slice(1).join('/'))
    expect(keys).toEqual(['sync-state/z', 'incremental/m', 'snapshot/a', 'incremental/c', 'incremental/x'])
    await second.remove([DOC, 'sync-state', 'z'])
    await second.save([DOC, 'sync-state', 'z'], bytes(5)) // removed then saved again: last
    await second.removeRange([DOC, 'snapshot'])
    expect((await second.loadRange([DOC])).map((c) => c.key.slice(1).join('/'))).toEqual([
      'incremental/m',
      'sync-state/z',
      'incremental/c',
      'incremental/x',
    ])
  })

  it('saves and removes a small chunk without waiting for a busy thread pool (issue 17 #8)', async () => {
    const adapter = new AtomicNodeFSStorageAdapter(dir.path)
    await adapter.save([DOC, 'incremental', 'a'], bytes(1)) // its directories exist from now on
    // every thread of libuv's pool busy for a while (key stretching), as file operations of other documents would be
    const threads = Number(process.env['UV_THREADPOOL_SIZE'] ?? 4)
    const order: string[] = []
    const busy = Array.from(
      { length: threads },
      () =>
        new Promise<void>((resolve) =>
          pbkdf2('pw', 'salt', 300_000, 64, 'sha512', () => {
            order.push('pool')
            resolve()
          }),
        ),
    )
    await adapter.save([DOC, 'incremental', 'b'], bytes(2))
    await adapter.remove([DOC, 'incremental', 'a'])
    order.push('saved')
    await Promise.all(busy)
    expect(order[0]).toBe('saved')
    expect(await adapter.load([DOC, 'incremental', 'b'])).toEqual(bytes(2))
    expect(await adapter.load([DOC, 'incremental', 'a'])).toBeUndefined()
  })

  it('treats an empty chunk file (a write cut short by an older version) as absent', async () => {
    const adapter = new AtomicNodeFSStorageAdapter(dir.path)
    await adapter.save([DOC, 'snapshot', 'good'], bytes(1))
    const docDir = join(dir.path, DOC.slice(0, 2), DOC.slice(2), 'snapshot')
    await mkdir(docDir, { recursive: true })
    await writeFile(join(docDir, 'cut'), new Uint8Array())
    expect(await adapter.load([DOC, 'snapshot', 'cut'])).toBeUndefined()
    expect(await adapter.loadRange([DOC])).toEqual([{ key: [DOC, 'snapshot', 'good'], data: bytes(1) }])
  })

  it('a failed save leaves the chunk saved before it, and no temp file', async () => {
    const adapter = new AtomicNodeFSStorageAdapter(dir.path)
    await adapter.save([DOC, 'snapshot', 'a'], bytes(1))
    // a directory where the chunk file should go: the rename fails after the temp file was written
    await mkdir(join(dir.path, DOC.slice(0, 2), DOC.slice(2), 'snapshot', 'b', 'in-the-way'), {
      recursive: true,
    })
    await expect(adapter.save([DOC, 'snapshot', 'b'], bytes(2))).rejects.toMatchObject({
      code: expect.stringMatching(/^E/) as unknown,
    })
    expect(await readdir(join(dir.path, TEMP_DIR))).toEqual([])
    expect(await adapter.load([DOC, 'snapshot', 'a'])).toEqual(bytes(1))
  })
})
