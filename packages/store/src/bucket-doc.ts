/** A chart bucket: many patients' charts in one Automerge document, keyed by patient id. */
export interface BucketDoc {
  charts: { [patientId: string]: unknown }
}
