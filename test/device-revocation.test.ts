import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import type { Enrolment } from '@clinic-mesh/mesh'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempDir, type TempDir } from '@clinic-mesh/testing'
import { DeviceCluster, pollDevice, type DeviceProcess } from './helpers/device-process.js'
import { RelayProcess } from './helpers/relay-process.js'
import { prove } from './helpers/relay-auth.js'
import { openDeviceSecrets } from './helpers/device-secrets.js'

interface Status {
  device: { peerId: string }
  peers: { peerId: string; name: string }[]
  revoked?: boolean
}
interface ErrorReply {
  error: { name: string }
}

const admin = { name: 'admin', role: 'admin' }

describe('revoking a lost tablet', () => {
  let dir: TempDir
  let relay: RelayProcess
  let cluster: DeviceCluster
  let desk: DeviceProcess, lost: DeviceProcess

  beforeAll(async () => {
    dir = await tempDir('device-revocation-')
    relay = await RelayProcess.start(dir.path)
    cluster = await DeviceCluster.start(['desk', 'lost-tablet'], { relay: `ws://127.0.0.1:${relay.port}` })
    ;[desk, lost] = cluster.devices as [DeviceProcess, DeviceProcess]
    await Promise.all(cluster.devices.map((d) => d.ready()))
    await pollDevice(
      async () => (await desk.api<Status>('GET', '/api/status')).body.peers.length === 1,
      'desk meets the tablet',
    )
  })

  afterAll(async () => {
    await cluster?.stop()
    await relay?.stop('SIGKILL')
    await dir?.remove()
  })

  it('cuts it from the clinic, and the tablet wipes the clinic data it held', async () => {
    const reg = await lost.api<{ id: string }>('POST', '/api/patients', {
      given: 'Mphatso',
      family: 'Zulu',
      birthDate: '1993-03-03',
      sex: 'male',
    })
    expect(reg.status).toBe(201)
    await pollDevice(
      async () => (await desk.api('GET', `/api/patients/${reg.body.id}`)).status === 200,
      'the patient reached the desk',
    )
    const grn = await lost.api('POST', '/api/stock/receipts', {
      id: 'grn-lost-1',
      item: 'itm_para',
      batch: 'P-9',
      expiry: '2031-01-01',
      quantity: 10,
      unitCost: 2,
      supplier: 'CMST',
      grn: 'G-9',
    })
    expect(grn.status).toBe(201)
    const lostStatus = (
      await lost.api<Status & { device: { id: string }; clinic: { id: string; directoryUrl: string } }>(
        'GET',
        '/api/status',
      )
    ).body
    const lostPeer = lostStatus.device.peerId
    // the relay has the tablet's signed operation (so it knows which device that key signs for)
    await pollDevice(
      async () => (await lost.api<{ pending: { ops: number } }>('GET', '/api/status')).body.pending.ops === 0,
      'the relay decided the tablet’s receipt',
    )

    // only an admin revokes; a nurse is refused
    const byNurse = await desk.api<ErrorReply>(
      'POST',
      '/api/devices/revoke',
      { peerId: lostPeer, reason: 'tablet stolen' },
      { as: { name: 'Nurse N', role: 'nurse' } },
    )
    expect([byNurse.status, byNurse.body.error.name]).toEqual([403, 'ForbiddenError'])
    const deskPeer = (await desk.api<Status>('GET', '/api/status')).body.device.peerId
    const itself = await desk.api<ErrorReply>(
      'POST',
      '/api/devices/revoke',
      { peerId: deskPeer, reason: 'oops' },
      { as: admin },
    )
    expect([itself.status, itself.body.error.name]).toEqual([400, 'InvalidInputError'])
    const revoked = await desk.api<{ revoked: { peerId: string } }>(
      'POST',
      '/api/devices/revoke',
      { peerId: lostPeer, reason: 'tablet stolen' },
      { as: admin },
    )
    expect(revoked.status).toBe(200)
    const devices = await desk.api<{ enrolled: { peerId: string; revoked: boolean }[] }>(
      'GET',
      '/api/devices',
      undefined,
      { as: admin },
    )
    expect(devices.body.enrolled.find((e) => e.peerId === lostPeer)?.revoked).toBe(true)

    // the desk drops the tablet from its mesh at once and keeps the patient
    await pollDevice(
      async () =>
        !(await desk.api<Status>('GET', '/api/status')).body.peers.some((p) => p.peerId === lostPeer),
      'desk no longer lists the tablet',
    )
    expect((await desk.api('GET', `/api/patients/${reg.body.id}`)).status).toBe(200)

    // the revocation reaches the tablet (mesh or relay): it wipes its clinic data and serves nothing more
    await pollDevice(
      async () =>
        (await lost.api<Status>('GET', '/api/status', undefined, { as: null })).body.revoked === true,
      'the tablet learns it was revoked',
    )
    await pollDevice(
      () => Promise.resolve(!existsSync(join(lost.init.dataDir, 'repo'))),
      'the tablet’s repo is wiped',
    )
    expect(existsSync(join(lost.init.dataDir, 'sessions.json'))).toBe(false)
    const after = await lost.api<ErrorReply>('GET', `/api/patients/${reg.body.id}`, undefined, { as: null })
    expect([after.status, after.body.error.name]).toEqual([410, 'DeviceRevokedError'])
    // and the relay will not take it back: a copy of its disk (its libp2p key, its enrolment) cannot register again
    const key = privateKeyFromProtobuf((await openDeviceSecrets(lost.init.dataDir)).peerKey) // sealed: a thief needs the device secret too
    const clinicFile = JSON.parse(await readFile(lost.init.clinicFile ?? '', 'utf8')) as {
      adminPublicKeys: string[]
      enrolments: Enrolment[]
    }
    const { id: clinic, directoryUrl } = lostStatus.clinic
    const again = await pollDevice(async () => {
      const r = await relay.api<ErrorReply>('POST', '/api/clinics', {
        clinic,
        directoryUrl,
        peerId: lostStatus.device.id,
        devicePeerId: lostPeer,
        enrolment: clinicFile.enrolments.find((e) => e.devicePeerId === lostPeer),
        adminPublicKeys: clinicFile.adminPublicKeys,
        proof: await prove(
          `http://127.0.0.1:${relay.port}`,
          { seed: key.raw.slice(0, 32), peerId: lostPeer },
          'register',
          [clinic, directoryUrl, lostStatus.device.id, lostPeer],
        ),
      })
      return r.status === 409 ? r.body : undefined
    }, 'the relay refuses the revoked device')
    expect(again.error.name).toBe('RegistrationConflictError')
  })
})
