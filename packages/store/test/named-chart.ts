import type { PatientSummary } from '@clinic-mesh/store'

/** What every store test keeps of a chart: a name (each test adds its own fields). */
export interface NamedChart {
  given: string
  family: string
}

/** The summary a store keeps of a test chart: its name; birth date and sex fixed (the tests search by name). */
export function summarizeNamed<C extends NamedChart>(
  bucket: { charts: { [id: string]: C } },
  id: string,
): PatientSummary | undefined {
  const c = bucket.charts[id]
  return (
    c && {
      id,
      given: c.given,
      family: c.family,
      birthDate: '2000-01-01',
      sex: 'unknown',
      identifiers: [],
      updatedAt: '',
    }
  )
}

/** A registration as the store's bulk writes take it: a chart named `G<id> Phiri`, with an open visit's reason. */
export function registerNamed<B extends { charts: { [id: string]: NamedChart & { open?: string } } }>(
  id: string,
  open?: string,
): { patientId: string; fn: (d: B) => void } {
  return {
    patientId: id,
    fn: (d) => void (d.charts[id] = { given: `G${id}`, family: 'Phiri', ...(open ? { open } : {}) }),
  }
}
