import * as A from '@automerge/automerge'
import type { EncounterId, PrescriptionId, UserId } from '@clinic-mesh/contracts'
import { ed25519 } from '@noble/curves/ed25519.js'
import { describe, expect, it } from 'vitest'
import {
  addRxItem,
  attachPrescriptionSignature,
  createPrescription,
  imm,
  needsReview,
  openEncounter,
  PRESCRIPTION_DEVICE_CONTEXT,
  PRESCRIPTION_SIGNATURE_CONTEXT,
  prescriptionDeviceSigningBytes,
  prescriptionHash,
  prescriptionSigningBytes,
  recordDispenseNote,
  actorOf,
  packActor,
  removeRxItem,
  resolveReview,
  signPrescription,
  str,
  updateRxItem,
  verifyPrescription,
  type ChartCollection,
  type PrescriptionSigningFields,
} from '@clinic-mesh/records'
import { clerk, doctor, pharmacist, replicas, thrown, withPatient } from './fixtures.js'

const secretKey = ed25519.utils.randomSecretKey(new Uint8Array(32).fill(7))
const amox = {
  itemId: 'itm_amoxicillin-250-cap',
  quantity: 30,
  drug: 'amoxicillin 500 mg caps',
  dose: '500 mg',
  route: 'oral',
  frequency: 'tds',
  duration: '5 days',
}

function withDraft() {
  const { doc, pid } = withPatient()
  let rxId = '' as PrescriptionId
  let item = ''
  let eid = '' as EncounterId
  const next = A.change(doc, (d) => {
    eid = openEncounter(d.charts[pid]!, { reason: 'cough' }, clerk)
    const r = createPrescription(d.charts[pid]!, { encounterId: eid, items: [amox] }, doctor)
    rxId = r.id
    item = r.itemIds[0]!
  })
  return { doc: next, pid, rxId, item, eid }
}

const rxOf = (doc: A.Doc<ChartCollection>, pid: string, rxId: string) => doc.charts[pid]!.prescriptions[rxId]!

describe('draft prescriptions', () => {
  it('merge field by field: dose on one tablet, instructions on another', () => {
    const { doc, pid, rxId, item } = withDraft()
    const [a, b] = replicas(doc, 2)
    const ra = A.change(a!, (d) => updateRxItem(d.charts[pid]!, rxId, item, { dose: '250 mg' }, doctor))
    const rb = A.change(b!, (d) =>
      updateRxItem(d.charts[pid]!, rxId, item, { instructions: 'after food' }, doctor),
    )
    const merged = rxOf(A.merge(ra, rb), pid, rxId).items[item]!
    expect(str(merged.dose)).toBe('250 mg')
    expect(str(merged.instructions)).toBe('after food')
  })

  it('a concurrent edit of the same dose keeps one winner and flags the other for review', () => {
    const { doc, pid, rxId, item } = withDraft()
    const [a, b] = replicas(doc, 2)
    const ra = A.change(a!, (d) => updateRxItem(d.charts[pid]!, rxId, item, { dose: '250 mg' }, doctor))
    const rb = A.change(b!, (d) => updateRxItem(d.charts[pid]!, rxId, item, { dose: '1 g' }, doctor))
    const m = A.merge(ra, rb)
    const markers = needsReview(m)
    expect(markers.map((x) => x.path)).toEqual([
      ['charts', pid, 'prescriptions', rxId, 'items', item, 'dose'],
    ])
    expect([markers[0]!.winner, ...markers[0]!.others].sort()).toEqual(['1 g', '250 mg'])
    const fixed = A.change(m, (d) => resolveReview(d, markers[0]!, '250 mg', doctor))
    expect(str(rxOf(fixed, pid, rxId).items[item]!.dose)).toBe('250 mg')
    expect(needsReview(fixed)).toEqual([])
  })

  it('rejects invalid items', () => {
    const { doc, pid, rxId } = withDraft()
    const err = thrown(() =>
      A.change(doc, (d) => addRxItem(d.charts[pid]!, rxId, { ...amox, dose: '' }, doctor)),
    )
    expect(err.name).toBe('InvalidRecordError')
  })
})

