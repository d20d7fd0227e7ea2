import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { NodeFSStorageAdapter } from '@automerge/automerge-repo-storage-nodefs'
import {
  EncryptedStorageAdapter,
  changeKeyFileSecret,
  createKeyFile,
  openKeyFile,
  retireKeyFromFile,
  rotateKeyFile,
} from '@clinic-mesh/security'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { TEST_SCRYPT, tempDir } from './helpers.js'

const DOC = '3WkbkQ7EkwY1Qrx9dz4Xp6bZ6SRg'
const SECRET = 'unlock passphrase of tablet 3'

describe('key file', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  let path: string
  beforeEach(async () => {
    dir = await tempDir()
    path = join(dir.path, 'device.key')
  })
  afterEach(async () => {
    await dir.remove()
  })

  it('holds only a wrapped key: the raw data key is nowhere in the file', async () => {
    await createKeyFile(path, SECRET, { scrypt: TEST_SCRYPT })
    const file = JSON.parse(await readFile(path, 'utf8')) as { kdf: { alg: string; N: number }; keys: { wrapped: string }[] }
    expect(file.kdf).toMatchObject({ alg: 'scrypt', N: TEST_SCRYPT.N })
    expect(file.keys[0]?.wrapped).toHaveLength((12 + 32 + 16) * 2)
  })

  it('the same secret reopens data written before; another secret is KeyFileError wrong-secret', async () => {
    const inner = new NodeFSStorageAdapter(join(dir.path, 'repo'))
    await new EncryptedStorageAdapter(inner, await createKeyFile(path, SECRET, { scrypt: TEST_SCRYPT })).save([DOC, 'x'], new Uint8Array([1, 2, 3]))
    const reopened = new EncryptedStorageAdapter(new NodeFSStorageAdapter(join(dir.path, 'repo')), await openKeyFile(path, SECRET))
    expect(await reopened.load([DOC, 'x'])).toEqual(new Uint8Array([1, 2, 3]))
    await expect(openKeyFile(path, 'unlock passphrase of tablet 4')).rejects.toMatchObject({ name: 'KeyFileError', reason: 'wrong-secret' })
  })

  it('refuses to overwrite an existing key file, and names missing and malformed files', async () => {
    await createKeyFile(path, SECRET, { scrypt: TEST_SCRYPT })
    await expect(createKeyFile(path, SECRET, { scrypt: TEST_SCRYPT })).rejects.toMatchObject({ name: 'KeyFileError', reason: 'exists' })
    await expect(openKeyFile(join(dir.path, 'nope.key'), SECRET)).rejects.toMatchObject({ name: 'KeyFileError', reason: 'missing' })
    await writeFile(join(dir.path, 'bad.key'), '{"format":"something-else"}')
    await expect(openKeyFile(join(dir.path, 'bad.key'), SECRET)).rejects.toMatchObject({ name: 'KeyFileError', reason: 'malformed' })
  })

  it('a wrapped key relabelled with another id does not unwrap', async () => {
    await createKeyFile(path, SECRET, { scrypt: TEST_SCRYPT })
    await rotateKeyFile(path, SECRET)
    const file = JSON.parse(await readFile(path, 'utf8')) as { keys: { id: number; wrapped: string }[] }
    const [k1, k2] = file.keys
    if (!k1 || !k2) throw new Error('expected two keys')
    ;[k1.wrapped, k2.wrapped] = [k2.wrapped, k1.wrapped]
    await writeFile(path, JSON.stringify(file))
    await expect(openKeyFile(path, SECRET)).rejects.toMatchObject({ name: 'KeyFileError', reason: 'wrong-secret' })
  })

  it('rotate, re-encrypt, retire: old chunks move to the new key and the old key leaves the file', async () => {
    const inner = new NodeFSStorageAdapter(join(dir.path, 'repo'))
    const adapter = new EncryptedStorageAdapter(inner, await createKeyFile(path, SECRET, { scrypt: TEST_SCRYPT }))
    await adapter.save([DOC, 'snapshot', 'a'], new Uint8Array([9, 9]))
    const k2 = await rotateKeyFile(path, SECRET)
    expect(k2.id).toBe(2)
    adapter.rotate(k2)
    expect((await openKeyFile(path, SECRET)).ids).toEqual([1, 2])
    expect(await adapter.reencrypt([[DOC]])).toMatchObject({ rewritten: 1 })
    await expect(retireKeyFromFile(path, SECRET, 2)).rejects.toMatchObject({ name: 'KeyFileError', reason: 'in-use' })
    await retireKeyFromFile(path, SECRET, 1)
    const after = await openKeyFile(path, SECRET)
    expect(after.ids).toEqual([2])
    expect(await new EncryptedStorageAdapter(new NodeFSStorageAdapter(join(dir.path, 'repo')), after).load([DOC, 'snapshot', 'a'])).toEqual(new Uint8Array([9, 9]))
  })

  it('changing the secret re-wraps the keys: the old secret stops working, the data does not change', async () => {
    const adapter = new EncryptedStorageAdapter(new NodeFSStorageAdapter(join(dir.path, 'repo')), await createKeyFile(path, SECRET, { scrypt: TEST_SCRYPT }))
    await adapter.save([DOC, 'x'], new Uint8Array([4]))
    await changeKeyFileSecret(path, SECRET, 'a new passphrase')
    await expect(openKeyFile(path, SECRET)).rejects.toMatchObject({ name: 'KeyFileError', reason: 'wrong-secret' })
    const reopened = new EncryptedStorageAdapter(new NodeFSStorageAdapter(join(dir.path, 'repo')), await openKeyFile(path, 'a new passphrase'))
    expect(await reopened.load([DOC, 'x'])).toEqual(new Uint8Array([4]))
  })
})
