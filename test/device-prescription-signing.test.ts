import { ImmutableString } from '@automerge/automerge'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import {
  createPrescription,
  prescriptionHash,
  str,
  updateRxItem,
  userOf,
  verifyPrescription,
  type Prescription,
} from '@clinic-mesh/records'
import { ed25519 } from '@noble/curves/ed25519.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DeviceCluster, pollDevice, type DeviceProcess } from './helpers/device-process.js'
import { RelayProcess } from './helpers/relay-process.js'
import { SyncClient } from './helpers/sync-client.js'

interface ErrorReply {
  error: { name: string; message: string }
}
interface SignReply {
  patientId: string
  prescriptionId: string
  hash: string
  signedNow: boolean
}
interface ChartReply {
  chart: { prescriptions: Record<string, Prescription> }
}

const clinician = { name: 'Dr Mwale', role: 'clinician' }
const nurse = { name: 'Grace Phiri', role: 'nurse' }
const amox = {
  itemId: 'itm_amoxicillin-250-cap',
  quantity: 21,
  drug: 'Amoxicillin 250 mg caps',
  dose: '250 mg',
  route: 'oral',
  frequency: '3 times a day',
  duration: '7 days',
}

describe('prescriptions are signed by the device node from its own copy of the chart', () => {
  let relayDir: string
  let relay: RelayProcess
  let cluster: DeviceCluster
  let node: DeviceProcess
  let tablet: SyncClient
  let pid: string

  beforeAll(async () => {
    relayDir = await mkdtemp(join(tmpdir(), 'rx-relay-'))
    relay = await RelayProcess.start(relayDir)
    // online (the relay link is up): the policy lets a clinician sign without a settled knowledge base
    cluster = await DeviceCluster.start(['consult'], { relay: `ws://127.0.0.1:${relay.port}` })
    node = cluster.devices[0]!
    await node.ready()
    await pollDevice(
      async () =>
        (await node.api<{ relay: { connected: boolean } }>('GET', '/api/status')).body.relay.connected,
      'relay link up',
      30_000,
    )
    const r = await node.api<{ id: string }>(
      'POST',
      '/api/patients',
      { given: 'Mary', family: 'Chirwa', birthDate: '2019-02-11', sex: 'female' },
      { as: clinician },
    )
    expect(r.status).toBe(201)
    pid = r.body.id
    tablet = await SyncClient.open(node, clinician)
  })

  afterAll(async () => {
    await tablet?.close()
    await cluster?.stop()
    await relay?.stop('SIGKILL')
    await rm(relayDir, { recursive: true, force: true })
  })

  const signPath = (rxId: string) => `/api/patients/${pid}/prescriptions/${rxId}/sign`
  const onNode = async (rxId: string): Promise<Prescription | undefined> => {
    const r = await node.api<ChartReply>('GET', `/api/patients/${pid}`, undefined, { as: clinician })
    return r.status === 200 ? r.body.chart.prescriptions[rxId] : undefined
  }
  /** A draft written on the tablet's own copy, once the node holds exactly that version. */
  const draft = async (): Promise<{ rxId: string; hash: string }> => {
    const rxId = await tablet.change(
      pid,
      (c) =>
        createPrescription(
          c,
          { items: [amox] },
          { user: 'usr_dr-mwale' as never, device: 'dev_tablet' as never },
        ).id,
    )
    const hash = prescriptionHash((await tablet.chart(pid))!.prescriptions[rxId]!)
    await pollDevice(async () => {
      const rx = await onNode(rxId)
      return rx !== undefined && prescriptionHash(rx) === hash
    }, 'the draft reached the node')
    return { rxId, hash }
  }

  it('the route that signed any hash a client sent is gone', async () => {
    const r = await node.api<ErrorReply>(
      'POST',
      '/api/signatures/prescription',
      { hash: 'ab'.repeat(32) },
      { as: clinician },
    )
    expect([r.status, r.body.error.name]).toEqual([404, 'RouteNotFoundError'])
  })

  it('a nurse may not sign: 403 in plain words, nothing written', async () => {
    const { rxId, hash } = await draft()
    const r = await node.api<ErrorReply>('POST', signPath(rxId), { expectedHash: hash }, { as: nurse })
    expect([r.status, r.body.error.name, r.body.error.message]).toEqual([
      403,
      'ForbiddenError',
      'only a clinician can sign a prescription',
    ])
    expect(str((await onNode(rxId))!.status)).toBe('draft')
  })

  it('a version the clinician did not see is not signed: 409 PrescriptionChangedError', async () => {
    const { rxId, hash: seen } = await draft()
    // the draft changes after the clinician looked at it (here: another edit that reached the node first)
    const itemId = Object.keys((await tablet.chart(pid))!.prescriptions[rxId]!.items)[0]!
    await tablet.change(pid, (c) =>
      updateRxItem(
        c,
        rxId,
        itemId,
        { dose: '500 mg' },
        { user: 'usr_dr-mwale' as never, device: 'dev_tablet' as never },
      ),
    )
    const now = prescriptionHash((await tablet.chart(pid))!.prescriptions[rxId]!)
    await pollDevice(async () => prescriptionHash((await onNode(rxId))!) === now, 'the edit reached the node')
    const r = await node.api<ErrorReply>('POST', signPath(rxId), { expectedHash: seen }, { as: clinician })
    expect([r.status, r.body.error.name]).toEqual([409, 'PrescriptionChangedError'])
    expect(r.body.error.message).toMatch(/differs from the one you saw/)
    expect(str((await onNode(rxId))!.status)).toBe('draft')
    const bad = await node.api<ErrorReply>(
      'POST',
      signPath(rxId),
      { expectedHash: 'not-a-hash' },
      { as: clinician },
    )
    expect([bad.status, bad.body.error.name]).toEqual([400, 'InvalidInputError'])
  })

  it('signs the prescription the node holds, writes the signature into the chart, and it verifies until changed', async () => {
    const { rxId, hash } = await draft()
    const r = await node.api<SignReply>('POST', signPath(rxId), { expectedHash: hash }, { as: clinician })
    expect(r.status).toBe(200)
    expect(r.body).toEqual({ patientId: pid, prescriptionId: rxId, hash, signedNow: true })

    const rx = (await onNode(rxId))!
    expect(str(rx.status)).toBe('signed')
    expect(str(rx.signed!.hash)).toBe(hash)
    expect(userOf(rx.signed!.signedBy)).toBe('usr_dr-mwale')
    const peerId = (await node.api<{ device: { peerId: string } }>('GET', '/api/status')).body.device.peerId
    expect(str(rx.signed!.device!.peerId)).toBe(peerId)
    const devicePub = Buffer.from(peerIdFromString(peerId).publicKey!.raw).toString('hex')
    const deviceKey = (p: string) => (p === peerId ? devicePub : undefined)
    expect(verifyPrescription(rx, { deviceKey })).toEqual({ ok: true, hash })
    // neither key signed the bare hash
    const bare = Buffer.from(hash, 'hex')
    expect(
      ed25519.verify(
        Buffer.from(str(rx.signed!.signature), 'hex'),
        bare,
        Buffer.from(str(rx.signed!.publicKey), 'hex'),
      ),
    ).toBe(false)
    expect(
      ed25519.verify(
        Buffer.from(str(rx.signed!.device!.signature), 'hex'),
        bare,
        Buffer.from(devicePub, 'hex'),
      ),
    ).toBe(false)

    // a modified prescription no longer verifies, whether or not the hash is recomputed
    const edited = structuredClone(rx)
    Object.values(edited.items)[0]!.dose = '1 g' as never
    expect(verifyPrescription(edited)).toMatchObject({ ok: false, reason: 'content-changed' })
    edited.signed!.hash = prescriptionHash(edited) as never
    expect(verifyPrescription(edited)).toMatchObject({ ok: false, reason: 'bad-signature' })

    // the signature reaches the tablet's own copy over /sync
    await pollDevice(
      async () => str((await tablet.chart(pid))!.prescriptions[rxId]!.status) === 'signed',
      'the signature reached the tablet',
    )
    expect(verifyPrescription((await tablet.chart(pid))!.prescriptions[rxId]!, { deviceKey }).ok).toBe(true)

    // a signed prescription is immutable at the node: the clinician's own browser changing the dose of its copy
    // (around the records helpers, which refuse it) is refused by the sync gate, and the node's copy still verifies
    const bucket = await tablet.store.bucketFor(pid)
    const refused = new Promise<{ name: string; message: string }>((resolve) =>
      bucket.on('ephemeral-message', ({ message }) => {
        const m = message as { type?: string; name: string; message: string }
        if (m.type === 'clinic-mesh/refused') resolve(m)
      }),
    )
    bucket.change((d) => {
      const item = Object.values(d.charts[pid]!.prescriptions[rxId]!.items)[0]!
      item.dose = new ImmutableString('10 g')
    })
    expect(await refused).toMatchObject({
      name: 'ForbiddenWriteError',
      message: expect.stringMatching(/is signed/),
    })
    expect(verifyPrescription((await onNode(rxId))!, { deviceKey }).ok).toBe(true)

    // a retried request for the same version answers again without signing twice; any other request is refused
    const again = await node.api<SignReply>('POST', signPath(rxId), { expectedHash: hash }, { as: clinician })
    expect([again.status, again.body.signedNow]).toEqual([200, false])
    const blind = await node.api<ErrorReply>('POST', signPath(rxId), {}, { as: clinician })
    expect([blind.status, blind.body.error.name]).toEqual([409, 'SignedPrescriptionError'])

    // the signing is in the node's audit trail
    const audit = await node.api<{ touches: { user: string; action: string }[] }>(
      'GET',
      `/api/audit?target=${encodeURIComponent(`prescription-signature:${rxId}`)}`,
      undefined,
      { as: { name: 'admin', role: 'admin' } },
    )
    expect(audit.body.touches).toEqual([expect.objectContaining({ user: 'usr_dr-mwale', action: 'change' })])
  })

  it('an unknown prescription is a 404', async () => {
    const r = await node.api<ErrorReply>('POST', signPath('rx_nope'), {}, { as: clinician })
    expect([r.status, r.body.error.name]).toEqual([404, 'UnknownRecordError'])
  })
})
