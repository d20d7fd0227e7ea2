import { canonicalJson, newId, type EncounterId, type PrescriptionId } from '@clinic-mesh/contracts'
import { ed25519 } from '@noble/curves/ed25519.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js'
import {
  InvalidRecordError,
  PrescriptionChangedError,
  SignedPrescriptionError,
  UnknownRecordError,
} from './errors.js'
import { RX_TEXT_FIELDS, rxLineOf, toRxItem, type RxItemInput } from './rx-line.js'
import type { Actor, Chart, Prescription, RxItem } from './types.js'
import { imm, stamp, str } from './values.js'

export function prescriptionOf(chart: Chart, rxId: string): Prescription {
  const rx = chart.prescriptions[rxId]
  if (!rx) throw new UnknownRecordError(`no prescription ${rxId}`)
  return rx
}

export function isSigned(rx: Prescription): boolean {
  return str(rx.status) === 'signed' || rx.signed !== undefined
}

/** The draft prescription `rxId`, or `SignedPrescriptionError` if it is signed. */
export function draftOf(chart: Chart, rxId: string): Prescription {
  const rx = prescriptionOf(chart, rxId)
  if (isSigned(rx)) throw new SignedPrescriptionError(`prescription ${rxId} is signed and cannot be changed`)
  return rx
}

export interface CreatePrescriptionInput {
  id?: PrescriptionId
  encounterId?: EncounterId
  items?: RxItemInput[]
}

/** Creates a draft. Returns its id and the ids of its items (in input order). */
export function createPrescription(
  chart: Chart,
  input: CreatePrescriptionInput,
  actor: Actor,
): { id: PrescriptionId; itemIds: string[] } {
  const items: { [id: string]: RxItem } = {}
  const itemIds: string[] = []
  for (const i of input?.items ?? []) {
    const id = newId('itm')
    items[id] = toRxItem(i)
    itemIds.push(id)
  }
  if (input.encounterId !== undefined && !chart.encounters[input.encounterId]) {
    throw new UnknownRecordError(`no encounter ${input.encounterId}`)
  }
  const { by, at } = stamp(actor)
  const id = input.id ?? newId<PrescriptionId>('rx')
  if (chart.prescriptions[id]) throw new InvalidRecordError(`prescription ${id} exists already`)
  const rx: Prescription = {
    id: imm(id),
    patientId: chart.patient.id,
    status: imm('draft'),
    items,
    createdBy: by,
    createdAt: at,
  }
  if (input.encounterId !== undefined) rx.encounterId = imm(input.encounterId)
  chart.prescriptions[id] = rx
  return { id, itemIds }
}

export function addRxItem(chart: Chart, rxId: string, input: RxItemInput, actor: Actor): string {
  const rx = draftOf(chart, rxId)
  const item = toRxItem(input)
  const { by, at } = stamp(actor)
  const id = newId('itm')
  rx.items[id] = item
  rx.updatedBy = by
  rx.updatedAt = at
  return id
}

/**
 * Field-level edit of a draft line (seed 001 "lww+diff"): the line with the patch applied must be a valid coded line
 * (a line written before coding must be given its `itemId` and `quantity` to be edited); only fields whose value
 * changes are written.
 */
export function updateRxItem(
  chart: Chart,
  rxId: string,
  itemId: string,
  patch: Partial<RxItemInput>,
  actor: Actor,
): void {
  const rx = draftOf(chart, rxId)
  const item = rx.items[itemId]
  if (!item) throw new UnknownRecordError(`no item ${itemId} in prescription ${rxId}`)
  const merged: Record<string, unknown> = { ...rxLineOf(item) }
  for (const [k, v] of Object.entries(patch ?? {})) {
    if (v === undefined || v === null || v === '') delete merged[k]
    else merged[k] = v
  }
  const next = toRxItem(merged)
  const { by, at } = stamp(actor)
  let changed = false
  for (const f of RX_TEXT_FIELDS) {
    const v = next[f]
    if (str(v) === str(item[f]) && (v === undefined) === (item[f] === undefined)) continue
    if (v === undefined) delete item[f]
    else item[f] = v
    changed = true
  }
  if (next.quantity !== item.quantity) {
    item.quantity = next.quantity!
    changed = true
  }
  if (changed) {
    rx.updatedBy = by
    rx.updatedAt = at
  }
}

