import { parseAutomergeUrl, type DocumentId, type Repo } from '@automerge/automerge-repo'
import {
  type EncounterId,
  type OpenEncounterRequest,
  type PatientId,
  type RegisterPatientRequest,
  type UpdateEncounterRequest,
} from '@clinic-mesh/contracts'
import {
  addDiagnosis,
  editNotes,
  encounterOf,
  isSigned,
  needsReview,
  openEncounter,
  plain,
  prescriptionOf,
  queueOf,
  recordDispenseNote,
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
  type DispensedLineInput,
  type Prescription,
  type EncounterStatus,
  type QueueEntry,
  type QueueStatus,
  type Sex,
} from '@clinic-mesh/records'
import type { ClinicStore } from '@clinic-mesh/store'
import { UnknownPatientError, shardOf } from '@clinic-mesh/store'
import { ClinicNotReadyError } from './errors.js'
import { visitOf, type VisitAnswer } from './archived-visit.js'
import { WarmPatientIds } from './warm-patient-ids.js'

/** The keys a device node signs a prescription with: the clinician's (unlocked at sign-in) and its own. */
export interface PrescriptionSigner {
  userKey: Uint8Array
  device: { peerId: string; secretKey: Uint8Array }
}

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
  readonly #options: { relay?: boolean }
  /** The desk's next new patients' ids, their buckets loaded ahead (not read from disk on the registration's path). */
  readonly #nextIds: WarmPatientIds

  constructor(repo: Repo, store: ClinicStore<ChartCollection>, options: { relay?: boolean } = {}) {
    this.#repo = repo
    this.#store = store
    this.#options = options
    this.#nextIds = new WarmPatientIds(store)
  }

  /**
   * One visit of a chart, archived or not (issue 17 #3). A visit still on the chart answers at once; an archived one
   * from its year's archive document, fetched from a peer or the relay when this device's window does not hold it.
   * The fetch waits `waitMs`, then the answer says it is still `fetching` (the fetch goes on: ask again) and where the
   * visit is (peers that hold its year, the relay). See `VisitAnswer`.
   */
  visit(patientId: string, encounterId: string, waitMs = 2_000): Promise<VisitAnswer> {
    return visitOf(this.#store, patientId, encounterId, { waitMs, relay: this.#options.relay === true })
  }

  /**
   * Writes to a chart and resolves once the bucket and its index shard are saved to disk. `alsoSave` runs once the
   * change is made and names one more document to save with them (the audit entry of the write: one round of saves).
   */
  async #write<T>(patientId: string, fn: (d: ChartCollection) => T, alsoSave?: () => DocumentId): Promise<T> {
    let out: T | undefined
    await within(
      this.#store.change(patientId, (d) => void (out = fn(d))),
      10_000,
      `the chart bucket of ${patientId}`,
    )
    const bucket = await this.#store.bucketFor(patientId)
    const shards = this.#store.layout.indexShards
    const shard = shards[shardOf(patientId, shards.length)]
    const ids: DocumentId[] = [bucket.documentId]
    if (shard) ids.push(parseAutomergeUrl(shard).documentId)
    if (alsoSave) ids.push(alsoSave())
    await this.#repo.flush(ids)
    return out as T
  }

  /**
   * A request parsed with the contract's `RegisterPatientRequestSchema`; the records package checks the clinical rules.
   * `audit` appends the registration's audit entry once the chart is written, and names its document: it is saved with
   * the chart (issue 17 #8: one round of saves on the desk's path instead of two).
   */
  async register(
    body: RegisterPatientRequest,
    actor: Actor,
    audit?: (id: PatientId) => DocumentId,
  ): Promise<{ id: PatientId; encounterId?: EncounterId }> {
    const reason = body.reason ?? undefined
    const id = this.#nextIds.take() // its bucket loaded ahead (the first registration's: loaded here)
    const input = {
      id,
      given: body.given ?? '',
      family: body.family ?? '',
      birthDate: body.birthDate as string,
      sex: body.sex as Sex,
      identifiers: body.identifiers,
    }
    const encounterId = await this.#write(
      id,
      (d) => {
        registerPatient(d, input, actor)
        const chart = d.charts[id] as Chart
        return reason === undefined ? undefined : openEncounter(chart, { reason }, actor)
      },
      audit && (() => audit(id)),
    ).finally(() => this.#nextIds.done(id))
    return encounterId ? { id, encounterId } : { id }
  }

  /** Resolves once the desk's next new patients' buckets are loaded (`WarmPatientIds`). */
  nextRegistrationsReady(): Promise<void> {
    return this.#nextIds.settled()
  }

  search(q: string, limit: number): unknown {
    return { patients: this.#store.search(q, { limit }) }
  }

  /** The day's queue, from the index shards' open visits and names: no chart bucket is opened. */
  queue(today = new Date()): { queue: QueueEntry[] } {
    const index = this.#store.index
    const nameOf = (pid: string): string => {
      const s = index.get(pid)
      return s ? `${s.given} ${s.family}`.trim() : ''
    }
    return { queue: queueOf(this.#store.openVisits, nameOf, today) }
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

  async openEncounter(
    body: OpenEncounterRequest,
    actor: Actor,
  ): Promise<{ id: EncounterId; patientId: string }> {
    const { patientId, reason } = body
    const queue = (body.queue ?? undefined) as QueueStatus | undefined
    const id = await this.#write(patientId, (d) => {
      const chart = d.charts[patientId]
      if (!chart) throw new UnknownPatientError(patientId)
      return openEncounter(chart, queue ? { reason, queue } : { reason }, actor)
    })
    return { id, patientId }
  }

  /** A request parsed with the contract's `UpdateEncounterRequestSchema`; the records package checks the clinical rules. */
  async updateEncounter(encounterId: string, body: UpdateEncounterRequest, actor: Actor): Promise<unknown> {
    const { patientId, vitals, notes, diagnosis, section } = body
    const edit = body.notesSplice ?? undefined
    const queue = (body.queue ?? undefined) as QueueStatus | undefined
    const status = (body.status ?? undefined) as EncounterStatus | undefined
    await this.#write(patientId, (d) => {
      const chart = d.charts[patientId]
      if (!chart) throw new UnknownPatientError(patientId)
      encounterOf(chart, encounterId)
      if (vitals) recordVitals(chart, encounterId, vitals, actor)
      if (typeof notes === 'string') editNotes(chart, encounterId, notes, actor)
      if (edit) spliceNotes(chart, encounterId, edit.index, edit.deleteCount, edit.insert, actor)
      if (diagnosis) addDiagnosis(chart, encounterId, diagnosis as unknown as DiagnosisInput, actor)
      if (queue) setQueueStatus(chart, encounterId, queue, actor)
      if (status) setEncounterStatus(chart, encounterId, status, actor)
      if (section) setSectionStatus(chart, encounterId, section.name, section.status, actor)
    })
    const { chart, review } = (await this.chart(patientId)) as {
      chart: { encounters: Record<string, unknown> }
      review: unknown
    }
    return { id: encounterId, patientId, encounter: chart.encounters[encounterId], review }
  }

  /**
   * Signs prescription `rxId` as this node's copy of the chart holds it: the hash is computed here, in the same change
   * that writes the signature. `expectedHash` (what the clinician saw) that differs → `PrescriptionChangedError`,
   * nothing signed. A retry of a request that already signed that version answers it again (`signedNow: false`).
   */
  async signPrescription(
    patientId: string,
    rxId: string,
    signer: PrescriptionSigner,
    actor: Actor,
    expectedHash?: string,
  ): Promise<{ hash: string; signedNow: boolean }> {
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

  /** The prescription as this node's copy of the chart holds it (an Automerge object: concurrent edits show), or undefined. */
  async prescription(patientId: string, rxId: string): Promise<Prescription | undefined> {
    const bucket = await within(this.#store.bucketFor(patientId), 5_000, `the chart of ${patientId}`)
    return bucket.doc().charts[patientId]?.prescriptions[rxId]
  }

  /** The pharmacy section's record of a dispense (line, lot, units) on the visit of the prescription. */
  async recordDispensed(
    patientId: string,
    encounterId: string,
    rxId: string,
    dispensed: DispensedLineInput,
    actor: Actor,
  ): Promise<void> {
    await this.#write(patientId, (d) => {
      const chart = d.charts[patientId]
      if (!chart) throw new UnknownPatientError(patientId)
      recordDispenseNote(chart, encounterId, rxId, actor, undefined, dispensed)
    })
  }
}
