import * as A from '@automerge/automerge'
import { ImmutableString } from '@automerge/automerge'
import { ed25519 } from '@noble/curves/ed25519.js'
import { describe, expect, it } from 'vitest'
import {
  correctAdministration,
  createPrescription,
  marEntryProblem,
  recordAdministration,
  signPrescription,
  type ChartCollection,
  type MarInput,
} from '@clinic-mesh/records'
import { doctor, nurse, withPatient } from './fixtures.js'

const secretKey = ed25519.utils.randomSecretKey(new Uint8Array(32).fill(9))
const amox = {
  itemId: 'itm_amox',
  drug: 'Amoxicillin 250 mg capsule',
  dose: '500 mg',
  route: 'oral',
  frequency: '3 times a day',
  duration: '5 days',
  quantity: 15,
}

/** A patient with one signed and one draft prescription of amoxicillin. */
function setup(): { doc: A.Doc<ChartCollection>; pid: string; rx: string; draft: string; line: string } {
  const start = withPatient()
  let rx = ''
  let draft = ''
  let doc = A.change(start.doc, (d) => {
    rx = createPrescription(d.charts[start.pid]!, { items: [amox] }, doctor).id
    draft = createPrescription(d.charts[start.pid]!, { items: [amox] }, doctor).id
  })
  doc = A.change(doc, (d) => void signPrescription(d.charts[start.pid]!, rx, secretKey, doctor))
  const line = Object.keys(doc.charts[start.pid]!.prescriptions[rx]!.items)[0]!
  return { doc, pid: start.pid, rx, draft, line }
}

describe('marEntryProblem: what the device node accepts as a MAR entry from a browser', () => {
  const { doc, pid, rx, draft, line } = setup()
  const dose = (extra: Partial<MarInput> = {}): MarInput => ({
    drug: amox.drug,
    dose: '500 mg',
    route: 'oral',
    status: 'given',
    administeredAt: '2026-11-20T08:00:00.000Z',
    prescriptionId: rx,
    itemId: line,
    ...extra,
  })
  /** The problem with the entry `fn` writes (records helpers, or raw writes around them). */
  const problemOf = (fn: (d: ChartCollection) => string, user = 'usr_nurse'): string | undefined => {
    let id = ''
    const next = A.change(A.clone(doc), (d) => {
      id = fn(d)
    })
    return marEntryProblem(next.charts[pid]!, id, { user })
  }

  it('accepts a dose of a signed line by the signed-in user, and its correction', () => {
    expect(problemOf((d) => recordAdministration(d.charts[pid]!, dose(), nurse))).toBeUndefined()
    expect(
      problemOf((d) => {
        const first = recordAdministration(d.charts[pid]!, dose(), nurse)
        return correctAdministration(d.charts[pid]!, first, dose({ status: 'entered-in-error' }), nurse)
      }),
    ).toBeUndefined()
  })

  it('refuses a draft, an unknown line, another medicine, another author, a bad status, a correction of nothing', () => {
    expect(
      problemOf((d) => recordAdministration(d.charts[pid]!, dose({ prescriptionId: draft }), nurse)),
    ).toMatch(/signed prescription/)
    expect(
      problemOf((d) => recordAdministration(d.charts[pid]!, dose({ prescriptionId: undefined }), nurse)),
    ).toMatch(/signed prescription/)
    expect(problemOf((d) => recordAdministration(d.charts[pid]!, dose({ itemId: 'nope' }), nurse))).toMatch(
      /has no line nope/,
    )
    expect(problemOf((d) => recordAdministration(d.charts[pid]!, dose({ drug: 'Morphine' }), nurse))).toMatch(
      /not the one prescribed/,
    )
    expect(problemOf((d) => recordAdministration(d.charts[pid]!, dose(), doctor))).toMatch(
      /not the signed-in user/,
    )
    expect(
      problemOf((d) => {
        const id = recordAdministration(d.charts[pid]!, dose(), nurse)
        d.charts[pid]!.mar[id]!.status = new ImmutableString('vanished') as never
        return id
      }),
    ).toMatch(/status must be one of/)
    expect(
      problemOf((d) => {
        const id = recordAdministration(d.charts[pid]!, dose(), nurse)
        d.charts[pid]!.mar[id]!.corrects = new ImmutableString('mar_nothing')
        return id
      }),
    ).toMatch(/corrects an entry that does not exist/)
  })
})
