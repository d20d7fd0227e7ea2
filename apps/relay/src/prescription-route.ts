import type { IncomingMessage, ServerResponse } from 'node:http'
import {
  InvalidInputError,
  PrescriptionStatusRequestSchema,
  parseWith,
  type PrescriptionFound,
  type PrescriptionId,
  type PrescriptionStatusReply,
  type PrescriptionsReply,
} from '@clinic-mesh/contracts'
import { str, verifyPrescription, type Prescription } from '@clinic-mesh/records'
import { ForbiddenError } from '@clinic-mesh/security'
import { shardOf } from '@clinic-mesh/store'
import { PRESCRIPTION_STATUS_ROLES } from './relay-authority.js'
import { ClinicNames } from './clinic-names.js'
import type { ClinicWatcher } from './clinic-watcher.js'
import { RelayHttpError } from './errors.js'
import { readJson, sendJson } from './http-util.js'
import type { Logger } from './logger.js'
import type { Principal } from './relay-sessions.js'

interface BucketLike {
  charts?: Record<string, { prescriptions?: Record<string, Prescription> } | undefined>
}

/** At most this many prescriptions in one search answer. */
const MAX_FOUND = 50

/** The prescriptions of the clinic's charts the relay holds: of one patient, or one prescription id (every bucket). */
async function findPrescriptions(
  w: ClinicWatcher,
  q: { patient?: string; prescription?: string },
): Promise<{ patient: string; rx: Prescription }[]> {
  const src = w.nameSources()
  const buckets = src.chartBuckets
  if (buckets.length === 0) return []
  const urls = q.patient !== undefined ? [buckets[shardOf(q.patient, buckets.length)]!] : buckets
  const out: { patient: string; rx: Prescription }[] = []
  for (const url of urls) {
    const raw: unknown = (await src.load(url).catch(() => null))?.doc()
    const doc = raw as BucketLike | undefined
    for (const [pid, chart] of Object.entries(doc?.charts ?? {})) {
      if (q.patient !== undefined && pid !== q.patient) continue
      for (const [id, rx] of Object.entries(chart?.prescriptions ?? {})) {
        if (q.prescription !== undefined && id !== q.prescription) continue
        out.push({ patient: pid, rx: JSON.parse(JSON.stringify(rx)) as Prescription })
        if (out.length >= MAX_FOUND) return out
      }
    }
  }
  return out
}

async function found(
  w: ClinicWatcher,
  names: ClinicNames,
  patient: string,
  rx: Prescription,
): Promise<PrescriptionFound> {
  const id = str(rx.id) || ''
  const check = verifyPrescription(rx)
  const central = w.settlement.engine.prescription(id)
  return {
    clinic: w.clinic,
    patient,
    patientName: await names.patient(patient),
    prescription: id,
    signedHash: check.ok ? check.hash : null,
    lines: Object.values(rx.items ?? {}).map((i) => str(i.drug)),
    signedAt: rx.signed ? str(rx.signed.signedAt) || null : null,
    status: central
      ? { status: central.status, reason: central.reason ?? null, at: central.at ?? null }
      : null,
  }
}

/** Only a signed-in clinician or pharmacist of the clinic (the operator token names no person and is refused). */
function requireCentralRole(p: Principal): Extract<Principal, { kind: 'session' }> {
  if (p.kind !== 'session')
    throw new ForbiddenError(
      'operator',
      'a prescription status needs a signed-in clinician or pharmacist of the clinic',
    )
  if (!PRESCRIPTION_STATUS_ROLES.includes(p.session.role))
    throw new ForbiddenError('role', `a ${p.session.role} may not put a prescription on hold or cancel it`)
  return p
}

/**
 * Seed 000 "prescription edited centrally during an outage" (docs/relay-api.md "Prescription status"):
 * - `GET /api/prescriptions?patient=&prescription=`: a signed-in user of the clinic finds prescriptions in the charts
 *   the relay holds, with the patient's name and the central status;
 * - `POST /api/prescriptions/:rxId/status` `{ patient, status: on-hold | active | cancelled, reason }`: a signed-in
 *   clinician or pharmacist changes it. The relay computes the signed hash from its own copy of the chart (a
 *   prescription that does not verify is refused), records a `prescription-status` operation in its own log under the
 *   user, settles it, and devices receive it in the signed settled inventory. Logged with ids only.
 * Returns false for any other path.
 */
export async function prescriptionRoute(
  pickFor: (p: Principal, raw: string | null) => Promise<ClinicWatcher>,
  log: Logger,
  who: () => Principal,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  q: URLSearchParams,
): Promise<boolean> {
  if (req.method === 'GET' && path === '/api/prescriptions') {
    const p = who()
    const w = await pickFor(p, q.get('clinic'))
    const patient = q.get('patient')?.trim() || undefined
    const prescription = q.get('prescription')?.trim() || undefined
    if (patient === undefined && prescription === undefined)
      throw new InvalidInputError('name a patient id or a prescription id')
    const names = new ClinicNames(w.nameSources())
    const list = await findPrescriptions(w, {
      ...(patient !== undefined ? { patient } : {}),
      ...(prescription !== undefined ? { prescription } : {}),
    })
    const reply: PrescriptionsReply = {
      prescriptions: await Promise.all(list.map((f) => found(w, names, f.patient, f.rx))),
    }
    sendJson(res, 200, reply)
    return true
  }
  const m = /^\/api\/prescriptions\/([^/]+)\/status$/.exec(path)
  if (req.method !== 'POST' || !m) return false
  const p = requireCentralRole(who())
  const body = parseWith(PrescriptionStatusRequestSchema, await readJson(req), 'request body')
  const w = await pickFor(p, body.clinic ?? null)
  let rxId: string
  try {
    rxId = decodeURIComponent(m[1] ?? '')
  } catch {
    throw new InvalidInputError('malformed percent-encoding in the path')
  }
  const [hit] = await findPrescriptions(w, { patient: body.patient, prescription: rxId })
  if (!hit)
    throw new RelayHttpError(
      'UnknownPrescriptionError',
      404,
      `no prescription ${rxId} of patient ${body.patient} has reached the relay for clinic ${w.clinic}`,
    )
  const check = verifyPrescription(hit.rx)
  if (!check.ok)
    throw new RelayHttpError(
      'PrescriptionVerificationError',
      409,
      `prescription ${rxId} does not verify on the relay (${check.reason}): only a signed prescription can be held or cancelled`,
    )
  const out = w.settlement.setPrescriptionStatus({
    prescription: rxId as PrescriptionId,
    signedHash: check.hash,
    status: body.status,
    reason: body.reason,
    user: p.session.user,
    role: p.session.role,
  })
  await w.settlement.requestSave() // an acknowledged change survives a crash
  // ids only: never the patient's name nor the free-text reason
  log('prescription-status', {
    clinic: w.clinic,
    by: p.session.user,
    role: p.session.role,
    prescription: rxId,
    status: body.status,
    settled: out.settled,
  })
  if (!out.settled)
    throw new ForbiddenError('role', `the ledger refused the prescription status of ${p.session.user}`)
  const reply: PrescriptionStatusReply = {
    operation: out.operation.id,
    prescription: await found(w, new ClinicNames(w.nameSources()), hit.patient, hit.rx),
  }
  sendJson(res, 201, reply)
  return true
}
