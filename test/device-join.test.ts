import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DeviceCluster, DeviceProcess, pollDevice } from './helpers/device-process.js'

interface Status {
  device: { peerId: string }
  peers: { peerId: string; name: string }[]
}
interface Offer {
  code: string
  url: string
  expiresAt: string
}

const admin = { name: 'admin', role: 'admin' }

/** Waits for a started process to exit by itself (a refused join ends the start). */
async function exitOf(start: Promise<DeviceProcess>): Promise<string> {
  try {
    const d = await start
    await d.stop('SIGKILL')
    return 'started'
  } catch (err) {
    return (err as Error).message
  }
}

describe('enrolling a new tablet in the field with a join code (no internet, no clinic file)', () => {
  let cluster: DeviceCluster
  let adminDevice: DeviceProcess
  let tablet: DeviceProcess | undefined

  beforeAll(async () => {
    cluster = await DeviceCluster.start(['admin-laptop'], { env: { CLINIC_MESH_JOIN_HOST: '127.0.0.1' } })
    adminDevice = cluster.devices[0]!
    await adminDevice.ready()
  })

  afterAll(async () => {
    await tablet?.stop('SIGKILL')
    await cluster?.stop()
  })

  it('refuses a wrong code, then enrols the tablet with the right one: it meshes and syncs the clinic', async () => {
    const patient = await adminDevice.api<{ id: string }>('POST', '/api/patients', {
      given: 'Tadala',
      family: 'Mbewe',
      birthDate: '2010-10-10',
      sex: 'female',
    })
    expect(patient.status).toBe(201)
    const nurseTry = await adminDevice.api<{ error: { name: string } }>(
      'POST',
      '/api/join-codes',
      {},
      { as: { name: 'Nurse J', role: 'nurse' } },
    )
    expect([nurseTry.status, nurseTry.body.error.name]).toEqual([403, 'ForbiddenError'])

    const first = await adminDevice.api<Offer>('POST', '/api/join-codes', {}, { as: admin })
    expect(first.status).toBe(201)
    expect(first.body.code).toMatch(/^\w{4}-\w+$/)
    const wrong = first.body.code.endsWith('A')
      ? first.body.code.replace(/A$/, 'B')
      : first.body.code.replace(/.$/, 'A')
    const refused = await exitOf(
      DeviceProcess.start({
        dataDir: join(cluster.root, 'intruder'),
        name: 'intruder',
        args: ['--join', first.body.url, '--join-code', wrong],
      }),
    )
    expect(refused).toMatch(/JoinError/)

    const offer = await adminDevice.api<Offer>('POST', '/api/join-codes', {}, { as: admin })
    tablet = await DeviceProcess.start({
      dataDir: join(cluster.root, 'new-tablet'),
      name: 'new-tablet',
      args: ['--join', offer.body.url, '--join-code', offer.body.code],
    })
    await tablet.ready(30_000)
    const tabletPeer = (await tablet.api<Status>('GET', '/api/status')).body.device.peerId
    await pollDevice(
      async () =>
        (await adminDevice.api<Status>('GET', '/api/status')).body.peers.some((p) => p.peerId === tabletPeer),
      'admin device meshes with the new tablet',
    )
    // the tablet holds the clinic: the patient registered before it joined is readable there
    await pollDevice(
      async () => (await tablet!.api('GET', `/api/patients/${patient.body.id}`)).status === 200,
      'the new tablet reads the chart',
    )
    // it got the clinic's keys, not the admin key
    const file = JSON.parse(
      await readFile(join(cluster.root, 'new-tablet', 'clinic.json'), 'utf8'),
    ) as Record<string, unknown>
    expect(file.adminSecretKey).toBeUndefined()
    expect(file.clinicSecret).toBeUndefined() // sealed under the tablet's identity key (test/secrets-at-rest.test.ts)
    expect(file.clinicSecretSealed).toEqual(expect.any(String))
    // a join code is single use
    const again = await exitOf(
      DeviceProcess.start({
        dataDir: join(cluster.root, 'second'),
        name: 'second',
        args: ['--join', offer.body.url, '--join-code', offer.body.code],
      }),
    )
    expect(again).toMatch(/cannot reach the admin device|JoinError/)
  })
})
