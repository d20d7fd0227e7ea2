import { readFile } from 'node:fs/promises'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { encodeFrame, signEnrolment, SYNC_PROTOCOL } from '@clinic-mesh/mesh'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DeviceCluster, pollDevice, type DeviceProcess } from './helpers/device-process.js'
import { rawHost } from './helpers/raw-host.js'

interface ClinicFileJson {
  clinic: string
  clinicSecret: string
  adminSecretKey: string
  enrolments: unknown[]
}

/**
 * Attacks on a real device node's libp2p side (packages/mesh: pnet + membership gater + framed sync protocol; the
 * in-process cases live in packages/mesh/test/gate.test.ts and frames.test.ts — here the same against the process).
 */
describe('hostile peers on the mesh of a real device node', () => {
  let cluster: DeviceCluster
  let node: DeviceProcess
  let clinic: ClinicFileJson
  let target: string
  const hosts: Libp2p[] = []

  beforeAll(async () => {
    cluster = await DeviceCluster.start(['mesh-target'])
    node = cluster.devices[0]!
    await node.ready()
    clinic = JSON.parse(await readFile(node.init.clinicFile ?? '', 'utf8')) as ClinicFileJson
    const addr = node.mesh.find((a) => a.startsWith('/ip4/127.0.0.1/'))
    expect(addr).toBeDefined()
    target = addr!
  })
  afterAll(async () => {
    for (const h of hosts) await h.stop()
    await cluster?.stop()
  })

  const peersOfNode = async (): Promise<unknown[]> =>
    (await node.api<{ peers: unknown[] }>('GET', '/api/status')).body.peers

  it('a host of another clinic (other pre-shared key) cannot even complete a connection', async () => {
    const other = await rawHost(crypto.getRandomValues(new Uint8Array(32)), await generateKeyPair('Ed25519'))
    hosts.push(other)
    await expect(
      other.dialProtocol(multiaddr(target), SYNC_PROTOCOL, { signal: AbortSignal.timeout(5_000) }),
    ).rejects.toThrow()
    expect(other.getConnections()).toHaveLength(0)
    expect(await peersOfNode()).toEqual([])
  })

  it('a host with the clinic secret but no enrolment is refused by the gater and never opens a sync stream', async () => {
    const key = await generateKeyPair('Ed25519')
    const intruder = await rawHost(Buffer.from(clinic.clinicSecret, 'hex'), key)
    hosts.push(intruder)
    const id = peerIdFromPrivateKey(key).toString()
    // the stream that would carry "give me document X" is never opened
    await expect(
      intruder.dialProtocol(multiaddr(target), SYNC_PROTOCOL, { signal: AbortSignal.timeout(5_000) }),
    ).rejects.toThrow()
    await pollDevice(
      () =>
        Promise.resolve(
          node.stderr.some(
            (l) => l.includes('"event":"mesh-peer-refused"') && l.includes(id) && l.includes('not-enrolled'),
          ),
        ),
      'refusal logged',
    )
    expect(intruder.getConnections().filter((c) => c.status === 'open')).toHaveLength(0)
    expect(await peersOfNode()).toEqual([])
  })

  it('an enrolled but buggy or hostile peer: malformed, oversized and out-of-order frames reset that stream with a named error', async () => {
    const key = await generateKeyPair('Ed25519')
    const id = peerIdFromPrivateKey(key).toString()
    // enrolled by the clinic admin (the test holds the admin key, as the demo launcher does) through the clinic file
    const enrolment = signEnrolment(
      { clinic: clinic.clinic, devicePeerId: id, deviceName: 'Buggy' },
      Buffer.from(clinic.adminSecretKey, 'hex'),
    )
    const { writeFile } = await import('node:fs/promises')
    const current = JSON.parse(await readFile(node.init.clinicFile ?? '', 'utf8')) as ClinicFileJson
    await writeFile(
      node.init.clinicFile ?? '',
      JSON.stringify({ ...current, enrolments: [...current.enrolments, enrolment] }, null, 2),
    )
    const buggy = await rawHost(Buffer.from(clinic.clinicSecret, 'hex'), key)
    hosts.push(buggy)
    const cases: [string, Uint8Array][] = [
      ['FrameTooLargeError', Uint8Array.of(0x80, 0x80, 0x80, 0x10)], // announces 32 MiB > the 16 MiB default
      ['MalformedFrameError', Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0x01)], // varint longer than 5 bytes
      ['MalformedFrameError', encodeFrame(Uint8Array.of(0x07, 0xa0))], // unknown frame kind
      ['HandshakeError', encodeFrame(Uint8Array.of(0x03, 0xa0))], // a bye before any handshake
    ]
    for (const [name, bytes] of cases) {
      const before = node.stderr.filter((l) => l.includes('"event":"mesh-stream-reset"')).length
      // the clinic file is re-read within ~300 ms: until then the gater refuses us, so retry the dial
      const stream = await pollDevice(
        () => buggy.dialProtocol(multiaddr(target), SYNC_PROTOCOL, { signal: AbortSignal.timeout(2_000) }),
        'sync stream opened once enrolled',
      )
      stream.addEventListener('message', () => undefined)
      stream.send(bytes)
      const line = await pollDevice(
        () => Promise.resolve(node.stderr.filter((l) => l.includes('"event":"mesh-stream-reset"'))[before]),
        `${name} logged`,
      )
      expect(JSON.parse(line)).toMatchObject({ event: 'mesh-stream-reset', peer: id, error: name })
    }
    // the node keeps serving its API and its data
    const p = await node.api(
      'POST',
      '/api/patients',
      { given: 'Mesh', family: 'Survivor', birthDate: '1980-08-08', sex: 'female' },
      { as: { name: 'co', role: 'clinician' } },
    )
    expect(p.status).toBe(201)
    expect(node.exited).toBe(false)
    expect(node.stderr.filter((l) => /uncaught-exception|unhandled-rejection/.test(l))).toEqual([])
  })
})
