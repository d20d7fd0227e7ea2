import * as v from 'valibot'
import { nonEmpty } from '../fields.js'

/**
 * The clinic membership document (docs/protocols/sync.md): enrolments and revocations keyed by libp2p peer id, each
 * signed by a clinic admin key (@clinic-mesh/mesh verifies the signatures).
 */

/** A device admitted to a clinic's mesh. */
export const EnrolmentSchema = v.object({
  clinic: nonEmpty(512),
  /** libp2p peer id of the device (its Ed25519 key), as a string */
  devicePeerId: nonEmpty(512),
  deviceName: nonEmpty(512),
  /** ISO-8601 time of enrolment, device clock of the admin device */
  enrolledAt: nonEmpty(512),
  /** hex of the admin Ed25519 public key that signed */
  by: nonEmpty(512),
  /** hex Ed25519 signature over enrolmentSigningBytes(...) */
  signature: nonEmpty(512),
})
export type Enrolment = v.InferOutput<typeof EnrolmentSchema>

/** A device removed from a clinic's mesh. Permanent: a revoked device re-joins with a new peer id. */
export const RevocationSchema = v.object({
  clinic: v.string(),
  devicePeerId: v.string(),
  revokedAt: v.string(),
  reason: v.string(),
  by: v.string(),
  signature: v.string(),
})
export type Revocation = v.InferOutput<typeof RevocationSchema>

export const MembershipDocSchema = v.object({
  kind: v.literal('clinic-membership/1'),
  enrolments: v.record(v.string(), EnrolmentSchema),
  revocations: v.record(v.string(), RevocationSchema),
})
/** The clinic membership document as synced. */
export type MembershipDoc = v.InferOutput<typeof MembershipDocSchema>
