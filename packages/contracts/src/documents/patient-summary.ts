import * as v from 'valibot'

/** The searchable part of a chart: the records package derives it, the store keeps it packed in its index documents. */
export const PatientSummarySchema = v.object({
  id: v.string(),
  given: v.string(),
  family: v.string(),
  birthDate: v.string(),
  sex: v.string(),
  /** `system|value` pairs */
  identifiers: v.array(v.string()),
  updatedAt: v.string(),
})
export type PatientSummary = v.InferOutput<typeof PatientSummarySchema>
