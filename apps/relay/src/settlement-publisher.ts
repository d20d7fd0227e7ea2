import type { AutomergeUrl, DocHandle, Repo } from '@automerge/automerge-repo'
import type { ConflictQueueDoc, SettledInventoryDoc } from '@clinic-mesh/contracts'
import type { SettlementRound } from '@clinic-mesh/ledger'
import type { AccessMap } from './access-map.js'
import type { ClinicSettlement } from './clinic-settlement.js'
import { findDocWithin } from './find-doc.js'

/**
 * Writes a clinic's SettledInventoryDoc and ConflictQueueDoc (only the relay writes them) after each round.
 * The documents are created the first time the relay sees the clinic; their URLs live in the checkpoint and
 * in the directory's `settlement` field.
 */
export class SettlementPublisher {
  readonly inventory: DocHandle<SettledInventoryDoc>
  readonly conflicts: DocHandle<ConflictQueueDoc>
  readonly #settlement: ClinicSettlement

  private constructor(s: ClinicSettlement, inventory: DocHandle<SettledInventoryDoc>, conflicts: DocHandle<ConflictQueueDoc>) {
    this.#settlement = s
    this.inventory = inventory
    this.conflicts = conflicts
  }

  static async open(repo: Repo, s: ClinicSettlement, access: AccessMap, signal: AbortSignal): Promise<SettlementPublisher> {
    const clinic = s.clinic
    const known = s.meta.settlement
    let inventory = known.inventory ? await findDocWithin<SettledInventoryDoc>(repo, known.inventory as AutomergeUrl, 2000, signal) : null
    let conflicts = known.conflicts ? await findDocWithin<ConflictQueueDoc>(repo, known.conflicts as AutomergeUrl, 2000, signal) : null
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
    if (known.inventory !== inventory.url || known.conflicts !== conflicts.url) {
      s.meta.settlement = { inventory: inventory.url, conflicts: conflicts.url }
      await repo.flush([inventory.documentId, conflicts.documentId])
      await s.requestSave()
    }
    const pub = new SettlementPublisher(s, inventory, conflicts)
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
      inv.state === state && inv.decidedOps === s.meta.decidedOps && inv.settledAt === settledAt && JSON.stringify(inv.watermarks) === JSON.stringify(wm)
    if (!same) {
      this.inventory.change((d) => {
        d.settledAt = settledAt
        d.decidedOps = s.meta.decidedOps
        d.state = state
        for (const [device, w] of Object.entries(wm)) if (d.watermarks[device] !== w) d.watermarks[device] = w
      })
    }
    const ids = round
      ? new Set([...round.conflicts.map((c) => c.id), ...round.resolved, ...round.refused.map((r) => r.conflict)])
      : new Set(s.engine.conflicts().map((c) => c.id))
    const current = this.conflicts.doc().conflicts
    const writes: [string, string][] = []
    for (const id of ids) {
      const c = s.engine.conflict(id)
      if (!c) continue
      const json = JSON.stringify(c)
      if (current[id] !== json) writes.push([id, json])
    }
    if (writes.length > 0) {
      this.conflicts.change((d) => {
        for (const [id, json] of writes) d.conflicts[id] = json
      })
    }
  }
}
