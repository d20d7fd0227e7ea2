import { readFile } from 'node:fs/promises'
import type { AutomergeUrl } from '@automerge/automerge-repo'
import { ImmutableString } from '@automerge/automerge'
import { createPrescription, type ChartCollection, type RxItemInput } from '@clinic-mesh/records'
import type { FlaggedOperation, FlagsReply } from '@clinic-mesh/contracts'
import { rootLayout, shardOf, type ClinicRootDoc } from '@clinic-mesh/store'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pollDevice, testPassword, type DeviceProcess } from './helpers/device-process.js'
import { TestDevice } from './helpers/relay-device.js'
import type { RelayProcess } from './helpers/relay-process.js'
import { AMOX, AMOX_STOCK, PEOPLE, RxClinic } from './helpers/rx-clinic.js'
import { SyncClient } from './helpers/sync-client.js'

/**
 * Issue 15 items 2 and 3 against a real device node linked to a real relay: prescription lines are coded formulary
 * items (the node's sync gate refuses others), a dispense is checked against the signed prescription at the node
 * (lot of the prescribed item, signature verified), the remaining quantity per line is the node's, and dispensing
 * past a line's quantity becomes an `over-dispensed` conflict at the relay.
 */

const { clinician, pharmacist } = PEOPLE
const actor = (user: string) => ({ user: user as never, device: 'dev_tablet' as never })

const PARA: RxItemInput = { ...AMOX, itemId: 'itm_para', drug: 'Paracetamol 500 mg tablet', quantity: 10 }

interface Balance {
  lines: { line: string; itemId: string; prescribed: number; dispensed: number; remaining: number }[]
}
interface ErrorReply {
  error: { name: string; message: string }
}
interface Refusal {
  type: string
  name: string
  message: string
}

