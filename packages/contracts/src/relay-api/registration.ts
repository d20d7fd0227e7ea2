import * as v from 'valibot'
import { hex64, nonEmpty } from '../fields.js'
import { EnrolmentSchema } from '../documents/membership.js'
import { ClinicIdSchema } from './clinic-id.js'

/** `GET /api/challenge`: a single-use nonce for a device to sign (registration, `/sync`). */
export const ChallengeReplySchema = v.object({ nonce: v.string(), expiresAt: v.string() })
export type ChallengeReply = v.InferOutput<typeof ChallengeReplySchema>

/** The device key's signature over a relay nonce and the request's fields. */
export const RelayProofSchema = v.object({ nonce: nonEmpty(64), signature: nonEmpty(128) })

/** `POST /api/clinics`: a device registers its clinic with the relay (docs/relay-api.md). */
export const RegistrationRequestSchema = v.object({
  clinic: ClinicIdSchema,
  /** the clinic directory document (the relay also checks the URL's checksum) */
  directoryUrl: v.pipe(nonEmpty(200), v.startsWith('automerge:', 'must be an automerge: URL')),
  /** the device's automerge-repo peer id (what it syncs as) */
  peerId: nonEmpty(),
  /** the device's libp2p peer id: its Ed25519 key, named by the enrolment, which signs the proof */
  devicePeerId: nonEmpty(),
  /** the device's enrolment, signed by a clinic admin key (checked against the keys the relay pinned) */
  enrolment: EnrolmentSchema,
  /** the clinic's admin public keys (hex), pinned by the relay at the clinic's first registration */
  adminPublicKeys: v.pipe(
    v.array(hex64('a hex Ed25519 public key'), 'must be a list of hex Ed25519 public keys'),
    v.minLength(1, 'must name at least one admin key'),
    v.maxLength(16, 'must name at most 16 admin keys'),
  ),
  /** the device key's signature over a relay nonce and (clinic, directoryUrl, peerId, devicePeerId) */
  proof: RelayProofSchema,
})
export type RegistrationRequest = v.InferOutput<typeof RegistrationRequestSchema>

/** `POST /api/clinics` (201 first time, 200 again): the relay's key, which the device pins at the first registration. */
export const RegistrationReplySchema = v.object({
  clinic: v.string(),
  directoryUrl: v.string(),
  /** the relay-only documents: settled inventory and conflict queue URLs (once the relay has written them) */
  settlement: v.object({ inventory: v.optional(v.string()), conflicts: v.optional(v.string()) }),
  relayKey: v.string(),
})
export type RegistrationReply = v.InferOutput<typeof RegistrationReplySchema>

/** `GET /api/identity?nonce=&clinic=&peer=`: the relay's signature over the device's own nonce with its identity key. */
export const IdentityReplySchema = v.object({ relayKey: v.string(), signature: v.string() })
export type IdentityReply = v.InferOutput<typeof IdentityReplySchema>
