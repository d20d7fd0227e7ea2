import type { Bundle, BundleEntry, OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes'
import type { DeviceId, PatientId } from '@clinic-mesh/contracts'
import { newId } from '@clinic-mesh/contracts'
import { fhirId, readImportBundle, type ImportPatient } from '@clinic-mesh/fhir'
import {
  addProblem,
  newChart,
  recordAllergy,
  str,
  type Actor,
  type Chart,
  type ChartCollection,
} from '@clinic-mesh/records'
import { can } from '@clinic-mesh/security'
import type { BulkWrite } from '@clinic-mesh/store'
import type { Principal } from './auth.js'
import type { FhirHost } from './node-host.js'
import { ready } from './route-context.js'

type Response = NonNullable<BundleEntry['response']>

function outcome(
  severity: OperationOutcomeIssue['severity'],
  code: OperationOutcomeIssue['code'],
  text: string,
  name?: string,
): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: [
      {
        severity,
        code,
        diagnostics: text,
        ...(name ? { details: { coding: [{ system: 'urn:clinic-mesh:error', code: name }], text } } : {}),
      },
    ],
  }
}

function rejected(reason: string, name = 'InvalidRecordError'): Response {
  return { status: '422 Unprocessable Entity', outcome: outcome('error', 'processing', reason, name) }
}

/** The existing patient this one is, by any identifier (ours included): the key an import is idempotent by. */
function existing(node: FhirHost, p: ImportPatient, seen: Map<string, string>): string | undefined {
  const store = ready(node.store)
  if (p.ourId && store.index.get(p.ourId)) return p.ourId
  for (const key of p.keys) {
    const earlier = seen.get(key)
    if (earlier) return earlier
    const hit = store.index.withIdentifier(key)[0]
    if (hit) return hit.id
  }
  return undefined
}

const norm = (s: string): string => s.trim().toLowerCase()

/**
 * `POST /fhir`: seeds the clinic from a FHIR Bundle (collection, batch or transaction) of Patients with their
 * AllergyIntolerances and Conditions, through records' registration helpers (`newChart`, `recordAllergy`,
 * `addProblem`) in one store write per bucket. Idempotent by identifier: a Patient whose identifier (or clinic-mesh id)
 * is known is not registered again (`200`), and only the allergies and problems its chart lacks are added. A new
 * patient who shares an identifier or name + birth date + sex with another is flagged as a possible duplicate (a
 * warning, as registration's duplicates list). Each rejected entry is answered with an OperationOutcome giving the
 * reason; nothing else is dropped. Returns a `batch-response` Bundle, one entry per entry, in order.
 */
export function importBundle(
  node: FhirHost,
  body: unknown,
  p: Principal,
): Promise<{ bundle: Bundle; created: string[] }> {
  // one import at a time per node: the store's bulk write lets other requests in between buckets, and an import
  // must see every patient the one before it registered (a Bundle posted twice at once creates nothing twice)
  const run = (): Promise<{ bundle: Bundle; created: string[] }> => importNow(node, body, p)
  const next = (importing.get(node) ?? Promise.resolve()).then(run, run)
  importing.set(
    node,
    next.catch(() => undefined),
  )
  return next
}

const importing = new WeakMap<FhirHost, Promise<unknown>>()

