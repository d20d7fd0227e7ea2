import * as A from '@automerge/automerge'
import type { DeviceId, UserId } from '@clinic-mesh/contracts'
import { relayProofBytes, signRelayProof } from '@clinic-mesh/mesh'
import {
  createPrescription,
  emptyCollection,
  prescriptionDeviceSigningBytes,
  prescriptionHash,
  prescriptionSigningBytes,
  registerPatient,
  signPrescription,
  str,
  verifyPrescription,
  type Actor,
  type ChartCollection,
  type Prescription,
} from '@clinic-mesh/records'
import {
  batchSigningBytes,
  credentialBytes,
  endorsementBytes,
  signAuditHead,
  signBatch,
  verifyAuditHead,
  verifyBatch,
  type BatchKeys,
} from '@clinic-mesh/security'
import { ed25519 } from '@noble/curves/ed25519.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js'
import { describe, expect, it } from 'vitest'
import { makeOps } from './ops.js'

// Every message a user key or a device key signs starts with a context string naming its purpose (docs/THREAT_MODEL.md
// §4): a signature made for one purpose must never verify as another (a signed prescription as a run of stock
// operations, an audit head as a relay proof...).

const userKey = new Uint8Array(32).fill(1)
const deviceKey = new Uint8Array(32).fill(2)
const userPub = bytesToHex(ed25519.getPublicKey(userKey))
const devicePub = bytesToHex(ed25519.getPublicKey(deviceKey))
const clinician: Actor = {
  user: 'u_pharm' as UserId,
  device: 'dev_tablet3' as DeviceId,
  at: '2026-11-20T08:30:00.000Z',
}
const keys: BatchKeys = { devices: { dev_tablet3: devicePub }, users: { u_pharm: userPub } }
const PEER = '12D3KooWtablet3'

/** A signed prescription (clinician key + device key), and the chart it lives in. */
function signedRx(): { doc: A.Doc<ChartCollection>; pid: string; rxId: string; rx: Prescription } {
  let pid = ''
  let rxId = ''
  const doc = A.change(A.from(emptyCollection()), (d) => {
    pid = registerPatient(
      d,
      { given: 'Grace', family: 'Banda', birthDate: '1984-03-12', sex: 'female', identifiers: [] },
      clinician,
    )
    const items = [
      {
        itemId: 'itm_amoxicillin-250-cap',
        quantity: 30,
        drug: 'amoxicillin 500 mg caps',
        dose: '500 mg',
        route: 'oral',
        frequency: 'tds',
        duration: '5 days',
      },
    ]
    rxId = createPrescription(d.charts[pid]!, { items }, clinician).id
    signPrescription(d.charts[pid]!, rxId, userKey, clinician, {
      device: { peerId: PEER, secretKey: deviceKey },
    })
  })
  return { doc, pid, rxId, rx: doc.charts[pid]!.prescriptions[rxId]! }
}

const deviceKeyOf = (peerId: string) => (peerId === PEER ? devicePub : undefined)

/** The context a message starts with: a JSON array's first element, or the text before the first newline. */
function contextOf(message: Uint8Array): string {
  const text = new TextDecoder().decode(message)
  if (text.startsWith('[')) return JSON.parse(text)[0] as string
  const nl = text.indexOf('\n')
  return nl < 0 ? '' : text.slice(0, nl)
}

/** One message of every purpose a user or device key signs, built by the code that signs it. */
function messages(): Record<string, Uint8Array> {
  const { pid, rxId, rx } = signedRx()
  const fields = { patientId: pid, rxId, hash: prescriptionHash(rx), signedBy: clinician.user }
  const batch = signBatch(makeOps(3), userKey, deviceKey)
  const head = { seq: 7, hash: 'ab'.repeat(32) }
  // the audit head's message, rebuilt here with its context: the real signature must verify over it
  const auditHead = utf8ToBytes(
    `clinic-mesh/audit-head/v1\n${JSON.stringify({ device: 'dev_tablet3', hash: head.hash, seq: head.seq })}`,
  )
  expect(
    ed25519.verify(
      hexToBytes(signAuditHead('dev_tablet3', head, deviceKey).signature),
      auditHead,
      hexToBytes(devicePub),
    ),
  ).toBe(true)
  const credentials = {
    publicKey: userPub,
    passwordHash: { alg: 'scrypt', N: 1024, r: 8, p: 1, salt: '00', hash: '11' },
    wrappedSigningKey: { alg: 'aes-256-gcm', data: '22' },
    credentialVersion: 1,
  } as unknown as Parameters<typeof credentialBytes>[1]
  return {
    prescription: prescriptionSigningBytes(fields),
    'prescription (device)': prescriptionDeviceSigningBytes({ ...fields, publicKey: userPub }),
    run: batchSigningBytes(batch),
    'audit head': auditHead,
    'relay proof': relayProofBytes('sync', 'nonce-1', [PEER]),
    'user credentials': credentialBytes('usr_a' as UserId, credentials),
    'user endorsement': endorsementBytes('usr_a' as UserId, {
      name: 'A',
      role: 'clinician',
      status: 'active',
      publicKey: userPub,
    }),
  }
}

