import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createKeyFile, openKeyFile, rotateKeyFile } from '@clinic-mesh/security'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { TEST_SCRYPT, tempDir } from './helpers.js'

// Opening the data written under a key file, rotation and re-encryption: @clinic-mesh/storage-encrypted's
// test/key-file-storage.test.ts (the encrypted adapter depends on this package, not the reverse).

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
    const file = JSON.parse(await readFile(path, 'utf8')) as {
      kdf: { alg: string; N: number }
      keys: { wrapped: string }[]
    }
    expect(file.kdf).toMatchObject({ alg: 'scrypt', N: TEST_SCRYPT.N })
    expect(file.keys[0]?.wrapped).toHaveLength((12 + 32 + 16) * 2)
  })

  it('refuses to overwrite an existing key file, and names missing and malformed files', async () => {
    await createKeyFile(path, SECRET, { scrypt: TEST_SCRYPT })
    await expect(createKeyFile(path, SECRET, { scrypt: TEST_SCRYPT })).rejects.toMatchObject({
      name: 'KeyFileError',
      reason: 'exists',
    })
    await expect(openKeyFile(join(dir.path, 'nope.key'), SECRET)).rejects.toMatchObject({
      name: 'KeyFileError',
      reason: 'missing',
    })
    await writeFile(join(dir.path, 'bad.key'), '{"format":"something-else"}')
    await expect(openKeyFile(join(dir.path, 'bad.key'), SECRET)).rejects.toMatchObject({
      name: 'KeyFileError',
      reason: 'malformed',
    })
  })

  it('a wrapped key relabelled with another id does not unwrap', async () => {
    await createKeyFile(path, SECRET, { scrypt: TEST_SCRYPT })
    await rotateKeyFile(path, SECRET)
    const file = JSON.parse(await readFile(path, 'utf8')) as { keys: { id: number; wrapped: string }[] }
    const [k1, k2] = file.keys
    if (!k1 || !k2) throw new Error('expected two keys')
    ;[k1.wrapped, k2.wrapped] = [k2.wrapped, k1.wrapped]
    await writeFile(path, JSON.stringify(file))
    await expect(openKeyFile(path, SECRET)).rejects.toMatchObject({
      name: 'KeyFileError',
      reason: 'wrong-secret',
    })
  })
})
