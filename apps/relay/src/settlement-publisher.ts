import type { AutomergeUrl, DocHandle, Repo } from '@automerge/automerge-repo'
import type { ConflictQueueDoc, SettledInventoryDoc } from '@clinic-mesh/contracts'
import type { SettlementRound } from '@clinic-mesh/ledger'
import {
  signConflictQueue,
  signSettledInventory,
  verifyConflictQueue,
  verifySettledInventory,
} from '@clinic-mesh/ledger'
import type { AccessMap } from './access-map.js'
import type { ClinicSettlement } from './clinic-settlement.js'
import { findDocWithin } from './find-doc.js'
import type { RelayKey } from './relay-key.js'

/**
 * Writes a clinic's SettledInventoryDoc and ConflictQueueDoc (only the relay writes them) after each round, each
 * publish signed with the relay key under a version one higher than the last (ledger `relay-signed.ts`), in the same
 * Automerge change as the content. The documents are created the first time the relay sees the clinic; their URLs
 * live in the checkpoint and in the directory's `settlement` field. The relay's /sync refuses any peer's change to
 * them (sync-policy.ts), so its own copies hold only what it wrote.
 */
export class SettlementPublisher {
  readonly inventory: DocHandle<SettledInventoryDoc>
  readonly conflicts: DocHandle<ConflictQueueDoc>
  readonly #settlement: ClinicSettlement
  readonly #key: RelayKey

  private constructor(
    s: ClinicSettlement,
    key: RelayKey,
    inventory: DocHandle<SettledInventoryDoc>,
    conflicts: DocHandle<ConflictQueueDoc>,
  ) {
    this.#settlement = s
    this.#key = key
    this.inventory = inventory
    this.conflicts = conflicts
  }

  static async open(
    repo: Repo,
    s: ClinicSettlement,
    access: AccessMap,
    key: RelayKey,
    signal: AbortSignal,
  ): Promise<SettlementPublisher> {
    const clinic = s.clinic
    const known = s.meta.settlement
    let inventory = known.inventory
      ? await findDocWithin<SettledInventoryDoc>(repo, known.inventory as AutomergeUrl, 2000, signal)
      : null
    let conflicts = known.conflicts
      ? await findDocWithin<ConflictQueueDoc>(repo, known.conflicts as AutomergeUrl, 2000, signal)
      : null
    inventory ??= repo.create<SettledInventoryDoc>({
      kind: 'settled-inventory/1',
      clinic,
      settledAt: new Date(0).toISOString(),
      decidedOps: 0,
      watermarks: {},
      state: JSON.stringify(s.engine.inventory()),
    })
    conflicts ??= repo.create<ConflictQueueDoc>({ kind: 'conflict-queue/1', clinic, conflicts: {} })
    access.addDoc(inventory.documentId, clinic)
    access.addDoc(conflicts.documentId, clinic)
    access.markRelayOnly(inventory.documentId)
    access.markRelayOnly(conflicts.documentId)
    if (known.inventory !== inventory.url || known.conflicts !== conflicts.url) {
      s.meta.settlement = { inventory: inventory.url, conflicts: conflicts.url }
      await repo.flush([inventory.documentId, conflicts.documentId])
      await s.requestSave()
    }
    const pub = new SettlementPublisher(s, key, inventory, conflicts)
    pub.publish(null)
    s.onRound((round) => pub.publish(round))
    return pub
  }

  /** Bring both documents up to date; `round` null compares every conflict (startup). */
  publish(round: SettlementRound | null): void {
    const s = this.#settlement
    const wm = s.watermarks()
    const state = JSON.stringify(s.engine.inventory())
    const settledAt = s.meta.lastSettledAt ?? new Date(0).toISOString()
    const inv = this.inventory.doc()
    const same =
      inv.state === state &&
      inv.decidedOps === s.meta.decidedOps &&
      inv.settledAt === settledAt &&
      JSON.stringify(inv.watermarks) === JSON.stringify(wm)
    // at startup a document written before relays signed (or under another key) is signed again
    if (
      !same ||
      (round === null &&
        !verifySettledInventory(plain(inv), { relayKey: this.#key.publicKey, clinic: s.clinic }).ok)
    ) {
      const version = (inv.relaySignature?.version ?? 0) + 1
      const watermarks = { ...plain(inv.watermarks), ...wm }
      const relaySignature = signSettledInventory(
        {
          kind: 'settled-inventory/1',
          clinic: s.clinic,
          settledAt,
          decidedOps: s.meta.decidedOps,
          watermarks,
          state,
        },
        version,
        this.#key.secretKey,
      )
      this.inventory.change((d) => {
        if (d.clinic !== s.clinic) d.clinic = s.clinic
        d.settledAt = settledAt
        d.decidedOps = s.meta.decidedOps
        d.state = state
        for (const [device, w] of Object.entries(wm)) if (d.watermarks[device] !== w) d.watermarks[device] = w
        d.relaySignature = relaySignature
      })
    }
    const ids = round
      ? new Set([
          ...round.conflicts.map((c) => c.id),
          ...round.resolved,
          ...round.refused.map((r) => r.conflict),
        ])
      : new Set(s.engine.conflicts().map((c) => c.id))
    const queue = this.conflicts.doc()
    const current = queue.conflicts
    const writes: [string, string][] = []
    for (const id of ids) {
      const c = s.engine.conflict(id)
      if (!c) continue
      const json = JSON.stringify(c)
      if (current[id] !== json) writes.push([id, json])
    }
    if (
      writes.length > 0 ||
      (round === null &&
        !verifyConflictQueue(plain(queue), { relayKey: this.#key.publicKey, clinic: s.clinic }).ok)
    ) {
      const version = (queue.relaySignature?.version ?? 0) + 1
      const conflicts = { ...plain(current), ...Object.fromEntries(writes) }
      const relaySignature = signConflictQueue(
        { kind: 'conflict-queue/1', clinic: s.clinic, conflicts },
        version,
        this.#key.secretKey,
      )
      this.conflicts.change((d) => {
        if (d.clinic !== s.clinic) d.clinic = s.clinic
        for (const [id, json] of writes) d.conflicts[id] = json
        d.relaySignature = relaySignature
      })
    }
  }
}

/** A plain JSON copy of (part of) an Automerge document. */
function plain<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T
}
