import type { Role, UserId } from '@clinic-mesh/contracts'
import { ed25519 } from '@noble/curves/ed25519.js'
import { describe, expect, it } from 'vitest'
import { changePassword, createUser, endorseUser, endorsedUsers, unlockSigningKey, type EndorsedUserRecord, type UserRegister } from '@clinic-mesh/security'
import { TEST_SCRYPT } from './helpers.js'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const root = ed25519.utils.randomSecretKey()
const roots = [hex(ed25519.getPublicKey(root))]

async function user(id: string, role: Role): Promise<EndorsedUserRecord> {
  return createUser({ userId: id as UserId, name: id, role, password: `${id}-password`, scrypt: TEST_SCRYPT })
}

async function keyOf(id: string, r: EndorsedUserRecord): Promise<Uint8Array> {
  return unlockSigningKey(id as UserId, r, `${id}-password`)
}

describe('user endorsements: only records vouched for by the clinic admin key, directly or through admins, count', () => {
  it('accepts a chain root → admin → nurse and refuses unendorsed, tampered and self-made records', async () => {
    const admin = endorseUser('usr_admin' as UserId, await user('usr_admin', 'admin'), root)
    const nurse = endorseUser('usr_nurse' as UserId, await user('usr_nurse', 'nurse'), await keyOf('usr_admin', admin))
    const rogue = await user('usr_rogue', 'admin') // a member device wrote it, nobody endorsed it
    const selfMade = await user('usr_self', 'admin')
    const selfEndorsed = endorseUser('usr_self' as UserId, selfMade, await keyOf('usr_self', selfMade))
    const promoted = { ...nurse, role: 'supervisor' as Role } // endorsed as a nurse, edited afterwards
    const byNurse = endorseUser('usr_friend' as UserId, await user('usr_friend', 'clinician'), await keyOf('usr_nurse', nurse))
    const register: UserRegister = { users: { usr_admin: admin, usr_nurse: nurse, usr_rogue: rogue, usr_self: selfEndorsed, usr_promoted: promoted, usr_friend: byNurse } }
    expect(Object.keys(endorsedUsers(register, roots).users).sort()).toEqual(['usr_admin', 'usr_nurse'])
    // under another clinic's root nothing holds
    expect(endorsedUsers(register, [hex(ed25519.getPublicKey(ed25519.utils.randomSecretKey()))]).users).toEqual({})
  })

  it('the user alone sets their password: their own change stays valid, a swapped password verifier does not', async () => {
    const admin = endorseUser('usr_admin' as UserId, await user('usr_admin', 'admin'), root)
    const nurse = endorseUser('usr_nurse' as UserId, await user('usr_nurse', 'nurse'), await keyOf('usr_admin', admin))
    const changed = await changePassword('usr_nurse' as UserId, nurse, 'usr_nurse-password', 'a-new-password', TEST_SCRYPT)
    const stranger = await user('usr_other', 'nurse') // an attacker's own password verifier and key wrap
    const swapped = { ...nurse, passwordHash: stranger.passwordHash, wrappedSigningKey: stranger.wrappedSigningKey }
    expect(Object.keys(endorsedUsers({ users: { usr_admin: admin, usr_nurse: changed } }, roots).users).sort()).toEqual(['usr_admin', 'usr_nurse'])
    expect(Object.keys(endorsedUsers({ users: { usr_admin: admin, usr_nurse: swapped } }, roots).users)).toEqual(['usr_admin'])
  })

  it('drops what a disabled admin endorsed, and a copy of an admin key does not shadow the real admin', async () => {
    const admin = endorseUser('usr_admin' as UserId, await user('usr_admin', 'admin'), root)
    const adminKey = await keyOf('usr_admin', admin)
    const clerk = endorseUser('usr_clerk' as UserId, await user('usr_clerk', 'registration'), adminKey)
    const shadow = { ...(await user('usr_shadow', 'admin')), publicKey: admin.publicKey }
    const live = endorsedUsers({ users: { usr_shadow: shadow, usr_admin: admin, usr_clerk: clerk } }, roots)
    expect(Object.keys(live.users).sort()).toEqual(['usr_admin', 'usr_clerk'])
    const disabled = endorseUser('usr_admin' as UserId, { ...admin, status: 'disabled' }, root)
    expect(Object.keys(endorsedUsers({ users: { usr_admin: disabled, usr_clerk: clerk } }, roots).users)).toEqual(['usr_admin'])
  })
})
