import type { IncomingMessage, ServerResponse } from 'node:http'
import {
  SignPrescriptionRequestSchema,
  type DeviceId,
  type PrescriptionBalanceReply,
  type SignPrescriptionReply,
} from '@clinic-mesh/contracts'
import { dispensedByLine } from '@clinic-mesh/ledger'
import { UnknownRecordError, lineBalances } from '@clinic-mesh/records'
import { ForbiddenError } from '@clinic-mesh/security'
import type { PrescriptionHost } from './node-host.js'
import { readBody, sendJson } from './http-util.js'
import { ready, who } from './route-context.js'

/** The policy refusal in words for the person at the tablet (the web shows the message as it is). */
function plainRefusal(err: ForbiddenError, ageDays: number | undefined): ForbiddenError {
  if (err.reason === 'stale-knowledge-base') {
    const seen =
      ageDays === undefined
        ? 'has never been updated from the central office'
        : `was last updated from the central office ${Math.floor(ageDays)} days ago`
    return new ForbiddenError(
      err.reason,
      `this tablet's medicines list ${seen}; connect to the internet, then sign`,
    )
  }
  if (err.reason === 'role') return new ForbiddenError(err.reason, 'only a clinician can sign a prescription')
  return err
}

/**
 * `POST /api/patients/:pid/prescriptions/:rxId/sign` (docs/api.md "Signed prescriptions"): the node signs the
 * prescription as ITS copy of the chart holds it — it computes the hash, signs the domain-separated messages with the
 * clinician's key and its own (records `signPrescription`), writes the signature into the chart and audits it. No
 * route signs a hash a client supplies. Returns false for any other path.
 */
export async function prescriptionRoute(
  node: PrescriptionHost,
  req: IncomingMessage,
  res: ServerResponse,
  parts: string[],
): Promise<boolean> {
  const [, a, pid, b, rxId, c] = parts
  if (
    a !== 'patients' ||
    b !== 'prescriptions' ||
    c !== 'sign' ||
    parts.length !== 6 ||
    req.method !== 'POST' ||
    !pid ||
    !rxId
  )
    return false
  // offline, a clinician signs against the knowledge-base snapshot the relay last settled (prices, formulary): it
  // must be younger than the policy's limit (docs/ARCHITECTURE.md, offline matrix)
  const settledAt = (await ready(node.ledger).stock()).settledAt
  const knowledgeBaseAgeDays = settledAt ? (Date.now() - Date.parse(settledAt)) / 86_400_000 : undefined
  const online = node.relay?.status().connected ?? false
  let signer
  try {
    signer = ready(node.auth).requireSigner(req, 'sign-prescription', {
      online,
      ...(knowledgeBaseAgeDays !== undefined ? { knowledgeBaseAgeDays } : {}),
    })
  } catch (err) {
    throw err instanceof ForbiddenError ? plainRefusal(err, knowledgeBaseAgeDays) : err
  }
  const { principal, userKey } = signer
  const { expectedHash } = await readBody(req, SignPrescriptionRequestSchema)
  const actor = { user: principal.user, device: node.config.deviceId as DeviceId }
  const device = { peerId: node.peerId, secretKey: node.deviceSigningKey }
  const done = await ready(node.records).signPrescription(pid, rxId, { userKey, device }, actor, expectedHash)
  if (done.signedNow) {
    const audit = ready(node.audit)
    await audit.record(principal.user, 'change', `patient:${pid}`)
    await audit.record(principal.user, 'change', `prescription-signature:${rxId}`)
  }
  const reply: SignPrescriptionReply = {
    patientId: pid,
    prescriptionId: rxId,
    hash: done.hash,
    signedNow: done.signedNow,
  }
  sendJson(res, 200, reply)
  return true
}

/**
 * `GET /api/patients/:pid/prescriptions/:rxId/dispensed`: per line of the prescription, what it prescribes, what was
 * dispensed against it on every tablet whose operations this node holds (settled or not), and what remains. Returns
 * false for any other path.
 */
export async function prescriptionBalanceRoute(
  node: PrescriptionHost,
  req: IncomingMessage,
  res: ServerResponse,
  parts: string[],
): Promise<boolean> {
  const [, a, pid, b, rxId, c] = parts
  if (a !== 'patients' || b !== 'prescriptions' || c !== 'dispensed' || parts.length !== 6) return false
  if (req.method !== 'GET' || !pid || !rxId) return false
  who(node, req, 'read-chart')
  const rx = await ready(node.records).prescription(pid, rxId)
  if (!rx) throw new UnknownRecordError(`no prescription ${rxId} of patient ${pid} on this device`)
  const ledger = ready(node.ledger)
  const ops = (await ledger.operations()).map((o) => o.op)
  const decided = await ledger.dispenseDecisions()
  const central = await ledger.prescriptionStatus(rxId)
  const reply: PrescriptionBalanceReply = {
    central: central
      ? { status: central.status, reason: central.reason ?? null, at: central.at ?? null }
      : null,
    patientId: pid,
    prescriptionId: rxId,
    lines: lineBalances(rx, dispensedByLine(ops, rxId, decided)).map((l) => ({
      ...l,
      itemId: l.itemId ?? null,
      prescribed: l.prescribed ?? null,
      remaining: l.remaining ?? null,
    })),
  }
  sendJson(res, 200, reply)
  return true
}
