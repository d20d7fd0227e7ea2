import type { AutomergeUrl, DocHandle, PeerId } from '@automerge/automerge-repo'
import { Repo } from '@automerge/automerge-repo'
import type {
  ClinicDirectoryDoc,
  ClinicId,
  ConflictQueueDoc,
  DeviceId,
  DocUrl,
  LocationId,
  Role,
  SettledInventoryDoc,
  UserId,
} from '@clinic-mesh/contracts'
import type { DeviceLogDoc, InventoryState, Operation, OperationBody } from '@clinic-mesh/ledger'
import { DeviceLog, appendOperation, lastLogOp, newLogDoc, packFor, periodOf } from '@clinic-mesh/ledger'
import { createTestClinic, eventually, tempDir, type TempDir } from '@clinic-mesh/testing'
import type { AdminKeyPair } from '@clinic-mesh/mesh'
import { RelayProcess } from './relay-process.js'
import {
  AuthenticatedRelayAdapter,
  clinicAdmin,
  enrol,
  httpBase,
  newDeviceKey,
  prove,
  type DeviceKey,
} from './relay-auth.js'

export const SITE = 'site-a' as LocationId

/**
 * A device node as the relay sees it, in the test process: automerge-repo over WebSocket, a clinic directory,
 * a records root with one shard and one bucket, and a ledger DeviceLog appending to per-period log documents.
 */
export class TestDevice {
  readonly repo: Repo
  readonly clinic: string
  readonly log: DeviceLog
  directory!: DocHandle<ClinicDirectoryDoc>
  readonly logDocs = new Map<string, DocHandle<DeviceLogDoc>>()
  /** this device's libp2p key: it proves itself to the relay with it */
  readonly key: DeviceKey = newDeviceKey()
  readonly #admin: AdminKeyPair
  readonly #name: string

  /** `admin`: the clinic admin key that enrols this device (default: one per clinic id in this test process). */
  constructor(syncUrl: string, clinic: string, device: string, admin: AdminKeyPair = clinicAdmin(clinic)) {
    this.clinic = clinic
    this.#admin = admin
    this.#name = device
    this.repo = new Repo({
      network: [new AuthenticatedRelayAdapter(syncUrl, this.key)],
      peerId: `peer-${device}-${Math.random().toString(36).slice(2)}` as PeerId,
    })
    this.log = new DeviceLog({
      device: device as DeviceId,
      session: { user: `u-${device}` as UserId, role: 'pharmacist', site: SITE },
    })
  }

  /** First device of a clinic: create the directory and records layout. */
  createClinic(): void {
    this.directory = createTestClinic(this.repo, this.clinic)
  }

