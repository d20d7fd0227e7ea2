import type { PatientSummary } from '@clinic-mesh/store'
import {
  decodeOpenVisits,
  encodeOpenVisits,
  openVisitsOf,
  summarize as summarizeChart,
  type ChartCollection,
} from '@clinic-mesh/records'

/** The search summary of one patient of a chart bucket (what ClinicStore indexes). */
export function summarizeBucket(b: ChartCollection, id: string): PatientSummary | undefined {
  const c = b.charts[id]
  return c ? summarizeChart(c) : undefined
}

/** The open visits of one chart of a bucket, packed (records' `encodeOpenVisits`), as a device node derives them. */
export function openVisitsOfBucket(b: ChartCollection, id: string): string | undefined {
  const c = b.charts[id]
  return c ? encodeOpenVisits(openVisitsOf(c)) : undefined
}

/** When each packed open visit arrived: what today documents sort by (a device node's `arrivalsOfVisits`). */
export const arrivalsOf = (packed: string): string[] => decodeOpenVisits(packed).map((v) => v.arrivedAt)
