import * as A from '@automerge/automerge'
import { describe, expect, it } from 'vitest'
import {
  correctAdministration,
  effectiveMar,
  needsReview,
  recordAdministration,
  str,
  type MarInput,
} from '@clinic-mesh/records'
import { actor, nurse, replicas, thrown, withPatient } from './fixtures.js'

const dose = (at: string, extra: Partial<MarInput> = {}): MarInput => ({
  drug: 'paracetamol',
  dose: '1 g',
  route: 'oral',
  status: 'given',
  administeredAt: at,
  ...extra,
})

describe('medication administration record', () => {
  it('appends events and resolves corrections into the effective list', () => {
    const start = withPatient()
    const pid = start.pid
    let doc = start.doc
    let first = ''
    let second = ''
    doc = A.change(doc, (d) => {
      first = recordAdministration(d.charts[pid]!, dose('2026-11-20T08:00:00.000Z'), nurse)
      second = recordAdministration(d.charts[pid]!, dose('2026-11-20T14:00:00.000Z'), nurse)
    })
    let fix = ''
    doc = A.change(doc, (d) => {
      fix = correctAdministration(
        d.charts[pid]!,
        first,
        dose('2026-11-20T08:00:00.000Z', { dose: '500 mg' }),
        actor('usr_nurse', 'dev_tab1', '2026-11-20T09:00:00.000Z'),
      )
      correctAdministration(
        d.charts[pid]!,
        second,
        dose('2026-11-20T14:00:00.000Z', { status: 'entered-in-error' }),
        nurse,
      )
    })
    const chart = doc.charts[pid]!
    expect(Object.keys(chart.mar)).toHaveLength(4)
    expect(str(chart.mar[first]!.dose)).toBe('1 g') // the original is untouched
    const eff = effectiveMar(chart)
    expect(eff.map((e) => [e.chain, str(e.event.dose)])).toEqual([[[first, fix], '500 mg']])
  })

  it('refuses to overwrite an existing entry or correct an unknown one', () => {
    const { doc, pid } = withPatient()
    const d1 = A.change(doc, (d) =>
      recordAdministration(d.charts[pid]!, dose('2026-11-20T08:00:00.000Z', { id: 'mar_1' }), nurse),
    )
    expect(
      thrown(() =>
        A.change(d1, (d) =>
          recordAdministration(d.charts[pid]!, dose('2026-11-20T09:00:00.000Z', { id: 'mar_1' }), nurse),
        ),
      ).name,
    ).toBe('AppendOnlyError')
    expect(
      thrown(() =>
        A.change(d1, (d) =>
          correctAdministration(d.charts[pid]!, 'mar_x', dose('2026-11-20T09:00:00.000Z'), nurse),
        ),
      ).name,
    ).toBe('UnknownRecordError')
    expect(
      thrown(() => A.change(d1, (d) => recordAdministration(d.charts[pid]!, dose('yesterday'), nurse))).name,
    ).toBe('InvalidRecordError')
  })

  it('keeps events recorded offline on two tablets; concurrent corrections are listed as competing', () => {
    const start = withPatient()
    const pid = start.pid
    let doc = start.doc
    let first = ''
    doc = A.change(doc, (d) => {
      first = recordAdministration(d.charts[pid]!, dose('2026-11-20T08:00:00.000Z'), nurse)
    })
    const [a, b] = replicas(doc, 2)
    const ra = A.change(a!, (d) => {
      recordAdministration(d.charts[pid]!, dose('2026-11-20T12:00:00.000Z'), nurse)
      correctAdministration(
        d.charts[pid]!,
        first,
        dose('2026-11-20T08:00:00.000Z', { dose: '500 mg' }),
        actor('usr_a', 'dev_a', '2026-11-20T09:00:00.000Z'),
      )
    })
    const rb = A.change(b!, (d) =>
      correctAdministration(
        d.charts[pid]!,
        first,
        dose('2026-11-20T08:00:00.000Z', { route: 'iv' }),
        actor('usr_b', 'dev_b', '2026-11-20T10:00:00.000Z'),
      ),
    )
    const m = A.merge(ra, rb)
    expect(Object.keys(m.charts[pid]!.mar)).toHaveLength(4)
    const eff = effectiveMar(m.charts[pid]!)
    expect(eff).toHaveLength(2)
    expect(str(eff[0]!.event.route)).toBe('iv') // the later-recorded correction
    expect(eff[0]!.competing).toHaveLength(1)
    expect(needsReview(m)).toEqual([])
  })

  it('flags two different events recorded under one idempotency key on two tablets', () => {
    const { doc, pid } = withPatient()
    const [a, b] = replicas(doc, 2)
    const ra = A.change(a!, (d) =>
      recordAdministration(d.charts[pid]!, dose('2026-11-20T08:00:00.000Z', { id: 'mar_k' }), nurse),
    )
    const rb = A.change(b!, (d) =>
      recordAdministration(d.charts[pid]!, dose('2026-11-20T08:05:00.000Z', { id: 'mar_k' }), nurse),
    )
    expect(needsReview(A.merge(ra, rb)).map((x) => x.path)).toEqual([['charts', pid, 'mar', 'mar_k']])
  })
})
