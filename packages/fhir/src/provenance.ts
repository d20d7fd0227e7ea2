import type { Device, Provenance, ProvenanceAgent, Reference, Signature } from '@medplum/fhirtypes'
import type { Prescription } from '@clinic-mesh/records'
import {
  PRESCRIPTION_DEVICE_CONTEXT,
  PRESCRIPTION_SIGNATURE_CONTEXT,
  actorOf,
  userOf,
} from '@clinic-mesh/records'
import { childId, deviceRef as toDeviceRef, userRef } from './ids.js'
import { prescriptionRefs } from './medication-request.js'
import type { Plain } from './plain.js'
import { ID_SYSTEM, PROVENANCE_PARTICIPANT, SIGNATURE_TYPE } from './systems.js'

function hexToBase64(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64')
}

/** The device that co-signed, by our device id when the caller knows it (else its libp2p peer id). */
export interface SigningDevice {
  readonly device?: string
}

/**
 * Provenance of a signed prescription: its MedicationRequests as targets, recorded at signing, the clinician as
 * author and the signing device (when it co-signed) as verifier; the signed hash as the source entity; both Ed25519
 * signatures (raw bytes, base64) with the ASTM type (author's signature, verification signature) and the signed
 * message's context as `policy`. Undefined for an unsigned prescription.
 */
export function toPrescriptionProvenance(
  rx: Plain<Prescription>,
  device: SigningDevice = {},
): Provenance | undefined {
  const s = rx.signed
  if (rx.status !== 'signed' || !s || Object.keys(rx.items).length === 0) return undefined
  const clinician = userRef(userOf(s.signedBy))
  const deviceRef: Reference<Device> = toDeviceRef(device.device ?? actorOf(s.signedBy)?.device ?? '')
  const agent: ProvenanceAgent[] = [
    { type: { coding: [{ system: PROVENANCE_PARTICIPANT, code: 'author' }] }, who: clinician },
  ]
  const signature: Signature[] = [
    {
      type: [{ system: SIGNATURE_TYPE, code: '1.2.840.10065.1.12.1.1', display: "Author's Signature" }],
      when: s.signedAt,
      who: clinician,
      data: hexToBase64(s.signature),
    },
  ]
  const policy = [`urn:clinic-mesh:${PRESCRIPTION_SIGNATURE_CONTEXT}`]
  if (s.device) {
    agent.push({ type: { coding: [{ system: PROVENANCE_PARTICIPANT, code: 'verifier' }] }, who: deviceRef })
    signature.push({
      type: [{ system: SIGNATURE_TYPE, code: '1.2.840.10065.1.12.1.5', display: 'Verification Signature' }],
      when: s.signedAt,
      who: deviceRef,
      data: hexToBase64(s.device.signature),
    })
    policy.push(`urn:clinic-mesh:${PRESCRIPTION_DEVICE_CONTEXT}`)
  }
  return {
    resourceType: 'Provenance',
    id: childId(rx.id, 'signed'),
    target: prescriptionRefs(rx),
    recorded: s.signedAt,
    policy,
    activity: { text: 'prescription signed' },
    agent,
    entity: [{ role: 'source', what: { identifier: { system: ID_SYSTEM.prescriptionHash, value: s.hash } } }],
    signature,
  }
}
