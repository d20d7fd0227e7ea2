import { PrescriptionBalanceReplySchema, type PrescriptionBalanceReply } from '@clinic-mesh/contracts'
import { api } from './api.js'

export type LineBalanceView = PrescriptionBalanceReply['lines'][number]
export type CentralStatusView = NonNullable<PrescriptionBalanceReply['central']>

/**
 * What remains to hand out per line of one signed prescription, as the device node counts it (every tablet's
 * dispenses it holds, settled or not). Kept while the node cannot be reached: `fetchedAt` says how old it is.
 */
export class RxBalance {
  lines = $state<LineBalanceView[]>([])
  /** the central office's status (relay-signed; null: never changed centrally) */
  central = $state<CentralStatusView | null>(null)
  fetchedAt = $state<string | undefined>()
  readonly #path: string

  constructor(pid: string, rxId: string) {
    this.#path = `/api/patients/${encodeURIComponent(pid)}/prescriptions/${encodeURIComponent(rxId)}/dispensed`
  }

  line(id: string): LineBalanceView | undefined {
    return this.lines.find((l) => l.line === id)
  }

  async refresh(): Promise<void> {
    try {
      const reply = await api('GET', this.#path, PrescriptionBalanceReplySchema)
      this.lines = reply.lines
      this.central = reply.central ?? null
      this.fetchedAt = new Date().toISOString()
    } catch {
      // unreachable node or a prescription not on it yet: keep the last figures (the form says how old they are)
    }
  }
}
