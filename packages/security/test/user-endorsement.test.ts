import type { Role, UserId } from '@clinic-mesh/contracts'
import { ed25519 } from '@noble/curves/ed25519.js'
import { describe, expect, it } from 'vitest'
import {
  changePassword,
  createUser,
  endorseUser,
  endorsedUsers,
  nextVersion,
  reconcileUsers,
  unlockSigningKey,
  withoutVerifiers,
  type EndorsedUserRecord,
  type UserHighWater,
  type UserRegister,
} from '@clinic-mesh/security'
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
    const nurse = endorseUser(
      'usr_nurse' as UserId,
      await user('usr_nurse', 'nurse'),
      await keyOf('usr_admin', admin),
    )
    const rogue = await user('usr_rogue', 'admin') // a member device wrote it, nobody endorsed it
    const selfMade = await user('usr_self', 'admin')
    const selfEndorsed = endorseUser('usr_self' as UserId, selfMade, await keyOf('usr_self', selfMade))
    const promoted = { ...nurse, role: 'supervisor' as Role } // endorsed as a nurse, edited afterwards
    const byNurse = endorseUser(
      'usr_friend' as UserId,
      await user('usr_friend', 'clinician'),
      await keyOf('usr_nurse', nurse),
    )
    const register: UserRegister = {
      users: {
        usr_admin: admin,
        usr_nurse: nurse,
        usr_rogue: rogue,
        usr_self: selfEndorsed,
        usr_promoted: promoted,
        usr_friend: byNurse,
      },
    }
    expect(Object.keys(endorsedUsers(register, roots).users).sort()).toEqual(['usr_admin', 'usr_nurse'])
    // under another clinic's root nothing holds
    expect(
      endorsedUsers(register, [hex(ed25519.getPublicKey(ed25519.utils.randomSecretKey()))]).users,
    ).toEqual({})
  })

  it('the user alone sets their password: their own change stays valid, a swapped password verifier does not', async () => {
    const admin = endorseUser('usr_admin' as UserId, await user('usr_admin', 'admin'), root)
    const nurse = endorseUser(
      'usr_nurse' as UserId,
      await user('usr_nurse', 'nurse'),
      await keyOf('usr_admin', admin),
    )
    const changed = await changePassword(
      'usr_nurse' as UserId,
      nurse,
      'usr_nurse-password',
      'a-new-password',
      TEST_SCRYPT,
    )
    const stranger = await user('usr_other', 'nurse') // an attacker's own password verifier and key wrap
    const swapped = {
      ...nurse,
      passwordHash: stranger.passwordHash,
      wrappedSigningKey: stranger.wrappedSigningKey,
    }
    expect(
      Object.keys(endorsedUsers({ users: { usr_admin: admin, usr_nurse: changed } }, roots).users).sort(),
    ).toEqual(['usr_admin', 'usr_nurse'])
    expect(
      Object.keys(endorsedUsers({ users: { usr_admin: admin, usr_nurse: swapped } }, roots).users),
    ).toEqual(['usr_admin'])
  })

  it('drops what a disabled admin endorsed, and a copy of an admin key does not shadow the real admin', async () => {
    const admin = endorseUser('usr_admin' as UserId, await user('usr_admin', 'admin'), root)
    const adminKey = await keyOf('usr_admin', admin)
    const clerk = endorseUser('usr_clerk' as UserId, await user('usr_clerk', 'registration'), adminKey)
    const shadow = { ...(await user('usr_shadow', 'admin')), publicKey: admin.publicKey }
    const live = endorsedUsers({ users: { usr_shadow: shadow, usr_admin: admin, usr_clerk: clerk } }, roots)
    expect(Object.keys(live.users).sort()).toEqual(['usr_admin', 'usr_clerk'])
    const disabled = endorseUser('usr_admin' as UserId, { ...admin, status: 'disabled' }, root)
    expect(
      Object.keys(endorsedUsers({ users: { usr_admin: disabled, usr_clerk: clerk } }, roots).users),
    ).toEqual(['usr_admin'])
  })
})

