import { join } from 'node:path'
import { NodeFSStorageAdapter } from '@automerge/automerge-repo-storage-nodefs'
import {
  changeKeyFileSecret,
  createKeyFile,
  openKeyFile,
  retireKeyFromFile,
  rotateKeyFile,
} from '@clinic-mesh/security'
import { EncryptedStorageAdapter } from '@clinic-mesh/storage-encrypted'
import { type TempDir, tempDir } from '@clinic-mesh/testing'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { TEST_SCRYPT } from './helpers.js'

const DOC = '3WkbkQ7EkwY1Qrx9dz4Xp6bZ6SRg'
const SECRET = 'unlock passphrase of tablet 3'

describe('key file with the encrypted adapter', () => {
  let dir: TempDir
  let path: string
  beforeEach(async () => {
    dir = await tempDir()
    path = join(dir.path, 'device.key')
  })
  afterEach(async () => {
    await dir.remove()
  })

  it('the same secret reopens data written before; another secret is KeyFileError wrong-secret', async () => {
    const inner = new NodeFSStorageAdapter(join(dir.path, 'repo'))
    await new EncryptedStorageAdapter(inner, await createKeyFile(path, SECRET, { scrypt: TEST_SCRYPT })).save(
      [DOC, 'x'],
      new Uint8Array([1, 2, 3]),
    )
    const reopened = new EncryptedStorageAdapter(
      new NodeFSStorageAdapter(join(dir.path, 'repo')),
      await openKeyFile(path, SECRET),
    )
    expect(await reopened.load([DOC, 'x'])).toEqual(new Uint8Array([1, 2, 3]))
    await expect(openKeyFile(path, 'unlock passphrase of tablet 4')).rejects.toMatchObject({
      name: 'KeyFileError',
      reason: 'wrong-secret',
    })
  })

  it('rotate, re-encrypt, retire: old chunks move to the new key and the old key leaves the file', async () => {
    const inner = new NodeFSStorageAdapter(join(dir.path, 'repo'))
    const adapter = new EncryptedStorageAdapter(
      inner,
      await createKeyFile(path, SECRET, { scrypt: TEST_SCRYPT }),
    )
    await adapter.save([DOC, 'snapshot', 'a'], new Uint8Array([9, 9]))
    const k2 = await rotateKeyFile(path, SECRET)
    expect(k2.id).toBe(2)
    adapter.rotate(k2)
    expect((await openKeyFile(path, SECRET)).ids).toEqual([1, 2])
    expect(await adapter.reencrypt([[DOC]])).toMatchObject({ rewritten: 1 })
    await expect(retireKeyFromFile(path, SECRET, 2)).rejects.toMatchObject({
      name: 'KeyFileError',
      reason: 'in-use',
    })
    await retireKeyFromFile(path, SECRET, 1)
    const after = await openKeyFile(path, SECRET)
    expect(after.ids).toEqual([2])
    expect(
      await new EncryptedStorageAdapter(new NodeFSStorageAdapter(join(dir.path, 'repo')), after).load([
        DOC,
        'snapshot',
        'a',
      ]),
    ).toEqual(new Uint8Array([9, 9]))
  })

  it('changing the secret re-wraps the keys: the old secret stops working, the data does not change', async () => {
    const adapter = new EncryptedStorageAdapter(
      new NodeFSStorageAdapter(join(dir.path, 'repo')),
      await createKeyFile(path, SECRET, { scrypt: TEST_SCRYPT }),
    )
    await adapter.save([DOC, 'x'], new Uint8Array([4]))
    await changeKeyFileSecret(path, SECRET, 'a new passphrase')
    await expect(openKeyFile(path, SECRET)).rejects.toMatchObject({
      name: 'KeyFileError',
      reason: 'wrong-secret',
    })
    const reopened = new EncryptedStorageAdapter(
      new NodeFSStorageAdapter(join(dir.path, 'repo')),
      await openKeyFile(path, 'a new passphrase'),
    )
    expect(await reopened.load([DOC, 'x'])).toEqual(new Uint8Array([4]))
  })
})
