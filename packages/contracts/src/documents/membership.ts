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

/** Addresses a device claims in a reach record: at most this many, each at most `REACH_ADDRESS_MAX_CHARS`. */
export const REACH_MAX_ADDRESSES = 8
export const REACH_ADDRESS_MAX_CHARS = 256

/**
 * Where a device can be dialled on the LAN (docs/protocols/sync.md, "Reach records"): its own multiaddrs (each with
 * `/p2p/<devicePeerId>`), signed with the device's libp2p key so that no member can plant addresses for another.
 * A hint for other devices' address books (dialled when mDNS finds nobody), not an authority: a dial still passes
 * the private network and the membership gate.
 */
export const ReachClaimSchema = v.object({
  clinic: nonEmpty(512),
  devicePeerId: nonEmpty(512),
  addrs: v.pipe(
    v.array(v.pipe(v.string(), v.maxLength(REACH_ADDRESS_MAX_CHARS))),
    v.maxLength(REACH_MAX_ADDRESSES),
  ),
  /** ISO-8601 time the device wrote it (its own clock) */
  at: nonEmpty(64),
  /** hex signature by the device's libp2p key over reachSigningBytes(...) */
  signature: nonEmpty(512),
})
export type ReachClaim = v.InferOutput<typeof ReachClaimSchema>

export const MembershipDocSchema = v.object({
  kind: v.literal('clinic-membership/1'),
  enrolments: v.record(v.string(), EnrolmentSchema),
  revocations: v.record(v.string(), RevocationSchema),
  /** each device's own reach record, keyed by its peer id (absent in documents written before) */
  reach: v.optional(v.record(v.string(), v.unknown())),
})
/** The clinic membership document as synced. */
export type MembershipDoc = v.InferOutput<typeof MembershipDocSchema>
