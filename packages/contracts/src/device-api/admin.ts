import * as v from 'valibot'
import { nonEmpty } from '../fields.js'

/** Devices and revocation (docs/api.md): request and reply bodies. */

/** A libp2p peer id (base58btc). */
export const PeerIdSchema = v.pipe(
  v.string('must be text'),
  v.regex(/^[1-9A-HJ-NP-Za-km-z]{20,100}$/, 'must be a libp2p peer id'),
)

/** `POST /api/devices/revoke` (admin). */
export const RevokeDeviceRequestSchema = v.object({
  peerId: PeerIdSchema,
  reason: v.pipe(v.string('must be text'), v.trim(), nonEmpty(200)),
})
export type RevokeDeviceRequest = v.InferOutput<typeof RevokeDeviceRequestSchema>

export const RevokeDeviceReplySchema = v.object({
  revoked: v.object({ peerId: v.string(), revokedAt: v.string() }),
})
export type RevokeDeviceReply = v.InferOutput<typeof RevokeDeviceReplySchema>

export const EnrolledDeviceSchema = v.object({
  peerId: v.string(),
  name: v.string(),
  enrolledAt: v.string(),
  revoked: v.boolean(),
})
export type EnrolledDevice = v.InferOutput<typeof EnrolledDeviceSchema>

/** `GET /api/devices`. */
export const DevicesReplySchema = v.object({
  self: v.string(),
  enrolled: v.array(EnrolledDeviceSchema),
  revocations: v.array(v.object({ peerId: v.string(), revokedAt: v.string(), reason: v.string() })),
})
export type DevicesReply = v.InferOutput<typeof DevicesReplySchema>

/** `POST /api/join-codes`: a one-time code (10 minutes) and where the new tablet sends its half. */
export const JoinOfferSchema = v.object({ code: v.string(), expiresAt: v.string(), url: v.string() })
export type JoinOffer = v.InferOutput<typeof JoinOfferSchema>