export function removeRxItem(chart: Chart, rxId: string, itemId: string, actor: Actor): void {
  const rx = draftOf(chart, rxId)
  if (!rx.items[itemId]) throw new UnknownRecordError(`no item ${itemId} in prescription ${rxId}`)
  const { by, at } = stamp(actor)
  delete rx.items[itemId]
  rx.updatedBy = by
  rx.updatedAt = at
}

/** The clinically relevant content that a signature covers, as deterministic JSON (sorted keys). */
export function canonicalPrescription(rx: Prescription): string {
  const items: Record<string, Record<string, string | number>> = {}
  for (const [id, item] of Object.entries(rx.items)) {
    // a line written before coding has no itemId nor quantity: its content (and old signatures) hash as before
    const out: Record<string, string | number> = {}
    for (const f of RX_TEXT_FIELDS) if (item[f] !== undefined) out[f] = str(item[f])
    if (typeof item.quantity === 'number') out.quantity = item.quantity
    items[id] = out
  }
  const content: Record<string, unknown> = { v: 1, id: str(rx.id), patientId: str(rx.patientId), items }
  if (rx.encounterId !== undefined) content.encounterId = str(rx.encounterId)
  return canonicalJson(content)
}

/** sha-256 (hex) of `canonicalPrescription(rx)`: the id of this exact version (the ledger's dispense references it). */
export function prescriptionHash(rx: Prescription): string {
  return bytesToHex(sha256(utf8ToBytes(canonicalPrescription(rx))))
}

/**
 * Context strings: the first element of every message a key signs for a prescription, so that no signature made for
 * a prescription verifies as anything else (a run of stock operations, an audit head, a relay proof...) and no
 * signature made for something else verifies as a prescription (docs/THREAT_MODEL.md §4). v1 signed the bare hash.
 */
export const PRESCRIPTION_SIGNATURE_CONTEXT = 'clinic-mesh/prescription/v2'
/** The device's key signs under its own context: it attests where the clinician's signature was made. */
export const PRESCRIPTION_DEVICE_CONTEXT = 'clinic-mesh/prescription-device/v2'

/** What a prescription signature binds: the prescription (by id, patient and content hash) and who signed it. */
export interface PrescriptionSigningFields {
  patientId: string
  rxId: string
  /** `prescriptionHash` of the signed version */
  hash: string
  /** the signing clinician's user id (`signed.signedBy.user`) */
  signedBy: string
}

/** The bytes the clinician's key signs: utf8 JSON `[context, patientId, rxId, hash, signedBy]`, never a bare hash. */
export function prescriptionSigningBytes(f: PrescriptionSigningFields): Uint8Array {
  return utf8ToBytes(
    JSON.stringify([PRESCRIPTION_SIGNATURE_CONTEXT, f.patientId, f.rxId, f.hash, f.signedBy]),
  )
}

/** The bytes the device's key signs: `[device context, patientId, rxId, hash, signedBy, clinician's public key]`. */
export function prescriptionDeviceSigningBytes(
  f: PrescriptionSigningFields & { publicKey: string },
): Uint8Array {
  return utf8ToBytes(
    JSON.stringify([PRESCRIPTION_DEVICE_CONTEXT, f.patientId, f.rxId, f.hash, f.signedBy, f.publicKey]),
  )
}

function fieldsOf(rx: Prescription, hash: string, signedBy: string): PrescriptionSigningFields {
  return { patientId: str(rx.patientId), rxId: str(rx.id), hash, signedBy }
}

function checkSecretKey(key: unknown, what: string): asserts key is Uint8Array {
  if (!(key instanceof Uint8Array) || key.length !== 32)
    throw new InvalidRecordError(`${what} must be a 32-byte Ed25519 secret key`)
}