describe('signed prescriptions', () => {
  it('sign: hash of the canonical content, Ed25519 signature, verification succeeds', () => {
    const { doc, pid, rxId } = withDraft()
    let sig = { hash: '', signature: '', publicKey: '' }
    const signed = A.change(doc, (d) => {
      sig = signPrescription(d.charts[pid]!, rxId, secretKey, doctor)
    })
    const rx = rxOf(signed, pid, rxId)
    expect(str(rx.status)).toBe('signed')
    expect(str(rx.signed!.hash)).toBe(sig.hash)
    expect(prescriptionHash(rx)).toBe(sig.hash)
    expect(prescriptionHash(rx)).toBe(prescriptionHash(rxOf(doc, pid, rxId)))
    expect(verifyPrescription(rx)).toEqual({ ok: true, hash: sig.hash })
    const pub = Buffer.from(ed25519.getPublicKey(secretKey)).toString('hex')
    expect(verifyPrescription(rx, { trustedKeys: [pub] }).ok).toBe(true)
    expect(verifyPrescription(rx, { trustedKeys: ['00'] })).toMatchObject({
      ok: false,
      reason: 'untrusted-key',
    })
    expect(verifyPrescription(rxOf(doc, pid, rxId))).toMatchObject({ ok: false, reason: 'not-signed' })
  })

  it('every helper refuses to modify a signed prescription', () => {
    const { doc, pid, rxId, item } = withDraft()
    const signed = A.change(doc, (d) => signPrescription(d.charts[pid]!, rxId, secretKey, doctor))
    const attempts = [
      () => A.change(signed, (d) => updateRxItem(d.charts[pid]!, rxId, item, { dose: '1 g' }, doctor)),
      () => A.change(signed, (d) => addRxItem(d.charts[pid]!, rxId, amox, doctor)),
      () => A.change(signed, (d) => removeRxItem(d.charts[pid]!, rxId, item, doctor)),
      () => A.change(signed, (d) => signPrescription(d.charts[pid]!, rxId, secretKey, doctor)),
      () =>
        A.change(signed, (d) =>
          resolveReview(
            d,
            { path: ['charts', pid, 'prescriptions', rxId, 'items', item, 'dose'] },
            '1 g',
            doctor,
          ),
        ),
    ]
    for (const attempt of attempts) expect(thrown(attempt).name).toBe('SignedPrescriptionError')
    expect(verifyPrescription(rxOf(signed, pid, rxId)).ok).toBe(true)
  })

  it('flags a dose edited on another replica while this one signed (after merge, in either order)', () => {
    const { doc, pid, rxId, item } = withDraft()
    const [a, b] = replicas(doc, 2)
    const ra = A.change(a!, (d) => signPrescription(d.charts[pid]!, rxId, secretKey, doctor))
    const rb = A.change(b!, (d) => updateRxItem(d.charts[pid]!, rxId, item, { dose: '1 g' }, doctor))
    for (const m of [A.merge(A.clone(ra), rb), A.merge(A.clone(rb), ra)]) {
      const result = verifyPrescription(rxOf(m, pid, rxId))
      expect(result.ok).toBe(false)
      expect(result).toMatchObject({ reason: 'content-changed' })
      expect(
        thrown(() =>
          A.change(m, (d) =>
            recordDispenseNote(d.charts[pid]!, Object.keys(d.charts[pid]!.encounters)[0]!, rxId, pharmacist),
          ),
        ).name,
      ).toBe('InvalidRecordError')
    }
  })

  it('flags a concurrent edit of the same field whichever replica wins it', () => {
    const { doc, pid, rxId, item } = withDraft()
    const reasons: string[] = []
    // The actor ids decide Automerge's winner: run once with the signer winning and once with the editor winning.
    for (const [signer, editor] of [
      ['ff'.repeat(16), '00'.repeat(16)],
      ['00'.repeat(16), 'ff'.repeat(16)],
    ] as const) {
      const ra = A.change(A.clone(doc, { actor: signer }), (d) => {
        updateRxItem(d.charts[pid]!, rxId, item, { dose: '250 mg' }, doctor)
        signPrescription(d.charts[pid]!, rxId, secretKey, doctor)
      })
      const rb = A.change(A.clone(doc, { actor: editor }), (d) =>
        updateRxItem(d.charts[pid]!, rxId, item, { dose: '1 g' }, doctor),
      )
      const result = verifyPrescription(rxOf(A.merge(ra, rb), pid, rxId))
      reasons.push(result.ok ? 'ok' : result.reason)
    }
    expect(reasons).toEqual(['concurrent-edit', 'content-changed'])
  })

  it('flags raw writes that bypass the helpers, and a forged signature', () => {
    const { doc, pid, rxId, item } = withDraft()
    const signed = A.change(doc, (d) => signPrescription(d.charts[pid]!, rxId, secretKey, doctor))
    const raw = A.change(signed, (d) => {
      d.charts[pid]!.prescriptions[rxId]!.items[item]!.duration = imm('30 days')
    })
    expect(verifyPrescription(rxOf(raw, pid, rxId))).toMatchObject({ ok: false, reason: 'content-changed' })
    const forged = A.change(A.clone(signed), (d) => {
      d.charts[pid]!.prescriptions[rxId]!.items[item]!.duration = imm('30 days')
      d.charts[pid]!.prescriptions[rxId]!.signed!.hash = imm(
        prescriptionHash(d.charts[pid]!.prescriptions[rxId]!),
      )
    })
    expect(verifyPrescription(rxOf(forged, pid, rxId))).toMatchObject({ ok: false, reason: 'bad-signature' })
  })

  it('the pharmacy section records which signed version was dispensed, by hash', () => {
    const { doc, pid, rxId, eid } = withDraft()
    const signed = A.change(doc, (d) => signPrescription(d.charts[pid]!, rxId, secretKey, doctor))
    const done = A.change(signed, (d) =>
      recordDispenseNote(d.charts[pid]!, eid, rxId, pharmacist, 'counselled'),
    )
    const notes = Object.values(done.charts[pid]!.encounters[eid]!.pharmacy.dispensed)
    expect(notes.map((n) => str(n.prescriptionHash))).toEqual([str(rxOf(signed, pid, rxId).signed!.hash)])
  })
})

