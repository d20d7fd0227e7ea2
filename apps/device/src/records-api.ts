import { parseAutomergeUrl, type DocumentId, type Repo } from '@automerge/automerge-repo'
import { InvalidInputError, newId, type EncounterId, type PatientId } from '@clinic-mesh/contracts'
import {
  addDiagnosis,
  editNotes,
  encounterOf,
  isSigned,
  needsReview,
  openEncounter,
  plain,
  prescriptionOf,
  recordVitals,
  registerPatient,
  setEncounterStatus,
  setQueueStatus,
  setSectionStatus,
  SignedPrescriptionError,
  signPrescription,
  spliceNotes,
  str,
  type Actor,
  type Chart,
  type ChartCollection,
  type DiagnosisInput,
  type EncounterStatus,
  type IdentifierInput,
  type QueueStatus,
  type Sex,
} from '@clinic-mesh/records'
import type { ClinicStore} from '@clinic-mesh/store';
import { UnknownPatientError, shardOf } from '@clinic-mesh/store'
import { ClinicNotReadyError } from './errors.js'
import { field } from './http-util.js'

type Body = Record<string, unknown>

/** The keys a device node signs a prescription with: the clinician's (unlocked at sign-in) and its own. */
export interface PrescriptionSigner {
  userKey: Uint8Array
  device: { peerId: string; secretKey: Uint8Array }
}
const SECTIONS = ['registration', 'triage', 'clinician', 'pharmacy'] as const

/** Bounds a wait for a chart bucket that no reachable peer may have yet. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ClinicNotReadyError(`${what} is not on this device yet`)), ms)
  })
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer))
}

/** Patient and encounter endpoints: validate the body, apply records helpers through the store, flush, answer. */
export class RecordsApi {
  readonly #repo: Repo
  readonly #store: ClinicStore<ChartCollection>

  constructor(repo: Repo, store: ClinicStore<ChartCollection>) {
    this.#repo = repo
    this.#store = store
  }

  /** Writes to a chart and resolves once the bucket and its index shard are saved to disk. */
  async #write<T>(patientId: string, fn: (d: ChartCollection) => T): Promise<T> {
    let out: T | undefined
    await within(this.#store.change(patientId, (d) => void (out = fn(d))), 10_000, `the chart bucket of ${patientId}`)
    const bucket = await this.#store.bucketFor(patientId)
    const shards = this.#store.layout.indexShards
    const shard = shards[shardOf(patientId, shards.length)]
    const ids: DocumentId[] = [bucket.documentId]
    if (shard) ids.push(parseAutomergeUrl(shard).documentId)
    await this.#repo.flush(ids)
    return out as T
  }