export interface SignPrescriptionOptions {
  /** The device that signs too (a device node: its libp2p peer id and Ed25519 secret key). */
  device?: { peerId: string; secretKey: Uint8Array }
  /** The hash of the version the clinician saw: a draft that hashes otherwise is not signed (`PrescriptionChangedError`). */
  expectedHash?: string
}

/**
 * Signs the draft as it is in `chart` (the hash is computed here, never taken from a caller) with the clinician's
 * Ed25519 secret key, and with the device's key when given; afterwards every helper refuses to change it.
 */
export function signPrescription(
  chart: Chart,
  rxId: string,
  secretKey: Uint8Array,
  actor: Actor,
  options: SignPrescriptionOptions = {},
): { hash: string; signature: string; publicKey: string } {
  const rx = draftOf(chart, rxId)
  if (Object.keys(rx.items).length === 0)
    throw new InvalidRecordError('cannot sign a prescription without items')
  checkSecretKey(secretKey, 'secretKey')
  if (options.device) checkSecretKey(options.device.secretKey, 'device.secretKey')
  const hash = prescriptionHash(rx)
  if (options.expectedHash !== undefined && options.expectedHash !== hash) {
    throw new PrescriptionChangedError(
      'the prescription on this device differs from the one you saw (a change has not arrived yet, or someone else edited it); nothing was signed',
    )
  }
  const fields = fieldsOf(rx, hash, actor.user)
  const publicKey = bytesToHex(ed25519.getPublicKey(secretKey))
  const signature = bytesToHex(ed25519.sign(prescriptionSigningBytes(fields), secretKey))
  const sig: ExternalRxSignature = { hash, signature, publicKey }
  if (options.device) {
    sig.device = {
      peerId: options.device.peerId,
      signature: bytesToHex(
        ed25519.sign(prescriptionDeviceSigningBytes({ ...fields, publicKey }), options.device.secretKey),
      ),
    }
  }
  attachPrescriptionSignature(chart, rxId, sig, actor)
  return { hash, signature, publicKey }
}

/** A signature made elsewhere (with the clinician's register key and the device's own key). */
export interface ExternalRxSignature {
  hash: string
  /** Ed25519 signature (hex) of `prescriptionSigningBytes` (signedBy = the actor who attaches it). */
  signature: string
  publicKey: string
  /** The signing device's libp2p peer id and its Ed25519 signature of `prescriptionDeviceSigningBytes`. */
  device?: { peerId: string; signature: string }
}

/**
 * Marks a draft signed with a signature made outside this call: refuses it unless `hash` is the draft's current
 * canonical hash (`PrescriptionChangedError`) and `signature` verifies under `publicKey` for this prescription and
 * `actor.user` (so a draft edited meanwhile is not signed blind). The device signature is checked by
 * `verifyPrescription` given the device's key.
 */
export function attachPrescriptionSignature(
  chart: Chart,
  rxId: string,
  sig: ExternalRxSignature,
  actor: Actor,
): void {
  const rx = draftOf(chart, rxId)
  if (Object.keys(rx.items).length === 0)
    throw new InvalidRecordError('cannot sign a prescription without items')
  const hash = prescriptionHash(rx)
  if (sig.hash !== hash)
    throw new PrescriptionChangedError(
      'the prescription changed after it was sent for signing; sign it again',
    )
  let ok: boolean
  try {
    ok = ed25519.verify(
      hexToBytes(sig.signature),
      prescriptionSigningBytes(fieldsOf(rx, hash, actor.user)),
      hexToBytes(sig.publicKey),
    )
  } catch {
    ok = false // malformed hex
  }
  if (!ok) throw new InvalidRecordError('the signature does not verify under the given public key')
  const { by, at } = stamp(actor)
  rx.signed = {
    hash: imm(hash),
    signature: imm(sig.signature),
    publicKey: imm(sig.publicKey),
    signedBy: by,
    signedAt: at,
  }
  if (sig.device) rx.signed.device = { peerId: imm(sig.device.peerId), signature: imm(sig.device.signature) }
  rx.status = imm('signed')
}
