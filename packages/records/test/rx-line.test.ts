import * as A from '@automerge/automerge'
import type { EncounterId, PrescriptionId } from '@clinic-mesh/contracts'
import { ed25519 } from '@noble/curves/ed25519.js'
import { describe, expect, it } from 'vitest'
import {
  addRxItem,
  canonicalPrescription,
  createPrescription,
  imm,
  lineBalances,
  openEncounter,
  prescriptionHash,
  recordDispenseNote,
  removeRxItem,
  rxLineProblem,
  signPrescription,
  str,
  updateRxItem,
  verifyPrescription,
  type ChartCollection,
} from '@clinic-mesh/records'
import { clerk, doctor, pharmacist, thrown, withPatient } from './fixtures.js'

const secretKey = ed25519.utils.randomSecretKey(new Uint8Array(32).fill(9))
const amox = {
  itemId: 'itm_amoxicillin-250-cap',
  drug: 'Amoxicillin 250 mg capsule',
  dose: '500 mg',
  route: 'oral',
  frequency: '3 times a day',
  duration: '5 days',
  quantity: 30,
}
const para = { ...amox, itemId: 'itm_paracetamol-500-tab', drug: 'Paracetamol 500 mg tablet', quantity: 12 }

function draft() {
  const { doc, pid } = withPatient()
  let rxId = '' as PrescriptionId
  let eid = '' as EncounterId
  let lines: string[] = []
  const next = A.change(doc, (d) => {
    eid = openEncounter(d.charts[pid]!, { reason: 'cough' }, clerk)
    const r = createPrescription(d.charts[pid]!, { encounterId: eid, items: [amox, para] }, doctor)
    rxId = r.id
    lines = r.itemIds
  })
  return { doc: next, pid, rxId, eid, lines }
}

const rxOf = (doc: A.Doc<ChartCollection>, pid: string, rxId: string) => doc.charts[pid]!.prescriptions[rxId]!

describe('prescription lines are coded formulary items (issue 15)', () => {
  it('stores item id, name and quantity; every invalid field is named at once', () => {
    const { doc, pid, rxId, lines } = draft()
    const line = rxOf(doc, pid, rxId).items[lines[0]!]!
    expect(str(line.itemId)).toBe('itm_amoxicillin-250-cap')
    expect(line.quantity).toBe(30)
    const err = thrown(() =>
      A.change(doc, (d) =>
        addRxItem(d.charts[pid]!, rxId, { ...amox, itemId: '', quantity: 0, dose: ' ' }, doctor),
      ),
    )
    expect(err.name).toBe('InvalidRecordError')
    expect(err.message).toMatch(/itemId/)
    expect(err.message).toMatch(/quantity/)
    expect(err.message).toMatch(/dose/)
  })

  it('a free-text line without a formulary item is refused', () => {
    const { doc, pid, rxId } = draft()
    const { itemId: _i, ...uncoded } = amox
    const err = thrown(() =>
      A.change(doc, (d) => addRxItem(d.charts[pid]!, rxId, uncoded as typeof amox, doctor)),
    )
    expect(err.name).toBe('InvalidRecordError')
    expect(rxLineProblem({ drug: imm('aspirin'), dose: imm('1'), route: imm('oral') })).toMatch(/itemId/)
    expect(
      rxLineProblem(rxOf(doc, pid, rxId).items[Object.keys(rxOf(doc, pid, rxId).items)[0]!]),
    ).toBeUndefined()
  })

  it('edits and removes lines while a draft; the edited line must stay valid', () => {
    const { doc, pid, rxId, lines } = draft()
    const edited = A.change(doc, (d) =>
      updateRxItem(d.charts[pid]!, rxId, lines[0]!, { quantity: 21, dose: '250 mg' }, doctor),
    )
    expect(rxOf(edited, pid, rxId).items[lines[0]!]!.quantity).toBe(21)
    expect(
      thrown(() =>
        A.change(edited, (d) => updateRxItem(d.charts[pid]!, rxId, lines[0]!, { quantity: -1 }, doctor)),
      ).name,
    ).toBe('InvalidRecordError')
    const removed = A.change(edited, (d) => removeRxItem(d.charts[pid]!, rxId, lines[1]!, doctor))
    expect(Object.keys(rxOf(removed, pid, rxId).items)).toEqual([lines[0]])
  })

  it('item id and quantity are covered by the signature; a tampered quantity no longer verifies', () => {
    const { doc, pid, rxId, lines } = draft()
    const signed = A.change(doc, (d) => void signPrescription(d.charts[pid]!, rxId, secretKey, doctor))
    expect(canonicalPrescription(rxOf(signed, pid, rxId))).toContain('"quantity":30')
    expect(verifyPrescription(rxOf(signed, pid, rxId)).ok).toBe(true)
    const tampered = A.change(signed, (d) => {
      d.charts[pid]!.prescriptions[rxId]!.items[lines[0]!]!.quantity = 300
    })
    const check = verifyPrescription(rxOf(tampered, pid, rxId))
    expect(check).toMatchObject({ ok: false, reason: 'content-changed' })
  })

  it('remaining per line: prescribed minus everything dispensed, never below 0', () => {
    const { doc, pid, rxId, lines } = draft()
    const rx = rxOf(doc, pid, rxId)
    const b = lineBalances(rx, { [lines[0]!]: 10, [lines[1]!]: 15 })
    expect(b.map((l) => [l.itemId, l.prescribed, l.dispensed, l.remaining]).sort()).toEqual([
      ['itm_amoxicillin-250-cap', 30, 10, 20],
      ['itm_paracetamol-500-tab', 12, 15, 0],
    ])
  })

  it('the pharmacy section records line, lot and units of a verified prescription', () => {
    const { doc, pid, rxId, eid, lines } = draft()
    const signed = A.change(doc, (d) => void signPrescription(d.charts[pid]!, rxId, secretKey, doctor))
    const hash = prescriptionHash(rxOf(signed, pid, rxId))
    const noted = A.change(signed, (d) =>
      recordDispenseNote(d.charts[pid]!, eid, rxId, pharmacist, undefined, {
        line: lines[0]!,
        quantity: 10,
        batch: 'LOT-A',
        op: 'op_1',
      }),
    )
    const [entry] = Object.values(noted.charts[pid]!.encounters[eid]!.pharmacy.dispensed)
    expect(str(entry!.prescriptionHash)).toBe(hash)
    expect([str(entry!.itemId), str(entry!.batch), entry!.quantity, str(entry!.drug)]).toEqual([
      'itm_amoxicillin-250-cap',
      'LOT-A',
      10,
      'Amoxicillin 250 mg capsule',
    ])
    expect(
      thrown(() =>
        A.change(A.clone(noted), (d) =>
          recordDispenseNote(d.charts[pid]!, eid, rxId, pharmacist, undefined, {
            line: 'itm_x',
            quantity: 1,
          }),
        ),
      ).name,
    ).toBe('UnknownRecordError')
  })
})