describe('dispensing against a coded, signed prescription (device node + relay processes)', () => {
  let env: RxClinic
  let relay: RelayProcess
  let node: DeviceProcess
  let clinicId = ''
  let directoryUrl = ''
  let pid = ''
  let eid = ''
  let intruder: TestDevice | undefined
  const clients: SyncClient[] = []

  const chart = () => env.chart()
  const balance = async (rxId: string): Promise<Balance['lines']> =>
    (
      await node.api<Balance>('GET', `/api/patients/${pid}/prescriptions/${rxId}/dispensed`, undefined, {
        as: pharmacist,
      })
    ).body.lines
  let n = 0
  const dispense = (rxId: string, hash: string, body: Record<string, unknown>) =>
    node.api<ErrorReply>(
      'POST',
      '/api/stock/dispenses',
      {
        id: `disp-${++n}`,
        patient: pid,
        prescription: rxId,
        prescriptionHash: hash,
        stockSeen: 100,
        ...body,
      },
      { as: pharmacist },
    )

  beforeAll(async () => {
    env = await RxClinic.start({
      stock: [AMOX_STOCK, { item: 'itm_para', name: 'Paracetamol 500 mg tablet', price: 1, batch: 'PAR-1' }],
    })
    ;({ relay, node, clinicId, directoryUrl } = env)
    pid = env.patient.id
    eid = env.patient.encounterId
  }, 180_000)

  afterAll(async () => {
    for (const c of clients) await c.close().catch(() => undefined)
    await intruder?.close().catch(() => undefined)
    await env?.stop()
  })

  it('the sync gate refuses a browser change that leaves an uncoded prescription line; a coded line lands', async () => {
    const tab = await SyncClient.open(node, clinician, 'web-rx-gate')
    clients.push(tab)
    const rxId = await tab.change(
      pid,
      (c) => createPrescription(c, { encounterId: eid as never, items: [AMOX] }, actor('usr_dr-mwale')).id,
    )
    await pollDevice(async () => (await chart()).prescriptions[rxId], 'the coded draft on the node')
    const bucket = await tab.store.bucketFor(pid)
    const refused = new Promise<Refusal>((resolve) =>
      bucket.on('ephemeral-message', ({ message }) => {
        const m = message as Refusal
        if (m?.type === 'clinic-mesh/refused') resolve(m)
      }),
    )
    // written around the records helpers (which refuse it locally): a free-text line, no item, no quantity
    bucket.change((d) => {
      const rx = d.charts[pid]?.prescriptions[rxId]
      if (rx)
        rx.items.itm_freetext = {
          drug: new ImmutableString('aspirin'),
          dose: new ImmutableString('300 mg'),
          route: new ImmutableString('oral'),
          frequency: new ImmutableString('once'),
          duration: new ImmutableString('1 day'),
        }
    })
    const r = await refused
    expect(r.name).toBe('InvalidPrescriptionLineError')
    expect(r.message).toMatch(/itemId/)
    expect(r.message).toMatch(/quantity/)
    expect(Object.keys((await chart()).prescriptions[rxId]!.items)).toHaveLength(1)
  })

  it('a lot of another medicine, or another item, for a prescription line is refused at the node by name', async () => {
    const { rxId, hash, lines } = await env.signRx([AMOX])
    const line = lines.itm_amox!
    const otherLot = await dispense(rxId, hash, {
      item: 'itm_amox',
      batch: 'PAR-1',
      line,
      quantity: 5,
      priceSeen: 3,
    })
    expect(otherLot.status).toBe(422)
    expect(otherLot.body.error.name).toBe('LotNotPrescribedError')
    expect(otherLot.body.error.message).toMatch(/lot PAR-1 is itm_para/)
    const otherItem = await dispense(rxId, hash, {
      item: 'itm_para',
      batch: 'PAR-1',
      line,
      quantity: 5,
      priceSeen: 1,
    })
    expect(otherItem.status).toBe(422)
    expect(otherItem.body.error.name).toBe('LotNotPrescribedError')
    expect((await balance(rxId)).map((l) => l.dispensed)).toEqual([0])
  })

  it('remaining per line counts every dispense; past the prescribed quantity the relay raises over-dispensed; the chart shows what was handed out', async () => {
    const { rxId, hash, lines } = await env.signRx([AMOX, PARA])
    const line = lines.itm_amox!
    const first = await dispense(rxId, hash, {
      item: 'itm_amox',
      batch: 'AMX-1',
      line,
      quantity: 10,
      priceSeen: 3,
    })
    expect(first.status).toBe(201)
    const after = await balance(rxId)
    expect(after.find((l) => l.line === line)).toMatchObject({ prescribed: 15, dispensed: 10, remaining: 5 })
    expect(after.find((l) => l.itemId === 'itm_para')).toMatchObject({ prescribed: 10, remaining: 10 })
    // a second tablet (another browser session) hands out 10 more: 20 against 15
    const second = await dispense(rxId, hash, {
      item: 'itm_amox',
      batch: 'AMX-1',
      line,
      quantity: 10,
      priceSeen: 3,
    })
    expect(second.status).toBe(201)
    expect((await balance(rxId)).find((l) => l.line === line)).toMatchObject({ dispensed: 20, remaining: 0 })
    const secondId = `disp-${n}`
    const conflict = await pollDevice(
      async () => {
        const r = await relay.api<{
          conflicts: { id: string; kind: string; operation: { id: string }; detail: string }[]
        }>('GET', `/api/conflicts?status=open&clinic=${clinicId}`)
        return r.body.conflicts.find((c) => c.operation.id === secondId)
      },
      'the over-dispense flagged at the relay',
      30_000,
    )
    expect(conflict.kind).toBe('over-dispensed')
    expect(conflict.detail).toMatch(/prescribes 15; 10 already dispensed, 10 more/)
    // the pharmacist's tablet is told: this dispense was flagged, why, and no decision yet
    const flagOf = async (): Promise<FlaggedOperation | undefined> => {
      const r = await node.api<FlagsReply>('GET', '/api/stock/flags')
      expect(r.status).toBe(200)
      return r.body.verified ? r.body.flags.find((f) => f.op === secondId) : undefined
    }
    const flagged = await pollDevice(flagOf, 'the flag on the tablet', 30_000)
    expect(flagged).toMatchObject({ kind: 'over-dispensed', status: 'open', decision: null, quantity: 10 })
    expect(flagged.detail).toMatch(/prescribes 15/)
    expect((await node.api<FlagsReply>('GET', '/api/stock/flags')).body.flags.map((f) => f.op)).not.toContain(
      `disp-${n - 1}`,
    ) // the first dispense settled cleanly: not flagged
    // a reviewer of the clinic decides at the relay: only the 5 that remained were handed out; the node counts that
    await node.token({ name: 'rev', role: 'reviewer' })
    const login = await pollDevice(
      async () => {
        const x = await relay.login(clinicId, 'rev', testPassword('rev'))
        return x.status === 200 ? x : undefined
      },
      'the reviewer known at the relay',
      30_000,
    )
    const decided = await relay.api<{ outcome: string }>(
      'POST',
      `/api/conflicts/${conflict.id}/resolution`,
      { decision: { action: 'partial-dispense', quantity: 5 }, note: 'only 5 were left to give' },
      undefined,
      login.body.token,
    )
    expect(decided.body.outcome).toBe('resolved')
    await pollDevice(
      async () => (await balance(rxId)).find((l) => l.line === line && l.dispensed === 15),
      'the decision counted on the node (10 + 5)',
      30_000,
    )
    // and then the decision: a partial dispense of 5, by a reviewer
    const decidedFlag = await pollDevice(
      async () => ((await flagOf())?.status === 'resolved' ? flagOf() : undefined),
      'the decision on the tablet',
      30_000,
    )
    expect(decidedFlag?.decision).toMatchObject({ action: 'partial-dispense', quantity: 5, role: 'reviewer' })
    // the first dispense settled cleanly; the pharmacy section of the visit holds both hand-outs
    const notes = Object.values((await chart()).encounters[eid]!.pharmacy.dispensed).filter(
      (d) => d.prescriptionId === rxId,
    )
    expect(notes.map((d) => [d.itemId, d.batch, d.quantity])).toEqual([
      ['itm_amox', 'AMX-1', 10],
      ['itm_amox', 'AMX-1', 10],
    ])
  })

  it('a signed prescription changed behind the node (a rogue device through the relay) blocks the dispense with a named error', async () => {
    const { rxId, hash, lines } = await env.signRx([PARA])
    const line = lines.itm_para!
    const clinic = JSON.parse(await readFile(node.init.clinicFile ?? '', 'utf8')) as {
      clinic: string
      adminSecretKey: string
      adminPublicKeys: string[]
    }
    expect(clinic.clinic).toBe(clinicId)
    intruder = new TestDevice(relay.syncUrl, clinic.clinic, 'intruder', {
      secretKey: Buffer.from(clinic.adminSecretKey, 'hex'),
      publicKey: Buffer.from(clinic.adminPublicKeys[0]!, 'hex'),
    })
    expect([200, 201]).toContain((await intruder.register(relay, directoryUrl)).status)
    await intruder.joinClinic(directoryUrl as AutomergeUrl)
    const root = await intruder.repo.find<{ chartBuckets: string[] }>(
      intruder.directory.doc().recordsRoot as string as AutomergeUrl,
    )
    const buckets = rootLayout(root.doc() as unknown as ClinicRootDoc).chartBuckets
    const bucket = await intruder.repo.find<ChartCollection>(
      buckets[shardOf(pid, buckets.length)] as AutomergeUrl,
    )
    await pollDevice(
      () => Promise.resolve(bucket.doc().charts[pid]?.prescriptions[rxId]?.signed),
      'the signed prescription at the intruder',
    )
    bucket.change((d) => {
      const item = d.charts[pid]!.prescriptions[rxId]!.items[line]!
      item.quantity = 100
    })
    await pollDevice(
      async () => (await chart()).prescriptions[rxId]?.items[line]?.quantity === 100,
      'the tampered line on the node',
      30_000,
    )
    const r = await dispense(rxId, hash, {
      item: 'itm_para',
      batch: 'PAR-1',
      line,
      quantity: 10,
      priceSeen: 1,
    })
    expect(r.status).toBe(409)
    expect(r.body.error.name).toBe('PrescriptionVerificationError')
    expect(r.body.error.message).toMatch(/content-changed/)
    expect((await balance(rxId)).map((l) => l.dispensed)).toEqual([0])
  })
})
