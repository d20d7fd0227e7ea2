import type { PatientSummary } from '@clinic-mesh/store'
import { summarize as summarizeChart, type ChartCollection } from '@clinic-mesh/records'

/** The search summary of one patient of a chart bucket (what ClinicStore indexes). */
export function summarizeBucket(b: ChartCollection, id: string): PatientSummary | undefined {
  const c = b.charts[id]
  return c ? summarizeChart(c) : undefined
}