describe('signature contexts', () => {
  it('every message a user or device key signs starts with its own context string', () => {
    const all = messages()
    const contexts = Object.entries(all).map(([purpose, m]) => [purpose, contextOf(m)] as const)
    for (const [purpose, ctx] of contexts)
      expect({ purpose, ctx }).toEqual({
        purpose,
        ctx: expect.stringMatching(/^clinic-mesh\/[a-z-]+\/v\d+$/),
      })
    expect(new Set(contexts.map(([, c]) => c)).size).toBe(contexts.length)
    // a context ends at `"` (JSON array) or a newline, neither of which a context holds: no message of one purpose
    // is also a message of another, and none is a bare 32-byte digest
    for (const [p, m] of Object.entries(all)) {
      expect(m.length).toBeGreaterThan(32)
      for (const [q, ctx] of contexts) if (q !== p) expect(contextOf(m)).not.toBe(ctx)
    }
  })

  it('a signature of one purpose verifies over no other purpose’s message', () => {
    const all = Object.values(messages())
    for (const [i, m] of all.entries()) {
      const sig = ed25519.sign(m, userKey)
      for (const [j, other] of all.entries())
        expect(ed25519.verify(sig, other, hexToBytes(userPub))).toBe(i === j)
    }
  })

  it('a prescription signature does not verify as a run signature', () => {
    const { rx } = signedRx()
    expect(verifyPrescription(rx, { trustedKeys: [userPub], deviceKey: deviceKeyOf }).ok).toBe(true)
    const batch = signBatch(makeOps(3), userKey, deviceKey)
    expect(verifyBatch(batch, keys)).toEqual({ ok: true })
    expect(verifyBatch({ ...batch, deviceSignature: str(rx.signed!.device!.signature) }, keys)).toMatchObject(
      { ok: false, reason: 'bad-device-signature' },
    )
    expect(verifyBatch({ ...batch, userSignature: str(rx.signed!.signature) }, keys)).toMatchObject({
      ok: false,
      reason: 'bad-user-signature',
    })
  })

  it('a run signature does not verify as a prescription signature', () => {
    const { doc, pid, rxId } = signedRx()
    const batch = signBatch(makeOps(3), userKey, deviceKey)
    const swap = (fn: (rx: Prescription) => void) =>
      A.change(A.clone(doc), (d) => fn(d.charts[pid]!.prescriptions[rxId]!)).charts[pid]!.prescriptions[rxId]!
    const userSwapped = swap(
      (rx) => void (rx.signed!.signature = new A.ImmutableString(batch.userSignature) as never),
    )
    expect(verifyPrescription(userSwapped)).toMatchObject({ ok: false, reason: 'bad-signature' })
    const deviceSwapped = swap(
      (rx) => void (rx.signed!.device!.signature = new A.ImmutableString(batch.deviceSignature) as never),
    )
    expect(verifyPrescription(deviceSwapped, { deviceKey: deviceKeyOf })).toMatchObject({
      ok: false,
      reason: 'bad-device-signature',
    })
  })

  it('what the retired hash-signing route handed out (both keys over a 32-byte digest) signs no run', () => {
    // v1 runs were signed over sha-256 of the labelled summary: exactly what `POST /api/signatures/prescription`
    // would sign for a clinician who sent that digest as a "prescription hash"
    const batch = signBatch(makeOps(3), userKey, deviceKey)
    const { v, device, user, firstSeq, count, firstPrev, lastHash } = batch
    const summary = JSON.stringify({ count, device, firstPrev, firstSeq, lastHash, user, v })
    const digest = sha256(utf8ToBytes(`clinic-mesh/batch/v1\n${summary}`))
    const forged = {
      ...batch,
      userSignature: bytesToHex(ed25519.sign(digest, userKey)),
      deviceSignature: bytesToHex(ed25519.sign(digest, deviceKey)),
    }
    expect(verifyBatch(forged, keys)).toMatchObject({ ok: false })
  })

  it('an audit head or relay proof signed by the device key is no run and no prescription signature', () => {
    const { rx } = signedRx()
    const head = signAuditHead('dev_tablet3', { seq: 1, hash: 'cd'.repeat(32) }, deviceKey)
    expect(verifyAuditHead(head, devicePub)).toBe(true)
    const proof = signRelayProof(deviceKey, 'sync', 'nonce-2', [PEER])
    const batch = signBatch(makeOps(3), userKey, deviceKey)
    for (const signature of [head.signature, proof.signature]) {
      expect(verifyBatch({ ...batch, deviceSignature: signature }, keys)).toMatchObject({
        ok: false,
        reason: 'bad-device-signature',
      })
      expect(
        ed25519.verify(
          hexToBytes(signature),
          prescriptionDeviceSigningBytes({
            patientId: str(rx.patientId),
            rxId: str(rx.id),
            hash: prescriptionHash(rx),
            signedBy: clinician.user,
            publicKey: userPub,
          }),
          hexToBytes(devicePub),
        ),
      ).toBe(false)
    }
  })
})
