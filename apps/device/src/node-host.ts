import type { DocHandle, Repo } from '@automerge/automerge-repo'
import type { MeshNode, Membership } from '@clinic-mesh/mesh'
import type { ChartCollection } from '@clinic-mesh/records'
import type { ChartPull, ClinicStore } from '@clinic-mesh/store'
import type { DeviceAudit } from './audit.js'
import type { DeviceAuth } from './auth.js'
import type { DeviceConfig } from './device-config.js'
import type { DeviceLedger } from './device-ledger.js'
import type { MembershipDoc } from './device-node-init.js'
import type { SameOriginGuard } from './http-util.js'
import type { RecordsApi } from './records-api.js'
import type { RelayLink } from './relay-link.js'
import type { StockApi } from './stock-api.js'
import type { FaultReportingStorage } from '@clinic-mesh/storage-nodefs'

/**
 * What the HTTP routes may see of the device node. `DeviceNode` implements it; routes depend on this interface (or a
 * `Pick` of it), never on the class, so the node and its routes do not import each other (the relay does the same
 * with `RelayApiHost`).
 */
export interface NodeHost {
  readonly config: DeviceConfig
  readonly peerId: string
  readonly repo: Repo
  readonly mesh: MeshNode
  readonly membership: Membership
  readonly webDist: string
  readonly sameOrigin: SameOriginGuard
  readonly joinHost: string
  readonly revoked: boolean
  readonly deviceSigningKey: Uint8Array
  readonly auth: DeviceAuth | undefined
  readonly audit: DeviceAudit | undefined
  readonly records: RecordsApi | undefined
  readonly stock: StockApi | undefined
  readonly store: ClinicStore<ChartCollection> | undefined
  /** a new tablet's pull of the clinic's charts, today first (undefined on a device that holds them all) */
  readonly chartPull: ChartPull | undefined
  readonly ledger: DeviceLedger | undefined
  readonly relay: RelayLink | undefined
  readonly storage: FaultReportingStorage | undefined
  readonly membershipDoc: DocHandle<MembershipDoc> | undefined
  readonly network: { mesh: boolean; relay: boolean }
  setNetwork(mesh: boolean | undefined, relay: boolean | undefined): Promise<void>
}

/** The session checks every route starts with. */
export type SessionHost = Pick<NodeHost, 'auth' | 'relay' | 'deviceSigningKey' | 'peerId'>
/** Enrolment and revocation of devices (admin routes). */
export type AdminHost = SessionHost &
  Pick<NodeHost, 'audit' | 'config' | 'joinHost' | 'membership' | 'membershipDoc' | 'repo'>
/** Signing and verifying prescriptions. */
export type PrescriptionHost = SessionHost & Pick<NodeHost, 'audit' | 'config' | 'ledger' | 'records'>
/** The browser's storage key (kept in the repo's sealed storage). */
export type BrowserKeyHost = SessionHost & Pick<NodeHost, 'storage'>
/** FHIR R4 export and import (`fhir-routes.ts`): chart reads, the ledger's dispenses, the register's names, registration. */
export type FhirHost = SessionHost &
  Pick<NodeHost, 'audit' | 'config' | 'ledger' | 'records' | 'repo' | 'revoked' | 'store'>
