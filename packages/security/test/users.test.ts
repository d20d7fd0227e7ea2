import * as Automerge from '@automerge/automerge'
import type { UserId } from '@clinic-mesh/contracts'
import {
  type UserRegister,
  changePassword,
  createUser,
  unlockSigningKey,
  verifyPassword,
} from '@clinic-mesh/security'
import { ed25519 } from '@noble/curves/ed25519.js'
import { hexToBytes } from '@noble/hashes/utils.js'
import { describe, expect, it } from 'vitest'
import { TEST_SCRYPT } from './helpers.js'

const AMINA = 'u_amina' as UserId

describe('user register', () => {
  it('stores a per-user salted scrypt verifier, never the password, and verifies it', async () => {
    const a = await createUser({
      userId: AMINA,
      name: 'Amina',
      role: 'nurse',
      password: 'triage-morning-42',
      scrypt: TEST_SCRYPT,
    })
    const b = await createUser({
      userId: 'u_b' as UserId,
      name: 'B',
      role: 'nurse',
      password: 'triage-morning-42',
      scrypt: TEST_SCRYPT,
    })
    expect(a.passwordHash).toMatchObject({ alg: 'scrypt', N: 1024, r: 8, p: 1 })
    expect(a.passwordHash.salt).not.toBe(b.passwordHash.salt)
    expect(a.passwordHash.hash).not.toBe(b.passwordHash.hash) // same password, different users: no shared hash
    expect(JSON.stringify(a)).not.toContain('triage-morning-42')
    expect(await verifyPassword(a, 'triage-morning-42')).toBe(true)
    expect(await verifyPassword(a, 'triage-morning-43')).toBe(false)
  })

  it('refuses short passwords', async () => {
    await expect(
      createUser({ userId: AMINA, name: 'Amina', role: 'nurse', password: 'short', scrypt: TEST_SCRYPT }),
    ).rejects.toMatchObject({
      name: 'InvalidPasswordError',
    })
  })

  it('the signing key unlocks only with the password and matches the public key; the verifier alone does not unwrap it', async () => {
    const rec = await createUser({
      userId: AMINA,
      name: 'Amina',
      role: 'clinician',
      password: 'ward-round-2024',
      scrypt: TEST_SCRYPT,
    })
    const sk = await unlockSigningKey(AMINA, rec, 'ward-round-2024')
    const msg = new TextEncoder().encode('rx hash')
    expect(ed25519.verify(ed25519.sign(msg, sk), msg, hexToBytes(rec.publicKey))).toBe(true)
    // the stored verifier is not the wrapping key: using it as the AES key fails
    const wrapped = hexToBytes(rec.wrappedSigningKey.data)
    const asKey = await crypto.subtle.importKey('raw', hexToBytes(rec.passwordHash.hash), 'AES-GCM', false, [
      'decrypt',
    ])
    const aad = new TextEncoder().encode(`clinic-mesh/user-key/v1:${AMINA}:${rec.publicKey}`)
    await expect(
      crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: wrapped.slice(0, 12), additionalData: aad },
        asKey,
        wrapped.slice(12),
      ),
    ).rejects.toThrow()
    await expect(unlockSigningKey(AMINA, rec, 'ward-round-2025')).rejects.toMatchObject({
      name: 'InvalidPasswordError',
    })
    // someone who copies the record to another user id cannot unwrap it there (id bound to the wrap)
    await expect(unlockSigningKey('u_mallory' as UserId, rec, 'ward-round-2024')).rejects.toMatchObject({
      name: 'DecryptionError',
    })
  })

  it('changePassword keeps the signing key, drops the old password', async () => {
    const rec = await createUser({
      userId: AMINA,
      name: 'Amina',
      role: 'clinician',
      password: 'ward-round-2024',
      scrypt: TEST_SCRYPT,
    })
    const next = await changePassword(AMINA, rec, 'ward-round-2024', 'night-shift-2025')
    expect(next.publicKey).toBe(rec.publicKey)
    expect(await verifyPassword(next, 'ward-round-2024')).toBe(false)
    const sk = await unlockSigningKey(AMINA, next, 'night-shift-2025')
    expect(Buffer.from(ed25519.getPublicKey(sk)).toString('hex')).toBe(rec.publicKey)
    await expect(changePassword(AMINA, rec, 'wrong-old-password', 'x-new-password')).rejects.toMatchObject({
      name: 'InvalidPasswordError',
    })
  })

  it('a record round-trips through an Automerge document (the synced register)', async () => {
    const rec = await createUser({
      userId: AMINA,
      name: 'Amina',
      role: 'nurse',
      password: 'triage-morning-42',
      scrypt: TEST_SCRYPT,
    })
    let doc = Automerge.from<UserRegister>({ users: {} })
    doc = Automerge.change(doc, (d) => {
      d.users[AMINA] = rec
    })
    const synced = Automerge.load<UserRegister>(Automerge.save(doc))
    const back = synced.users[AMINA]
    if (!back) throw new Error('user missing after sync')
    expect(await verifyPassword(back, 'triage-morning-42')).toBe(true)
  })
})
