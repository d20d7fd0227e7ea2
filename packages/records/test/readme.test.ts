import * as A from '@automerge/automerge'
import { ed25519 } from '@noble/curves/ed25519.js'
import type { DeviceId, UserId } from '@clinic-mesh/contracts'
import { expect, it } from 'vitest'
import {
  createPrescription,
  editNotes,
  emptyCollection,
  needsReview,
  openEncounter,
  recordVitals,
  registerPatient,
  signPrescription,
  str,
  summarize,
  verifyPrescription,
} from '@clinic-mesh/records'

it('the README example works', () => {
  const nurse = { user: 'usr_nurse' as UserId, device: 'dev_tab1' as DeviceId }
  const clinicianKey = ed25519.utils.randomSecretKey()
  let doc = A.from(emptyCollection())
  let pid = ''
  doc = A.change(doc, (d) => {
    pid = registerPatient(
      d,
      {
        given: 'Grace',
        family: 'Banda',
        birthDate: '1984-03-12',
        sex: 'female',
        identifiers: [{ system: 'national-id', value: 'MW100001' }],
      },
      nurse,
    )
    const chart = d.charts[pid]!
    const eid = openEncounter(chart, { reason: 'fever and cough' }, nurse)
    recordVitals(chart, eid, { temperatureC: 38.4, pulseBpm: 104 }, nurse)
    editNotes(chart, eid, 'Fever 3 days. Chest clear.', nurse)
    const rx = createPrescription(
      chart,
      {
        encounterId: eid,
        items: [
          {
            itemId: 'itm_paracetamol-500-tab',
            quantity: 24,
            drug: 'paracetamol 500 mg',
            dose: '1 g',
            route: 'oral',
            frequency: 'qds',
            duration: '3 days',
          },
        ],
      },
      nurse,
    )
    signPrescription(chart, rx.id, clinicianKey, nurse)
  })
  const chart = doc.charts[pid]!
  expect(summarize(chart).identifiers).toEqual(['national-id|MW100001'])
  expect(str(chart.patient.sex)).toBe('female')
  expect(Object.values(chart.prescriptions).map((rx) => verifyPrescription(rx).ok)).toEqual([true])
  expect(needsReview(doc)).toEqual([])
})
