import * as v from 'valibot'
import { bool, int } from '../fields.js'

/** `GET /api/status` and `POST /api/network`: the device node, its clinic, peers and links. */

/** `POST /api/network`: switch the LAN mesh and/or the relay link on or off. */
export const NetworkRequestSchema = v.object({ mesh: v.optional(bool()), relay: v.optional(bool()) })
export type NetworkRequest = v.InferOutput<typeof NetworkRequestSchema>

export const NetworkSchema = v.object({ mesh: v.boolean(), relay: v.boolean() })
export const NetworkReplySchema = v.object({ network: NetworkSchema })

export const StatusDeviceSchema = v.object({ id: v.string(), name: v.string(), peerId: v.string() })

export const RelayLinkStatusSchema = v.object({
  /** null: the node runs without a relay */
  url: v.nullable(v.string()),
  enabled: v.boolean(),
  connected: v.boolean(),
  reachable: v.boolean(),
  lastSyncAt: v.nullable(v.string()),
  lastError: v.nullable(v.string()),
})

/** A revoked node answers only who it is. */
export const RevokedStatusReplySchema = v.object({
  device: StatusDeviceSchema,
  revoked: v.literal(true),
  clinic: v.object({ ready: v.literal(false) }),
})

export const LiveStatusReplySchema = v.object({
  device: StatusDeviceSchema,
  revoked: v.optional(v.literal(false)),
  clinic: v.object({
    id: v.string(),
    name: v.string(),
    directoryUrl: v.nullable(v.string()),
    ready: v.boolean(),
  }),
  /** the clinic directory document (the same as `clinic.directoryUrl`) */
  directoryUrl: v.nullable(v.string()),
  peers: v.array(v.object({ id: v.string(), name: v.string(), peerId: v.string() })),
  network: NetworkSchema,
  relay: RelayLinkStatusSchema,
  /** ledger operations this device wrote that the relay has not settled yet; `head`: its last sequence number */
  ledger: v.object({ pending: int(0), head: int(0) }),
  /** the same count as `ledger.pending` */
  pending: v.object({ ops: int(0) }),
  documents: int(0),
})

export const StatusReplySchema = v.union([RevokedStatusReplySchema, LiveStatusReplySchema])
export type StatusReply = v.InferOutput<typeof StatusReplySchema>
export type LiveStatusReply = v.InferOutput<typeof LiveStatusReplySchema>