  /** Register with the relay as the device node does: its enrolment, the admin keys, a signed relay nonce. */
  async register(relay: RelayProcess, directoryUrl: string = this.directory.url) {
    const peerId = this.repo.peerId as string
    const body = {
      clinic: this.clinic,
      directoryUrl,
      peerId,
      devicePeerId: this.key.peerId,
      enrolment: enrol(this.clinic, this.key, this.#name, this.#admin),
      adminPublicKeys: [Buffer.from(this.#admin.publicKey).toString('hex')],
      proof: await prove(httpBase(relay.syncUrl), this.key, 'register', [
        this.clinic,
        directoryUrl,
        peerId,
        this.key.peerId,
      ]),
    }
    return relay.api('POST', '/api/clinics', body)
  }

  /** A second device: fetch the clinic's directory through the relay (after registering). */
  async joinClinic(directoryUrl: AutomergeUrl): Promise<void> {
    // the relay accepts this device's socket only once registered: a find() before it reconnects answers "unavailable"
    await eventually(() => this.repo.peers.length > 0 || undefined, {
      timeoutMs: 10_000,
      on: [[this.repo.networkSubsystem, 'peer']],
      what: `${this.#name} connected to the relay`,
    })
    this.directory = await this.repo.find<ClinicDirectoryDoc>(directoryUrl)
  }

  /** Append operations (as `role`) to this device's log document of the current period, listed in the directory. */
  append(bodies: OperationBody[], role: Role = 'pharmacist'): Operation[] {
    this.log.setSession({ ...this.log.session, role })
    const ops = bodies.map((b) => this.log.append(b))
    for (const op of ops) this.appendRaw(op, periodOf(op.hlc.wall))
    return ops
  }

  /** Put anything into the log document (tests of the relay's validation). */
  appendRaw(op: unknown, period: string = periodOf(Date.now())): void {
    let h = this.logDocs.get(period)
    if (!h) {
      h = this.repo.create<DeviceLogDoc>(newLogDoc(this.clinic as ClinicId, this.log.device, period))
      this.logDocs.set(period, h)
      const url = h.url as string as DocUrl
      this.directory.change((d) => {
        d.ledgerLogs[this.log.device] ??= {}
        d.ledgerLogs[this.log.device]![period] = url
      })
    }
    const last = lastLogOp(h.doc())
    const chained =
      last === undefined || ((op as Operation).prev === last.hash && (op as Operation).seq === last.seq + 1)
    h.change((d) => {
      // the ledger's own append checks (device, period, chain) unless a test wrote garbage before
      if (chained && (op as Operation).device === this.log.device) appendOperation(d, op as Operation)
      else d.ops.push(packFor(d.schema, op as Operation))
    })
  }

  /** The relay's settled inventory doc, once its URL is in the directory and it satisfies `until`. */
  async settled(
    until: (doc: SettledInventoryDoc, state: InventoryState) => boolean,
    timeoutMs = 10_000,
  ): Promise<SettledInventoryDoc> {
    const h = await this.#relayDoc<SettledInventoryDoc>('inventory', timeoutMs)
    return eventually(
      () => {
        const d = h.doc()
        return d && until(d, JSON.parse(d.state) as InventoryState) ? d : undefined
      },
      { timeoutMs, on: [[h, 'change']], what: 'settled inventory' },
    )
  }

  async conflictQueue(
    until: (doc: ConflictQueueDoc) => boolean,
    timeoutMs = 10_000,
  ): Promise<ConflictQueueDoc> {
    const h = await this.#relayDoc<ConflictQueueDoc>('conflicts', timeoutMs)
    return eventually(() => (until(h.doc()) ? h.doc() : undefined), {
      timeoutMs,
      on: [[h, 'change']],
      what: 'conflict queue',
    })
  }

  /** The relay's settled inventory document, once its URL is in the directory. */
  inventory(timeoutMs = 10_000): Promise<DocHandle<SettledInventoryDoc>> {
    return this.#relayDoc<SettledInventoryDoc>('inventory', timeoutMs)
  }

  async #relayDoc<T>(which: 'inventory' | 'conflicts', timeoutMs: number): Promise<DocHandle<T>> {
    const url = await eventually(() => this.directory.doc().settlement[which], {
      timeoutMs,
      on: [[this.directory, 'change']],
      what: `settlement.${which} in the directory`,
    })
    return this.repo.find<T>(url as string as AutomergeUrl)
  }

  async close(): Promise<void> {
    await this.repo.shutdown()
  }
}

/** Quantity of `batch` at SITE in an InventoryState. */
export function qty(state: InventoryState, batch: string): number {
  const cells: Record<string, number> = { ...state.stock[SITE] }
  return cells[batch] ?? 0
}

/** A relay process in a temp dir with one clinic registered by a TestDevice; `stop()` undoes all three (a test that restarts the relay puts the new one in `relay`). */
export interface RelayWithClinic {
  dir: TempDir
  relay: RelayProcess
  dev: TestDevice
  stop(): Promise<void>
}

export async function startRelayWithClinic(
  prefix: string,
  clinic: string,
  device: string,
): Promise<RelayWithClinic> {
  const dir = await tempDir(prefix)
  const relay = await RelayProcess.start(dir.path)
  const dev = new TestDevice(relay.syncUrl, clinic, device)
  dev.createClinic()
  const reg = await dev.register(relay)
  if (reg.status !== 201) throw new Error(`clinic ${clinic} not registered: ${reg.status}`)
  const env: RelayWithClinic = {
    dir,
    relay,
    dev,
    async stop() {
      await dev.close()
      await env.relay.stop() // the relay a test restarted, if it did
      await dir.remove()
    },
  }
  return env
}
