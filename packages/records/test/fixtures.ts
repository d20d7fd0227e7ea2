import * as A from '@automerge/automerge'
import type { DeviceId, PatientId, UserId } from '@clinic-mesh/contracts'
import {
  emptyCollection,
  registerPatient,
  type Actor,
  type ChartCollection,
  type RegisterPatientInput,
} from '@clinic-mesh/records'

export const T0 = '2026-11-20T08:30:00.000Z'

export function actor(user: string, device: string, at = T0): Actor {
  return { user: user as UserId, device: device as DeviceId, at }
}

export const nurse = actor('usr_nurse', 'dev_tab1')
export const clerk = actor('usr_clerk', 'dev_tab2')
export const doctor = actor('usr_doc', 'dev_tab3')
export const pharmacist = actor('usr_pharm', 'dev_tab4')

export function grace(extra: Partial<RegisterPatientInput> = {}): RegisterPatientInput {
  return {
    given: 'Grace',
    family: 'Banda',
    birthDate: '1984-03-12',
    sex: 'female',
    identifiers: [{ system: 'national-id', value: 'MW100001' }],
    ...extra,
  }
}

/** A collection holding one registered patient, and its id. */
export function withPatient(input: RegisterPatientInput = grace()): {
  doc: A.Doc<ChartCollection>
  pid: PatientId
} {
  let pid = '' as PatientId
  const doc = A.change(A.from(emptyCollection()), (d) => {
    pid = registerPatient(d, input, clerk)
  })
  return { doc, pid }
}

/** Independent replicas of `doc`, each with its own actor id (what separate tablets hold). */
export function replicas<T>(doc: A.Doc<T>, n: number): A.Doc<T>[] {
  const out: A.Doc<T>[] = []
  for (let i = 0; i < n; i++) out.push(A.clone(doc))
  return out
}

export function mergeAll<T>(docs: A.Doc<T>[]): A.Doc<T> {
  let merged = A.clone(docs[0]!)
  for (const d of docs.slice(1)) merged = A.merge(merged, d)
  return merged
}

/** The error thrown by `fn`, or a failure. */
export function thrown(fn: () => unknown): Error {
  try {
    fn()
  } catch (err) {
    return err as Error
  }
  throw new Error('expected an error')
}
