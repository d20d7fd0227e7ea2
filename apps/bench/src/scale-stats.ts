import type { SettledInventoryDoc } from '@clinic-mesh/contracts'
import { percentile } from './row.js'
import type { SimDevice } from './scale-device.js'
import type { ClinicStatus } from './scale-relay.js'

export interface LagFigures {
  n: number
  p50: number
  p99: number
  max: number
}

export function lagFigures(lags: number[]): LagFigures {
  if (lags.length === 0) return { n: 0, p50: NaN, p99: NaN, max: NaN }
  return { n: lags.length, p50: percentile(lags, 50), p99: percentile(lags, 99), max: Math.max(...lags) }
}

/** The initial stock of each clinic's one lot (a receive before the run). */
export const STOCK = 1_000_000
/** formulary entry and receive, written by the first device before the run */
const SETUP_OPS = 2

/**
 * The run's invariants, per clinic: every operation written comes back decided on the device that wrote it (its
 * watermark), the relay decided exactly as many as were written (more: one settled twice; fewer: lost), each dispense
 * took exactly one unit, the settled inventory verifies under the relay key, and the clinic's settler has nothing
 * pending and no conflict open. Returns one line per violation.
 */
export function checkClinics(
  clinics: SimDevice[][],
  settlers: Map<string, ClinicStatus>,
  inspect: (doc: SettledInventoryDoc, clinic: string) => { signed: boolean; stock: number },
): string[] {
  const out: string[] = []
  for (const devices of clinics) {
    const clinic = devices[0]!.clinic
    const total = devices.reduce((a, d) => a + d.written, 0)
    for (const d of devices) {
      if (d.watermark !== d.written) out.push(`${d.name}: ${d.written} written, watermark ${d.watermark}`)
    }
    const doc = devices[0]!.last
    if (!doc) {
      out.push(`${clinic}: no settled inventory on the device`)
      continue
    }
    if (doc.decidedOps !== total) out.push(`${clinic}: ${total} written, ${doc.decidedOps} decided`)
    const { signed, stock } = inspect(doc, clinic)
    if (!signed) out.push(`${clinic}: settled inventory does not verify`)
    const expected = STOCK - (total - SETUP_OPS)
    if (stock !== expected) out.push(`${clinic}: stock ${stock}, expected ${expected}`)
    const st = settlers.get(clinic)
    if (!st) out.push(`${clinic}: no instance settles it`)
    else if (st.opsSettled !== total || st.opsPending !== 0 || st.conflictsOpen !== 0)
      out.push(
        `${clinic}: settler says settled ${st.opsSettled}, pending ${st.opsPending}, conflicts ${st.conflictsOpen} (written ${total})`,
      )
  }
  return out
}
