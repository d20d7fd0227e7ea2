import type { Chart, PatientSummary } from './types.js'
import { str } from './values.js'

/** The searchable part of a chart (deterministic: equal documents give equal summaries). */
export function summarize(chart: Chart): PatientSummary {
  const p = chart.patient
  return {
    id: str(p.id),
    given: str(p.name.given),
    family: str(p.name.family),
    birthDate: str(p.birthDate),
    sex: str(p.sex),
    identifiers: Object.keys(p.identifiers).sort(),
    updatedAt: str(p.updatedAt) || str(p.createdAt),
  }
}
