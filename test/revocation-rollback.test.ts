import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { AutomergeUrl } from '@automerge/automerge-repo'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { ed25519 } from '@noble/curves/ed25519.js'
import { signEnrolment, SYNC_PROTOCOL, type Enrolment, type Revocation } from '@clinic-mesh/mesh'
import { tempDir, type TempDir } from '@clinic-mesh/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DeviceCluster, pollDevice, type DeviceProcess } from './helpers/device-process.js'
import { rawHost } from './helpers/raw-host.js'
import { TestDevice } from './helpers/relay-device.js'
import { RelayProcess } from './helpers/relay-process.js'

interface ClinicFileJson {
  clinic: string
  clinicSecret: string
  adminSecretKey: string
}
interface MembershipDoc {
  enrolments: Record<string, Enrolment>
  revocations: Record<string, Revocation>
}
interface Devices {
  enrolled: { peerId: string; revoked: boolean }[]
}

const admin = { name: 'admin', role: 'admin' }

/**
 * The membership document is writable by any member: a verified revocation deleted from it must not re-admit the
 * revoked device — not while the node runs, and not after it restarts from a document that no longer holds it.
 */
describe('a revocation deleted from the membership document re-admits nobody', () => {
  let dir: TempDir
  let relay: RelayProcess
  let cluster: DeviceCluster
  let desk: DeviceProcess
  let attacker: TestDevice | undefined
  const hosts: Libp2p[] = []

  beforeAll(async () => {
    dir = await tempDir('revocation-rollback-')
    relay = await RelayProcess.start(dir.path)
    cluster = await DeviceCluster.start(['desk'], { relay: relay.syncUrl.replace(/\/sync$/, '') })
    desk = cluster.devices[0]!
    await desk.ready()
  })

  afterAll(async () => {
    for (const h of hosts) await h.stop()
    await attacker?.close()
    await cluster?.stop()
    await desk?.stop('SIGKILL')
    await relay?.stop('SIGKILL')
    await dir?.remove()
  })

  const meshAddr = (d: DeviceProcess): string => d.mesh.find((a) => a.startsWith('/ip4/127.0.0.1/')) ?? ''
  const refusedAsRevoked = (d: DeviceProcess, id: string): boolean =>
    d.stderr.some(
      (l) => l.includes('"event":"mesh-peer-refused"') && l.includes(id) && l.includes('"revoked"'),
    )

  it('the revoked peer stays refused, also after the device restarts', async () => {
    const clinicFile = JSON.parse(await readFile(desk.init.clinicFile ?? '', 'utf8')) as ClinicFileJson
    const adminKey = Buffer.from(clinicFile.adminSecretKey, 'hex')
    const { id: clinic, directoryUrl } = (
      await desk.api<{ clinic: { id: string; directoryUrl: string } }>('GET', '/api/status')
    ).body.clinic

    // a tablet that will be lost: enrolled by the admin, its key held by the test
    const lostKey = await generateKeyPair('Ed25519')
    const lostId = peerIdFromPrivateKey(lostKey).toString()
    const enrolLost = signEnrolment({ clinic, devicePeerId: lostId, deviceName: 'Lost tablet' }, adminKey)
    // a clinic member gone rogue, registered at the relay with an enrolment the clinic admin key signed
    await pollDevice(async () => {
      const r = await relay.api<{ clinics: { clinic: string; directoryLoaded: boolean }[] }>(
        'GET',
        '/api/status',
      )
      return r.body.clinics.find((c) => c.clinic === clinic)?.directoryLoaded
    }, 'the clinic’s directory reached the relay')
    const membership = await pollDevice(
      async () => {
        // (a document the relay has not pulled yet is "unavailable": a fresh client asks again)
        await attacker?.close()
        attacker = new TestDevice(relay.syncUrl, clinic, 'intruder', {
          secretKey: adminKey,
          publicKey: ed25519.getPublicKey(adminKey),
        })
        expect([200, 201]).toContain((await attacker.register(relay, directoryUrl)).status)
        await attacker.joinClinic(directoryUrl as AutomergeUrl)
        return attacker.repo.find<MembershipDoc>(
          attacker.directory.doc().membership as string as AutomergeUrl,
        )
      },
      'the intruder has the membership document',
      30_000,
    )
    membership.change((d) => {
      d.enrolments[lostId] = { ...enrolLost }
    })
    await pollDevice(
      async () =>
        (await desk.api<Devices>('GET', '/api/devices', undefined, { as: admin })).body.enrolled.some(
          (e) => e.peerId === lostId,
        ),
      'the tablet’s enrolment reached the desk',
    )
    // enrolled, the tablet's key gets a sync stream from the desk (the control: the same dial must fail later)
    const lost = await rawHost(Buffer.from(clinicFile.clinicSecret, 'hex'), lostKey)
    hosts.push(lost)
    const stream = await pollDevice(
      () =>
        lost.dialProtocol(multiaddr(meshAddr(desk)), SYNC_PROTOCOL, { signal: AbortSignal.timeout(3_000) }),
      'the enrolled tablet is admitted',
    )
    stream.abort(new Error('done'))

    // the admin revokes it; the desk refuses it from then on
    const revoked = await desk.api(
      'POST',
      '/api/devices/revoke',
      { peerId: lostId, reason: 'tablet stolen' },
      { as: admin },
    )
    expect(revoked.status).toBe(200)
    await lost.hangUp(multiaddr(meshAddr(desk))).catch(() => undefined)
    await expect(
      lost.dialProtocol(multiaddr(meshAddr(desk)), SYNC_PROTOCOL, { signal: AbortSignal.timeout(3_000) }),
    ).rejects.toThrow()
    await pollDevice(
      () => Promise.resolve(refusedAsRevoked(desk, lostId)),
      'the desk refuses the revoked tablet',
    )

    // the member deletes the revocation from the document (and enrols a marker, to see when the change arrived)
    await pollDevice(
      () => Promise.resolve(membership.doc().revocations?.[lostId]),
      'the revocation reached the intruder',
    )
    const markerKey = await generateKeyPair('Ed25519')
    const markerId = peerIdFromPrivateKey(markerKey).toString()
    membership.change((d) => {
      delete d.revocations[lostId]
      d.enrolments[markerId] = {
        ...signEnrolment({ clinic, devicePeerId: markerId, deviceName: 'Marker' }, adminKey),
      }
    })
    await pollDevice(
      async () =>
        (await desk.api<Devices>('GET', '/api/devices', undefined, { as: admin })).body.enrolled.some(
          (e) => e.peerId === markerId,
        ),
      'the deletion reached the desk',
    )
    const listed = (
      await desk.api<Devices>('GET', '/api/devices', undefined, { as: admin })
    ).body.enrolled.find((e) => e.peerId === lostId)
    expect(listed?.revoked).toBe(true)
    await expect(
      lost.dialProtocol(multiaddr(meshAddr(desk)), SYNC_PROTOCOL, { signal: AbortSignal.timeout(3_000) }),
    ).rejects.toThrow()

    // a restart (its repo holds the document the member changed): the tablet is still refused
    await desk.stop('SIGTERM')
    desk = await desk.restart()
    cluster.devices[0] = desk
    await desk.ready()
    const before = desk.stderr.length
    await expect(
      lost.dialProtocol(multiaddr(meshAddr(desk)), SYNC_PROTOCOL, { signal: AbortSignal.timeout(3_000) }),
    ).rejects.toThrow()
    await pollDevice(
      () =>
        Promise.resolve(
          desk.stderr
            .slice(before)
            .some(
              (l) =>
                l.includes('"event":"mesh-peer-refused"') && l.includes(lostId) && l.includes('"revoked"'),
            ),
        ),
      'the restarted desk refuses the tablet as revoked',
    )
    const afterRestart = (
      await desk.api<Devices>('GET', '/api/devices', undefined, { as: admin })
    ).body.enrolled.find((e) => e.peerId === lostId)
    expect(afterRestart?.revoked).toBe(true)
    // it kept its own copy of the revocation from the moment it verified it
    const saved = JSON.parse(await readFile(join(desk.init.dataDir, 'revocations.json'), 'utf8')) as {
      revocations: Revocation[]
    }
    expect(saved.revocations.map((r) => r.devicePeerId)).toContain(lostId)
    // and the desk put the revocation back into the document for the others
    await pollDevice(
      () => Promise.resolve(membership.doc().revocations?.[lostId]?.devicePeerId === lostId),
      'the revocation is back in the document',
    )
  })
})
