import * as A from '@automerge/automerge'
import type { EncounterId, PatientId } from '@clinic-mesh/contracts'
import { describe, expect, it } from 'vitest'
import {
  decodeOpenVisits,
  emptyCollection,
  encodeOpenVisits,
  openEncounter,
  openVisitsOf,
  queueOf,
  registerPatient,
  setEncounterStatus,
  setQueueStatus,
  setSectionStatus,
} from '@clinic-mesh/records'
import { T0, grace, nurse } from './fixtures.js'

const PID = 'pt_queue1' as PatientId

describe('open visits and the day’s queue (what the index shards carry)', () => {
  it('packs open visits only, deterministically, and builds today’s queue from them', () => {
    const today = new Date(T0) // the fixtures' actor stamps every write at T0
    const yesterday = new Date(today.getTime() - 86_400_000).toISOString()
    let doc = A.change(A.from(emptyCollection()), (d) => {
      registerPatient(d, grace({ id: PID }), nurse)
      const chart = d.charts[PID]!
      openEncounter(chart, { id: 'enc_b' as EncounterId, reason: 'cough' }, nurse)
      openEncounter(chart, { id: 'enc_a' as EncounterId, reason: 'fever', queue: 'triage' }, nurse)
      openEncounter(chart, { id: 'enc_old' as EncounterId, reason: 'review', arrivedAt: yesterday }, nurse)
      openEncounter(chart, { id: 'enc_c' as EncounterId, reason: 'closed later' }, nurse)
    })
    doc = A.change(doc, (d) => {
      const chart = d.charts[PID]!
      setEncounterStatus(chart, 'enc_c', 'closed', nurse)
      setQueueStatus(chart, 'enc_b', 'consultation', nurse)
      setSectionStatus(chart, 'enc_b', 'triage', 'done', nurse)
    })
    const visits = openVisitsOf(doc.charts[PID]!)
    expect(visits.map((v) => v.eid)).toEqual(['enc_a', 'enc_b', 'enc_old']) // by id, the closed one gone
    expect(visits[1]).toMatchObject({ reason: 'cough', queue: 'consultation', done: ['triage'] })
    const packed = encodeOpenVisits(visits)!
    expect(decodeOpenVisits(packed)).toEqual(visits)
    expect(encodeOpenVisits([])).toBeUndefined()
    expect(decodeOpenVisits('["v9",[]]')).toEqual([]) // a newer format is skipped, not misread
    expect(decodeOpenVisits('not json')).toEqual([])

    const queue = queueOf([[PID, packed]], () => 'Grace Banda', today)
    expect(queue.map((e) => e.eid).sort()).toEqual(['enc_a', 'enc_b']) // yesterday's open visit is not today's
    expect(queue[0]).toMatchObject({ pid: PID, name: 'Grace Banda' })
  })
})