  async register(body: Body, actor: Actor): Promise<{ id: PatientId; encounterId?: EncounterId }> {
    const identifiers = body.identifiers
    if (identifiers !== undefined && !Array.isArray(identifiers)) throw new InvalidInputError('identifiers must be an array')
    for (const k of ['given', 'family', 'birthDate', 'sex']) {
      if (body[k] !== undefined && typeof body[k] !== 'string') throw new InvalidInputError(`${k} must be a string`)
    }
    const reason = field.optString(body, 'reason')
    const id = newId<PatientId>('pt')
    const input = {
      id,
      given: (body.given as string | undefined) ?? '',
      family: (body.family as string | undefined) ?? '',
      birthDate: body.birthDate as string,
      sex: body.sex as Sex,
      identifiers: (identifiers ?? []) as IdentifierInput[],
    }
    const encounterId = await this.#write(id, (d) => {
      registerPatient(d, input, actor)
      const chart = d.charts[id] as Chart
      return reason === undefined ? undefined : openEncounter(chart, { reason }, actor)
    })
    return encounterId ? { id, encounterId } : { id }
  }

  search(q: string, limit: number): unknown {
    return { patients: this.#store.search(q, { limit }) }
  }

  async chart(id: string): Promise<unknown> {
    const bucket = await within(this.#store.bucketFor(id), 5_000, `the chart of ${id}`)
    const chart = bucket.doc().charts[id]
    if (!chart) throw new UnknownPatientError(id)
    return { id, chart: plain(chart), review: needsReview(bucket.doc(), { patientIds: [id] }) }
  }

  duplicates(id: string): unknown {
    if (!this.#store.index.get(id)) throw new UnknownPatientError(id)
    const ids = this.#store.index.possibleDuplicatesOf(id)
    return { id, candidates: ids.flatMap((c) => this.#store.index.get(c) ?? []) }
  }

  async openEncounter(body: Body, actor: Actor): Promise<{ id: EncounterId; patientId: string }> {
    const patientId = field.string(body, 'patientId')
    const reason = field.string(body, 'reason')
    const queue = field.optString(body, 'queue') as QueueStatus | undefined
    const id = await this.#write(patientId, (d) => {
      const chart = d.charts[patientId]
      if (!chart) throw new UnknownPatientError(patientId)
      return openEncounter(chart, queue ? { reason, queue } : { reason }, actor)
    })
    return { id, patientId }
  }

  async updateEncounter(encounterId: string, body: Body, actor: Actor): Promise<unknown> {
    const patientId = field.string(body, 'patientId')
    const vitals = field.object(body, 'vitals')
    const notes = body.notes
    if (notes !== undefined && typeof notes !== 'string') throw new InvalidInputError('notes must be a string')
    const splice = field.object(body, 'notesSplice')
    const diagnosis = field.object(body, 'diagnosis')
    const queue = field.optString(body, 'queue') as QueueStatus | undefined
    const status = field.optString(body, 'status') as EncounterStatus | undefined
    const section = field.object(body, 'section')
    if (section && !(SECTIONS as readonly unknown[]).includes(section.name)) throw new InvalidInputError(`section.name must be one of ${SECTIONS.join(', ')}`)
    const edit = splice ? { index: field.int(splice, 'index'), deleteCount: field.int(splice, 'deleteCount'), insert: splice.insert } : undefined
    if (edit && typeof edit.insert !== 'string') throw new InvalidInputError('notesSplice.insert must be a string')
    await this.#write(patientId, (d) => {
      const chart = d.charts[patientId]
      if (!chart) throw new UnknownPatientError(patientId)
      encounterOf(chart, encounterId)
      if (vitals) recordVitals(chart, encounterId, vitals, actor)
      if (typeof notes === 'string') editNotes(chart, encounterId, notes, actor)
      if (edit) spliceNotes(chart, encounterId, edit.index, edit.deleteCount, edit.insert as string, actor)
      if (diagnosis) addDiagnosis(chart, encounterId, diagnosis as unknown as DiagnosisInput, actor)
      if (queue) setQueueStatus(chart, encounterId, queue, actor)
      if (status) setEncounterStatus(chart, encounterId, status, actor)
      if (section) setSectionStatus(chart, encounterId, section.name as (typeof SECTIONS)[number], section.status as 'done', actor)
    })
    const { chart, review } = (await this.chart(patientId)) as { chart: { encounters: Record<string, unknown> }; review: unknown }
    return { id: encounterId, patientId, encounter: chart.encounters[encounterId], review }
  }

  /**
   * Signs prescription `rxId` as this node's copy of the chart holds it: the hash is computed here, in the same change
   * that writes the signature. `expectedHash` (what the clinician saw) that differs → `PrescriptionChangedError`,
   * nothing signed. A retry of a request that already signed that version answers it again (`signedNow: false`).
   */
  async signPrescription(patientId: string, rxId: string, signer: PrescriptionSigner, actor: Actor, expectedHash?: string): Promise<{ hash: string; signedNow: boolean }> {
    return this.#write(patientId, (d) => {
      const chart = d.charts[patientId]
      if (!chart) throw new UnknownPatientError(patientId)
      const rx = prescriptionOf(chart, rxId)
      if (isSigned(rx)) {
        const hash = str(rx.signed?.hash)
        if (expectedHash !== undefined && hash === expectedHash) return { hash, signedNow: false }
        throw new SignedPrescriptionError(`prescription ${rxId} is signed already`)
      }
      const options = { device: signer.device, ...(expectedHash !== undefined ? { expectedHash } : {}) }
      return { hash: signPrescription(chart, rxId, signer.userKey, actor, options).hash, signedNow: true }
    })
  }
}
