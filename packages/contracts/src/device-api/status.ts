import * as v from 'valibot'
import { bool, int } from '../fields.js'

/** `GET /api/status` and `POST /api/network`: the device node, its clinic, peers and links. */

/** `POST /api/network`: switch the LAN mesh and/or the relay link on or off. */
export const NetworkRequestSchema = v.object({ mesh: v.optional(bool()), relay: v.optional(bool()) })
export type NetworkRequest = v.InferOutput<typeof NetworkRequestSchema>

export const NetworkSchema = v.object({ mesh: v.boolean(), relay: v.boolean() })
export const NetworkReplySchema = v.object({ network: NetworkSchema })

/** How a synced device was reached: mDNS, the address book (mDNS silent), an admin's "connect to", or it dialled us. */
export const FoundBySchema = v.picklist(['mdns', 'address-book', 'manual', 'inbound'])
export type FoundBy = v.InferOutput<typeof FoundBySchema>

/** Why no device is in reach: mesh switched off, no network interface up, mDNS cannot send, nobody answers. */
export const AloneReasonSchema = v.picklist([
  'mesh-off',
  'no-interface',
  'multicast-failing',
  'nothing-answering',
])
export type AloneReason = v.InferOutput<typeof AloneReasonSchema>

export const StatusPeerSchema = v.object({
  id: v.string(),
  name: v.string(),
  peerId: v.string(),
  foundBy: FoundBySchema,
})

/** The LAN side of the status: what this device listens on, how discovery does, why it is alone. */
export const MeshStatusSchema = v.object({
  /** this device's mesh addresses (multiaddrs), what an admin types on another tablet's "connect to" */
  addresses: v.array(v.string()),
  /** one mDNS socket per up IPv4 interface; `default` follows the routing table */
  links: v.array(
    v.object({
      name: v.string(),
      address: v.nullable(v.string()),
      ok: v.boolean(),
      error: v.nullable(v.string()),
    }),
  ),
  /** the routing table has a way out for multicast (not needed: each interface has its own socket) */
  multicastRoute: v.boolean(),
  /** devices in the address book (dialled when mDNS finds nobody) */
  addressBook: int(0),
  /** null while at least one device is synced */
  alone: v.nullable(AloneReasonSchema),
})
export type MeshStatus = v.InferOutput<typeof MeshStatusSchema>

/** `POST /api/mesh/dial` (admin): "connect to" a device by `host:port` or multiaddr. */
export const MeshDialRequestSchema = v.object({
  address: v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(300)),
})
export type MeshDialRequest = v.InferOutput<typeof MeshDialRequestSchema>
export const MeshDialReplySchema = v.object({ peerId: v.string(), address: v.string() })
export type MeshDialReply = v.InferOutput<typeof MeshDialReplySchema>

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
  peers: v.array(StatusPeerSchema),
  network: NetworkSchema,
  mesh: MeshStatusSchema,
  relay: RelayLinkStatusSchema,
  /** ledger operations this device wrote that the relay has not settled yet; `head`: its last sequence number */
  ledger: v.object({ pending: int(0), head: int(0) }),
  /** the same count as `ledger.pending` */
  pending: v.object({ ops: int(0) }),
  documents: int(0),
  /**
   * chart buckets of the clinic's layout, and how many this device holds in memory now (the rest are on disk); on a
   * tablet pulling the clinic's charts, `pull`: buckets local so far of all, today's (open visits') first
   */
  charts: v.optional(
    v.object({
      buckets: int(0),
      held: int(0),
      pull: v.optional(v.object({ done: int(0), total: int(0), todayDone: int(0), todayTotal: int(0) })),
    }),
  ),
})

export const StatusReplySchema = v.union([RevokedStatusReplySchema, LiveStatusReplySchema])
export type StatusReply = v.InferOutput<typeof StatusReplySchema>
export type LiveStatusReply = v.InferOutput<typeof LiveStatusReplySchema>