describe('prescriptions signed on the device node', () => {
  const deviceKey = ed25519.utils.randomSecretKey(new Uint8Array(32).fill(9))
  const devicePub = Buffer.from(ed25519.getPublicKey(deviceKey)).toString('hex')
  const pub = Buffer.from(ed25519.getPublicKey(secretKey)).toString('hex')
  const device = { peerId: '12D3KooWexample', secretKey: deviceKey }
  const trusted = (peerId: string) => (peerId === device.peerId ? devicePub : undefined)
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
  const fieldsOf = (doc: A.Doc<ChartCollection>, pid: string, rxId: string) => ({
    patientId: pid,
    rxId,
    hash: prescriptionHash(rxOf(doc, pid, rxId)),
    signedBy: doctor.user,
  })
  const external = (fields: PrescriptionSigningFields) => ({
    hash: fields.hash,
    signature: hex(ed25519.sign(prescriptionSigningBytes(fields), secretKey)),
    publicKey: pub,
    device: {
      peerId: device.peerId,
      signature: hex(ed25519.sign(prescriptionDeviceSigningBytes({ ...fields, publicKey: pub }), deviceKey)),
    },
  })

  it('signs the draft the chart holds with the clinician key and the device key, each under its own context', () => {
    const { doc, pid, rxId } = withDraft()
    const hash = prescriptionHash(rxOf(doc, pid, rxId))
    const signed = A.change(doc, (d) =>
      signPrescription(d.charts[pid]!, rxId, secretKey, doctor, { device, expectedHash: hash }),
    )
    const rx = rxOf(signed, pid, rxId)
    expect(str(rx.signed!.hash)).toBe(hash)
    expect(str(rx.signed!.device!.peerId)).toBe(device.peerId)
    expect(verifyPrescription(rx, { trustedKeys: [pub], deviceKey: trusted })).toEqual({ ok: true, hash })
    expect(verifyPrescription(rx, { deviceKey: () => undefined })).toMatchObject({
      ok: false,
      reason: 'untrusted-device',
    })
    expect(verifyPrescription(rx, { deviceKey: () => pub })).toMatchObject({
      ok: false,
      reason: 'bad-device-signature',
    })
    // the messages name their purpose first; neither signature verifies the other's message, nor the bare hash
    const fields = fieldsOf(doc, pid, rxId)
    expect(JSON.parse(new TextDecoder().decode(prescriptionSigningBytes(fields)))[0]).toBe(
      PRESCRIPTION_SIGNATURE_CONTEXT,
    )
    expect(
      JSON.parse(new TextDecoder().decode(prescriptionDeviceSigningBytes({ ...fields, publicKey: pub })))[0],
    ).toBe(PRESCRIPTION_DEVICE_CONTEXT)
    const userSig = Buffer.from(str(rx.signed!.signature), 'hex')
    expect(ed25519.verify(userSig, Buffer.from(hash, 'hex'), ed25519.getPublicKey(secretKey))).toBe(false)
    expect(
      ed25519.verify(
        Buffer.from(str(rx.signed!.device!.signature), 'hex'),
        prescriptionSigningBytes(fields),
        ed25519.getPublicKey(deviceKey),
      ),
    ).toBe(false)
  })

  it('binds the signer: the same signature under another user id does not verify', () => {
    const { doc, pid, rxId } = withDraft()
    const signed = A.change(doc, (d) => signPrescription(d.charts[pid]!, rxId, secretKey, doctor))
    const renamed = A.change(signed, (d) => {
      const signed = d.charts[pid]!.prescriptions[rxId]!.signed!
      signed.signedBy = packActor({ user: 'usr_other' as UserId, device: actorOf(signed.signedBy)!.device })
    })
    expect(verifyPrescription(rxOf(renamed, pid, rxId))).toMatchObject({ ok: false, reason: 'bad-signature' })
  })

  it('refuses to sign when the draft is not the version the clinician saw', () => {
    const { doc, pid, rxId, item } = withDraft()
    const seen = prescriptionHash(rxOf(doc, pid, rxId))
    const edited = A.change(doc, (d) => updateRxItem(d.charts[pid]!, rxId, item, { dose: '1 g' }, doctor))
    expect(
      thrown(() =>
        A.change(edited, (d) =>
          signPrescription(d.charts[pid]!, rxId, secretKey, doctor, { device, expectedHash: seen }),
        ),
      ).name,
    ).toBe('PrescriptionChangedError')
    expect(str(rxOf(edited, pid, rxId).status)).toBe('draft')
  })

  it('rejects a signature over the bare hash (the retired v1 scheme)', () => {
    const { doc, pid, rxId } = withDraft()
    const hash = prescriptionHash(rxOf(doc, pid, rxId))
    const bare = { hash, signature: hex(ed25519.sign(Buffer.from(hash, 'hex'), secretKey)), publicKey: pub }
    expect(
      thrown(() => A.change(doc, (d) => attachPrescriptionSignature(d.charts[pid]!, rxId, bare, doctor)))
        .name,
    ).toBe('InvalidRecordError')
    const written = A.change(doc, (d) => {
      const rx = d.charts[pid]!.prescriptions[rxId]!
      rx.signed = {
        hash: imm(hash),
        signature: imm(bare.signature),
        publicKey: imm(pub),
        signedBy: { user: imm(doctor.user), device: imm(doctor.device) },
        signedAt: imm('2025-01-01T00:00:00Z'),
      }
      rx.status = imm('signed')
    })
    expect(verifyPrescription(rxOf(written, pid, rxId))).toMatchObject({ ok: false, reason: 'bad-signature' })
  })

  it('attaches a signature of the current draft, which then verifies and is immutable', () => {
    const { doc, pid, rxId } = withDraft()
    const signed = A.change(doc, (d) =>
      attachPrescriptionSignature(d.charts[pid]!, rxId, external(fieldsOf(doc, pid, rxId)), doctor),
    )
    const rx = rxOf(signed, pid, rxId)
    expect(str(rx.status)).toBe('signed')
    expect(str(rx.signed!.device!.peerId)).toBe('12D3KooWexample')
    expect(verifyPrescription(rx, { deviceKey: trusted }).ok).toBe(true)
    expect(thrown(() => A.change(signed, (d) => addRxItem(d.charts[pid]!, rxId, amox, doctor))).name).toBe(
      'SignedPrescriptionError',
    )
  })

  it('refuses a signature of an older draft and one that does not verify', () => {
    const { doc, pid, rxId, item } = withDraft()
    const stale = fieldsOf(doc, pid, rxId)
    const edited = A.change(doc, (d) => updateRxItem(d.charts[pid]!, rxId, item, { dose: '1 g' }, doctor))
    expect(
      thrown(() =>
        A.change(edited, (d) => attachPrescriptionSignature(d.charts[pid]!, rxId, external(stale), doctor)),
      ).name,
    ).toBe('PrescriptionChangedError')
    const current = fieldsOf(edited, pid, rxId)
    const forged = { ...external(current), signature: external(stale).signature }
    expect(
      thrown(() => A.change(edited, (d) => attachPrescriptionSignature(d.charts[pid]!, rxId, forged, doctor)))
        .name,
    ).toBe('InvalidRecordError')
    // signed for another clinician's user id: refused when attached as this one
    const other = external({ ...current, signedBy: 'usr_other' })
    expect(
      thrown(() => A.change(edited, (d) => attachPrescriptionSignature(d.charts[pid]!, rxId, other, doctor)))
        .name,
    ).toBe('InvalidRecordError')
  })
})