async function importNow(
  node: FhirHost,
  body: unknown,
  p: Principal,
): Promise<{ bundle: Bundle; created: string[] }> {
  const plan = readImportBundle(body)
  const store = ready(node.store)
  const actor: Actor = { user: p.user, device: node.config.deviceId as DeviceId }
  const total = Array.isArray((body as Bundle).entry) ? ((body as Bundle).entry?.length ?? 0) : 0
  const responses: (Response | undefined)[] = new Array<Response | undefined>(total).fill(undefined)
  for (const r of plan.rejected) responses[r.index] = rejected(r.reason, 'FhirInputError')
  const mayAllergies = can(p.role, 'record-allergies', { online: true })
  const mayProblems = can(p.role, 'consult', { online: true })
  const seen = new Map<string, string>()
  const writes: BulkWrite<ChartCollection>[] = []
  const created: string[] = []
  /** created patient id → its entry (the duplicate warning replaces that entry's answer) */
  const createdFrom = new Map<string, ImportPatient>()
  const charts = new Map<string, Chart | undefined>()
  /**
   * Each entry answered once: refused outside the role, `200 duplicate` when the chart already has it (by
   * normalised text, `known`), else added (`201`) or rejected with the reason records gave.
   */
  const addEach = <E extends { index: number }>(
    entries: readonly E[],
    may: boolean,
    what: string,
    known: Set<string>,
    keyOf: (e: E) => string,
    add: (e: E) => void,
  ): void => {
    for (const e of entries) {
      if (!may) responses[e.index] = rejected(`a ${p.role} may not record ${what}`, 'ForbiddenError')
      else if (known.has(norm(keyOf(e))))
        responses[e.index] = {
          status: '200 OK',
          outcome: outcome('information', 'duplicate', 'already recorded'),
        }
      else {
        try {
          add(e)
          known.add(norm(keyOf(e)))
          responses[e.index] = { status: '201 Created' }
        } catch (err) {
          responses[e.index] = rejected(err instanceof Error ? err.message : String(err))
        }
      }
    }
  }
  for (const [k, patient] of plan.patients.entries()) {
    if (k > 0 && k % 250 === 0) await new Promise((r) => setImmediate(r)) // a registration at the desk gets a turn
    const known = existing(node, patient, seen)
    let id = known
    if (!id) {
      const wanted = patient.ourId && !store.index.get(patient.ourId) ? patient.ourId : newId<PatientId>('pt')
      try {
        const { chart } = newChart({ ...patient.register, id: wanted as PatientId }, actor)
        charts.set(wanted, chart)
        id = wanted
        created.push(id)
        createdFrom.set(id, patient)
      } catch (err) {
        responses[patient.index] = rejected(
          err instanceof Error ? err.message : String(err),
          err instanceof Error ? err.name : undefined,
        )
        for (const x of [...patient.allergies, ...patient.problems])
          responses[x.index] = rejected(`its patient (entry ${patient.index}) was rejected`, 'FhirInputError')
        continue
      }
    } else if (!charts.has(id)) {
      charts.set(id, undefined) // an existing chart, read inside the write
    }
    for (const k of patient.keys) seen.set(k, id)
    const pid = id
    responses[patient.index] = known
      ? {
          status: '200 OK',
          location: `Patient/${fhirId(pid)}`,
          outcome: outcome(
            'information',
            'informational',
            `already registered as ${pid}: not registered again`,
          ),
        }
      : { status: '201 Created', location: `Patient/${fhirId(pid)}` }
    /** The entry's allergies and problems the chart lacks (the chart: a new plain one, or in the bucket's change). */
    const addEntries = (chart: Chart): void => {
      const substances = new Set(Object.values(chart.patient.allergies).map((a) => norm(str(a.substance))))
      // a condition already on the chart, as a problem or as a diagnosis of a visit (an export posted back), is not added again
      const problems = new Set(Object.values(chart.patient.problems).map((x) => norm(str(x.text))))
      for (const e of Object.values(chart.encounters))
        for (const dx of Object.values(e.clinician.diagnoses)) problems.add(norm(str(dx.text)))
      addEach(
        patient.allergies,
        mayAllergies,
        'allergies',
        substances,
        (a) => a.input.substance,
        (a) => recordAllergy(chart, a.input, actor),
      )
      addEach(
        patient.problems,
        mayProblems,
        'problems',
        problems,
        (c) => c.input.text,
        (c) => addProblem(chart, c.input, actor),
      )
    }
    const fresh = charts.get(pid)
    writes.push({
      patientId: pid,
      // a new chart the bucket does not hold: its allergies and problems added while plain, then put whole
      ...(fresh && {
        fresh: () => {
          if (patient.allergies.length > 0 || patient.problems.length > 0) addEntries(fresh)
          return fresh
        },
      }),
      fn: (d) => {
        // a new chart takes its allergies and problems while still a plain object, then goes in as one assignment
        const chart = fresh && !d.charts[pid] ? fresh : d.charts[pid]
        if (!chart) return
        if (patient.allergies.length > 0 || patient.problems.length > 0) addEntries(chart)
        if (chart === fresh) d.charts[pid] = fresh
      },
    })
  }
  await store.changeMany(writes, { message: 'fhir-import' })
  await node.repo.flush()
  for (const id of created) {
    const dups = store.index.possibleDuplicatesOf(id)
    const patient = dups.length ? createdFrom.get(id) : undefined
    if (patient) {
      responses[patient.index] = {
        status: '201 Created',
        location: `Patient/${fhirId(id)}`,
        outcome: outcome(
          'warning',
          'duplicate',
          `possible duplicate of ${dups.join(', ')} (same identifier, or same name, birth date and sex)`,
        ),
      }
    }
  }
  const entry: BundleEntry[] = responses.map((r) => ({
    response: r ?? rejected('the entry was not read', 'FhirInputError'),
  }))
  return { bundle: { resourceType: 'Bundle', type: 'batch-response', entry }, created }
}
