import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { AutomergeUrl, DocHandle } from '@automerge/automerge-repo'
import { ed25519 } from '@noble/curves/ed25519.js'
import type { EndorsedUserRecord, UserRegister } from '@clinic-mesh/security'
import { tempDir, type TempDir } from '@clinic-mesh/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DeviceCluster, pollDevice, testPassword, type DeviceProcess } from './helpers/device-process.js'
import { TestDevice } from './helpers/relay-device.js'
import { RelayProcess } from './helpers/relay-process.js'

interface Status {
  clinic: { id: string; directoryUrl: string }
}
interface ErrorReply {
  error: { name: string; message: string }
}
interface Users {
  users: { id: string; status: string }[]
  unendorsed: string[]
}

const admin = { name: 'admin', role: 'admin' }
const bob = { name: 'bob', role: 'pharmacist' }

/**
 * Any clinic member can write the user register (Automerge authorises no write) and an old record stays validly
 * signed: an admin disables a user, then a member writes the user's earlier, validly endorsed record back. Neither
 * the device (also after a restart) nor the relay (also after a restart) lets the user in again.
 */
describe('a disabled user written back as their earlier endorsed record stays disabled', () => {
  let dir: TempDir
  let relay: RelayProcess
  let cluster: DeviceCluster
  let desk: DeviceProcess
  let attacker: TestDevice | undefined
  let witness: TestDevice | undefined

  beforeAll(async () => {
    dir = await tempDir('user-rollback-')
    relay = await RelayProcess.start(dir.path)
    cluster = await DeviceCluster.start(['desk'], { relay: relay.syncUrl.replace(/\/sync$/, '') })
    desk = cluster.devices[0]!
    await desk.ready()
  })

  afterAll(async () => {
    await attacker?.close()
    await witness?.close()
    await cluster?.stop()
    await desk?.stop('SIGKILL')
    await relay?.stop('SIGKILL')
    await dir?.remove()
  })

  const signIn = (d: DeviceProcess) =>
    d.api<ErrorReply>('POST', '/api/login', { user: 'bob', password: testPassword('bob') }, { as: null })
  /** Bob signs in to the relay's reviewer console: 200 = bob passed, 403 = disabled. */
  const atRelay = (clinic: string) =>
    relay.api<ErrorReply>(
      'POST',
      '/api/login',
      { clinic, user: 'bob', password: testPassword('bob') },
      undefined,
      null,
    )

  it('on the device, also after a restart, and at the relay, also after a restart', async () => {
    const { id: clinic, directoryUrl } = (await desk.api<Status>('GET', '/api/status')).body.clinic
    await desk.token(bob) // the admin creates bob, who signs in
    expect((await signIn(desk)).status).toBe(200)
    const known = await pollDevice(
      async () => ((await atRelay(clinic)).status === 200 ? true : undefined),
      'the relay knows bob',
    )
    expect(known).toBe(true)

    // a clinic member gone rogue: an intruder registered at the relay with an enrolment the clinic admin key signed
    const file = JSON.parse(await readFile(desk.init.clinicFile ?? '', 'utf8')) as { adminSecretKey: string }
    const secretKey = Buffer.from(file.adminSecretKey, 'hex')
    attacker = new TestDevice(relay.syncUrl, clinic, 'intruder', {
      secretKey,
      publicKey: ed25519.getPublicKey(secretKey),
    })
    expect([200, 201]).toContain((await attacker.register(relay, directoryUrl)).status)
    await attacker.joinClinic(directoryUrl as AutomergeUrl)
    const register: DocHandle<UserRegister> = await attacker.repo.find<UserRegister>(
      attacker.directory.doc().users as string as AutomergeUrl,
    )
    const earlier = await pollDevice(
      () => Promise.resolve(register.doc()?.users.usr_bob),
      'bob’s record reached the intruder',
    )
    const earlierCopy = JSON.parse(JSON.stringify(earlier)) as EndorsedUserRecord
    expect(earlierCopy.status).toBe('active')

    // the admin disables bob (PATCH, a record endorsed at version 2)
    const patched = await desk.api<{ user: { status: string } }>(
      'PATCH',
      '/api/users/usr_bob',
      { status: 'disabled' },
      { as: admin },
    )
    expect([patched.status, patched.body.user.status]).toEqual([200, 'disabled'])
    const refused = await signIn(desk)
    expect([refused.status, refused.body.error.name]).toEqual([403, 'ForbiddenError'])
    await pollDevice(
      async () => ((await atRelay(clinic)).status === 403 ? true : undefined),
      'the relay refuses bob once disabled',
    )
    await pollDevice(
      () => Promise.resolve(register.doc()?.users.usr_bob?.status === 'disabled'),
      'the disabled record reached the intruder',
    )

    // the rollback: bob's earlier record written back (plus a record nobody endorsed, to see when the change arrived)
    const writeBack = (): void =>
      register.change((d) => {
        d.users.usr_bob = JSON.parse(JSON.stringify(earlierCopy)) as EndorsedUserRecord
        d.users[`usr_marker-${Date.now()}`] = JSON.parse(
          JSON.stringify({ ...earlierCopy, name: 'marker' }),
        ) as EndorsedUserRecord
      })
    writeBack()
    const seen = await pollDevice(async () => {
      const r = await desk.api<Users>('GET', '/api/users', undefined, { as: admin })
      return r.body.unendorsed.some((id) => id.startsWith('usr_marker-')) ? r.body : undefined
    }, 'the rollback reached the device')
    expect(seen.users.find((u) => u.id === 'usr_bob')?.status).toBe('disabled')
    const again = await signIn(desk)
    expect([again.status, again.body.error.name]).toEqual([403, 'ForbiddenError'])
    // the device writes the newest record back into the document
    await pollDevice(
      () => Promise.resolve(register.doc()?.users.usr_bob?.status === 'disabled'),
      'the device restored the disabled record',
    )

    // with the device down, the rollback again: the relay on its own refuses bob, also after a restart
    await desk.stop('SIGTERM')
    writeBack()
    await pollDevice(
      () => Promise.resolve(register.doc()?.users.usr_bob?.status === 'active'),
      'the intruder holds the rolled-back record',
    )
    // the change reached the relay: a second member fetching the register from it sees both markers
    const markers = (d: UserRegister | undefined): number =>
      Object.keys(d?.users ?? {}).filter((id) => id.startsWith('usr_marker-')).length
    const written = markers(register.doc())
    witness = new TestDevice(relay.syncUrl, clinic, 'witness', {
      secretKey,
      publicKey: ed25519.getPublicKey(secretKey),
    })
    expect([200, 201]).toContain((await witness.register(relay, directoryUrl)).status)
    await witness.joinClinic(directoryUrl as AutomergeUrl)
    const atRelayDoc = await witness.repo.find<UserRegister>(
      witness.directory.doc().users as string as AutomergeUrl,
    )
    await pollDevice(
      () => Promise.resolve(markers(atRelayDoc.doc()) === written || undefined),
      'the rollback reached the relay',
    )
    const atRelayAfter = await atRelay(clinic)
    expect([atRelayAfter.status, atRelayAfter.body.error.name]).toEqual([403, 'ForbiddenError'])
    await relay.stop('SIGTERM')
    relay = await RelayProcess.start(dir.path, relay.port)
    const afterRelayRestart = await pollDevice(async () => {
      const r = await atRelay(clinic)
      return r.status === 403 || r.status === 200 ? r : undefined
    }, 'the restarted relay answers')
    expect([afterRelayRestart.status, afterRelayRestart.body.error.name]).toEqual([403, 'ForbiddenError'])

    // the device restarts: its own record of the versions it verified still refuses the old record
    expect(JSON.parse(await readFile(join(desk.init.dataDir, 'user-versions.json'), 'utf8'))).toMatchObject({
      users: { usr_bob: { endorsed: { status: 'disabled', version: 2 } } },
    })
    desk = await desk.restart()
    cluster.devices[0] = desk
    await desk.ready()
    const afterRestart = await signIn(desk)
    expect([afterRestart.status, afterRestart.body.error.name]).toEqual([403, 'ForbiddenError'])
    const listed = await desk.api<Users>('GET', '/api/users', undefined, { as: admin })
    expect(listed.body.users.find((u) => u.id === 'usr_bob')?.status).toBe('disabled')
    // an admin re-enables bob (version 3): he signs in again
    const back = await desk.api('PATCH', '/api/users/usr_bob', { status: 'active' }, { as: admin })
    expect(back.status).toBe(200)
    expect((await signIn(desk)).status).toBe(200)
  })
})
