import type { Resource } from '@medplum/fhirtypes'
import { chartResources, type ChartDispense, type PlainChart, type PlainLink } from '@clinic-mesh/fhir'
import type { OperationOf } from '@clinic-mesh/ledger'
import { plain } from '@clinic-mesh/records'
import type { FhirHost } from './node-host.js'
import { ready } from './route-context.js'

/** Our patient id for a FHIR id (`pt-ab12…` → `pt_ab12…`); our own form is taken as it is. */
export function patientIdOf(fhirId: string): string {
  return /^pt-[0-9a-f]{32}$/.test(fhirId) ? `pt_${fhirId.slice(3)}` : fhirId
}

/** The patient's dispense operations in every device log this node holds, with their lot's expiry and item name. */
async function dispensesOf(node: FhirHost, patientId: string): Promise<ChartDispense[]> {
  const ledger = node.ledger
  if (!ledger) return []
  const [ops, stock] = await Promise.all([ledger.operations(), ledger.stock()])
  const expiry = new Map<string, string>()
  for (const l of stock.lines) expiry.set(l.batch, l.expiry)
  for (const { op } of ops)
    if (op.kind === 'receive' && !expiry.has(op.batch)) expiry.set(op.batch, op.expiry)
  const out: ChartDispense[] = []
  for (const { op, decided } of ops) {
    if (op.kind !== 'dispense' || op.patient !== patientId) continue
    const d = op as OperationOf<'dispense'>
    const exp = d.batch ? expiry.get(d.batch) : undefined
    const name = stock.items[d.item]?.name
    out.push({
      op: d,
      state: decided ? 'settled' : 'tentative',
      ...(exp ? { expiry: exp } : {}),
      ...(name ? { itemName: name } : {}),
    })
  }
  return out.sort((a, b) => a.op.hlc.wall - b.op.hlc.wall || a.op.seq - b.op.seq)
}

/** Every FHIR resource of one patient as this node holds it (chart, links, dispenses, the register's names). */
export async function patientResources(node: FhirHost, patientId: string): Promise<Resource[]> {
  const { chart } = (await ready(node.records).chart(patientId)) as { chart: PlainChart }
  const bucket = await ready(node.store).bucketFor(patientId)
  const links = Object.values(plain(bucket.doc().links) as Record<string, PlainLink>)
  const users = new Map(
    ready(node.auth)
      .users()
      .map((u) => [u.id, { name: u.name, role: u.role }] as const),
  )
  const devices = new Map([[node.config.deviceId, { name: node.config.name, peerId: node.peerId }]])
  return chartResources(chart, { links, dispenses: await dispensesOf(node, patientId), users, devices })
}