describe('versions: a holder never goes back to an older record it verified', () => {
  const reg = (users: Record<string, EndorsedUserRecord>): UserRegister => ({ users })

  async function clinic(): Promise<{
    admin: EndorsedUserRecord
    adminKey: Uint8Array
    bob: EndorsedUserRecord
  }> {
    const admin = endorseUser('usr_admin' as UserId, await user('usr_admin', 'admin'), root)
    const adminKey = await keyOf('usr_admin', admin)
    const bob = endorseUser('usr_bob' as UserId, await user('usr_bob', 'pharmacist'), adminKey)
    return { admin, adminKey, bob }
  }

  it('records carry version 1 and credential version 1; an admin change and a password change count up apart', async () => {
    const { admin, adminKey, bob } = await clinic()
    expect([bob.version, bob.credentialVersion]).toEqual([1, 1])
    const disabled = endorseUser(
      'usr_bob' as UserId,
      { ...bob, status: 'disabled', version: nextVersion(bob) },
      adminKey,
    )
    expect([disabled.version, disabled.credentialVersion]).toEqual([2, 1])
    const rewrapped = await changePassword(
      'usr_bob' as UserId,
      bob,
      'usr_bob-password',
      'bob-new-password',
      TEST_SCRYPT,
    )
    expect([
      rewrapped.version,
      rewrapped.credentialVersion,
      (rewrapped as EndorsedUserRecord).endorsement,
    ]).toEqual([1, 2, bob.endorsement])
    // a version edited after the endorsement breaks it (the version is in the endorsed bytes), likewise the credential version
    expect(
      Object.keys(endorsedUsers(reg({ usr_admin: admin, usr_bob: { ...bob, version: 7 } }), roots).users),
    ).toEqual(['usr_admin'])
    expect(
      Object.keys(
        endorsedUsers(reg({ usr_admin: admin, usr_bob: { ...rewrapped, credentialVersion: 9 } }), roots)
          .users,
      ),
    ).toEqual(['usr_admin'])
  })

  it('a disabled user written back as their earlier endorsed record stays disabled, also when it is the only record and after the state went through a file', async () => {
    const { admin, adminKey, bob } = await clinic()
    const disabled = endorseUser(
      'usr_bob' as UserId,
      { ...bob, status: 'disabled', version: nextVersion(bob) },
      adminKey,
    )
    const seen = reconcileUsers(reg({ usr_admin: admin, usr_bob: disabled }), {}, roots)
    expect(seen.users.users.usr_bob?.status).toBe('disabled')
    expect(seen.changed).toBe(true)
    // the attacker writes the earlier (validly endorsed, active) record back
    const rolledBack = reconcileUsers(reg({ usr_admin: admin, usr_bob: bob }), seen.held, roots)
    expect(rolledBack.users.users.usr_bob).toMatchObject({ status: 'disabled', version: 2 })
    expect(rolledBack.stale).toEqual(['usr_bob']) // the newer record may be written back
    expect(rolledBack.changed).toBe(false)
    // deleted from the document: still known, still disabled
    expect(reconcileUsers(reg({ usr_admin: admin }), seen.held, roots).users.users.usr_bob?.status).toBe(
      'disabled',
    )
    // a device keeps its state in a file without verifiers: the old record is still refused after a restart
    const fromFile = JSON.parse(JSON.stringify(withoutVerifiers(seen.held))) as UserHighWater
    expect(JSON.stringify(fromFile)).not.toContain(bob.passwordHash.hash)
    const afterRestart = reconcileUsers(reg({ usr_admin: admin, usr_bob: bob }), fromFile, roots)
    expect(afterRestart.users.users.usr_bob?.status).toBe('disabled')
    // a holder that never saw version 2 believes the document (what it can know)
    expect(
      reconcileUsers(reg({ usr_admin: admin, usr_bob: bob }), {}, roots).users.users.usr_bob?.status,
    ).toBe('active')
    // re-enabled by an admin (version 3): taken
    const back = endorseUser(
      'usr_bob' as UserId,
      { ...disabled, status: 'active', version: nextVersion(disabled) },
      adminKey,
    )
    expect(
      reconcileUsers(reg({ usr_admin: admin, usr_bob: back }), fromFile, roots).users.users.usr_bob,
    ).toMatchObject({ status: 'active', version: 3 })
  })

  it('an older password record of the user is refused once a newer one was verified', async () => {
    const { admin, bob } = await clinic()
    const changed = await changePassword(
      'usr_bob' as UserId,
      bob,
      'usr_bob-password',
      'bob-new-password',
      TEST_SCRYPT,
    )
    const seen = reconcileUsers(reg({ usr_admin: admin, usr_bob: changed }), {}, roots)
    expect(seen.users.users.usr_bob?.credentialVersion).toBe(2)
    // in memory the newest credentials stand in for the rolled-back ones
    const rolled = reconcileUsers(reg({ usr_admin: admin, usr_bob: bob }), seen.held, roots)
    expect(rolled.users.users.usr_bob?.passwordHash).toEqual(changed.passwordHash)
    // from a file without verifiers: the old password record is still refused (the user cannot sign in here until the
    // newer record is back in the document), never accepted
    const fromFile = withoutVerifiers(seen.held)
    const afterRestart = reconcileUsers(reg({ usr_admin: admin, usr_bob: bob }), fromFile, roots)
    expect(afterRestart.users.users.usr_bob).toBeUndefined()
    expect(afterRestart.held.usr_bob?.credential?.credentialVersion).toBe(2)
    expect(
      reconcileUsers(reg({ usr_admin: admin, usr_bob: changed }), fromFile, roots).users.users.usr_bob
        ?.passwordHash,
    ).toEqual(changed.passwordHash)
  })

  it('an admin change and a concurrent password change both survive: the halves are versioned apart', async () => {
    const { admin, adminKey, bob } = await clinic()
    const promoted = endorseUser(
      'usr_bob' as UserId,
      { ...bob, role: 'supervisor', version: nextVersion(bob) },
      adminKey,
    )
    const rewrapped = await changePassword(
      'usr_bob' as UserId,
      bob,
      'usr_bob-password',
      'bob-new-password',
      TEST_SCRYPT,
    )
    const a = reconcileUsers(reg({ usr_admin: admin, usr_bob: promoted }), {}, roots)
    const both = reconcileUsers(reg({ usr_admin: admin, usr_bob: rewrapped }), a.held, roots)
    expect(both.users.users.usr_bob).toMatchObject({
      role: 'supervisor',
      version: 2,
      credentialVersion: 2,
      passwordHash: rewrapped.passwordHash,
    })
    expect(both.stale).toEqual(['usr_bob'])
  })

  it('the same version with other content (two admins at once) is a conflict settled alike everywhere: disabled first, then the lower signature', async () => {
    const { admin, adminKey, bob } = await clinic()
    const admin2 = endorseUser('usr_admin2' as UserId, await user('usr_admin2', 'admin'), root)
    const admin2Key = await keyOf('usr_admin2', admin2)
    const disabled = endorseUser('usr_bob' as UserId, { ...bob, status: 'disabled', version: 2 }, adminKey)
    const promoted = endorseUser('usr_bob' as UserId, { ...bob, role: 'supervisor', version: 2 }, admin2Key)
    const base = { usr_admin: admin, usr_admin2: admin2 }
    for (const [first, second] of [
      [disabled, promoted],
      [promoted, disabled],
    ] as const) {
      const h = reconcileUsers(reg({ ...base, usr_bob: first }), {}, roots).held
      const r = reconcileUsers(reg({ ...base, usr_bob: second }), h, roots)
      expect(r.users.users.usr_bob?.status).toBe('disabled')
      expect(r.conflicts).toEqual(['usr_bob'])
    }
    // two role changes at the same version: the same winner whichever was held first
    const asClinician = endorseUser('usr_bob' as UserId, { ...bob, role: 'clinician', version: 2 }, adminKey)
    const winners = [
      [asClinician, promoted],
      [promoted, asClinician],
    ].map(
      ([x, y]) =>
        reconcileUsers(
          reg({ ...base, usr_bob: y! }),
          reconcileUsers(reg({ ...base, usr_bob: x! }), {}, roots).held,
          roots,
        ).users.users.usr_bob?.role,
    )
    expect(winners[0]).toBe(winners[1])
  })

  it('a forged record of a higher version (self-endorsed) neither wins nor knocks the real one out', async () => {
    const { admin, bob } = await clinic()
    const held = reconcileUsers(reg({ usr_admin: admin, usr_bob: bob }), {}, roots).held
    const forged = await user('usr_bob', 'admin')
    const selfEndorsed = endorseUser(
      'usr_bob' as UserId,
      { ...forged, version: 99 },
      await keyOf('usr_bob', forged),
    )
    const r = reconcileUsers(reg({ usr_admin: admin, usr_bob: selfEndorsed }), held, roots)
    expect(r.users.users.usr_bob).toMatchObject({ role: 'pharmacist', version: 1, publicKey: bob.publicKey })
    expect(r.changed).toBe(false)
  })

  it('users an admin disabled stay out when that admin is disabled in turn (no fall-back to the record before)', async () => {
    const { admin, adminKey, bob } = await clinic()
    const bobByRoot = endorseUser('usr_bob' as UserId, bob, root) // version 1, endorsed by the clinic key
    const disabled = endorseUser('usr_bob' as UserId, { ...bob, status: 'disabled', version: 2 }, adminKey)
    const h = reconcileUsers(reg({ usr_admin: admin, usr_bob: disabled }), {}, roots).held
    const adminGone = endorseUser('usr_admin' as UserId, { ...admin, status: 'disabled', version: 2 }, root)
    const r = reconcileUsers(reg({ usr_admin: adminGone, usr_bob: bobByRoot }), h, roots)
    expect(r.users.users.usr_bob).toBeUndefined()
    expect(r.held.usr_bob?.endorsed.version).toBe(2)
  })
})
