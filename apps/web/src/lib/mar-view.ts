import { effectiveMar, str, type Chart, type MarEvent, type MarStatus } from '@clinic-mesh/records'

/** One administration as the chart shows it: the entry first written, then each correction of it, in order. */
export interface MarChain {
  /** The first entry, then every correction recorded after it (corrections of corrections included), oldest first. */
  readonly entries: readonly MarEvent[]
  /** The entry in force (records' `effectiveMar`); undefined when the chain was withdrawn (entered in error). */
  readonly current: MarEvent | undefined
}

/** What the nurse entered on the form: the section turns it into a MAR entry (records `recordAdministration`). */
export interface MarFormValues {
  status: MarStatus
  administeredAt: string
  dose: string
  route: string
  note?: string
}

/** The words a nurse reads for each status. */
export const MAR_WORDS: Readonly<Record<MarStatus, string>> = {
  given: 'Given',
  held: 'Held',
  refused: 'Refused by the patient',
  missed: 'Missed',
  'entered-in-error': 'Entered in error — withdrawn',
}

/** The statuses a nurse records (a correction may also withdraw an entry: `entered-in-error`). */
export const RECORDABLE: readonly MarStatus[] = ['given', 'held', 'refused']

const byRecorded = (a: MarEvent, b: MarEvent): number =>
  str(a.recordedAt).localeCompare(str(b.recordedAt)) || str(a.id).localeCompare(str(b.id))

/**
 * The MAR of one prescription line as chains (an administration and its corrections), ordered by administration
 * time. Which entry is in force is records' rule (`effectiveMar`), not this view's.
 */
export function marOfLine(chart: Chart, rxId: string, lineId: string): MarChain[] {
  const all = Object.values(chart.mar).filter(
    (e) => str(e.prescriptionId) === rxId && str(e.itemId) === lineId,
  )
  const children = new Map<string, MarEvent[]>()
  for (const e of all) {
    if (e.corrects === undefined) continue
    const list = children.get(str(e.corrects)) ?? []
    list.push(e)
    children.set(str(e.corrects), list)
  }
  const inForce = new Map(effectiveMar(chart).map((e) => [e.chain[0] ?? '', e.event]))
  const roots = all.filter((e) => e.corrects === undefined || !chart.mar[str(e.corrects)])
  roots.sort((a, b) => str(a.administeredAt).localeCompare(str(b.administeredAt)) || byRecorded(a, b))
  return roots.map((root) => {
    const entries: MarEvent[] = [root]
    const seen = new Set([str(root.id)])
    for (let i = 0; i < entries.length; i++) {
      const next = (children.get(str(entries[i]!.id)) ?? []).filter((e) => !seen.has(str(e.id)))
      for (const e of next) seen.add(str(e.id))
      entries.push(...next)
    }
    const [first, ...rest] = entries
    return { entries: [first!, ...rest.sort(byRecorded)], current: inForce.get(str(root.id)) }
  })
}
