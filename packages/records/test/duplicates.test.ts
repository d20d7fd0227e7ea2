import * as A from '@automerge/automerge'
import type { PatientId } from '@clinic-mesh/contracts'
import { describe, expect, it } from 'vitest'
import {
  duplicateKeys,
  emptyCollection,
  findPossibleDuplicates,
  areLinked,
  linkPatients,
  registerPatient,
  summarize,
  unlinkPatients,
  type ChartCollection,
} from '@clinic-mesh/records'
import { clerk, grace, nurse, replicas, thrown } from './fixtures.js'

function offlinePair(second: Parameters<typeof grace>[0]) {
  const base = A.from(emptyCollection())
  const [a, b] = replicas(base, 2)
  let pa = '' as PatientId
  let pb = '' as PatientId
  const ra = A.change(a!, (d) => {
    pa = registerPatient(d, grace(), clerk)
  })
  const rb = A.change(b!, (d) => {
    pb = registerPatient(d, grace(second), nurse)
    registerPatient(d, { given: 'Joseph', family: 'Phiri', birthDate: '1990-01-01', sex: 'male' }, nurse)
  })
  return { doc: A.merge(ra, rb), pa, pb }
}

const pair = (x: string, y: string) => (x < y ? [x, y] : [y, x])

describe('duplicate patients', () => {
  it('reports two offline registrations with the same identifier after merge; both charts stay', () => {
    const { doc, pa, pb } = offlinePair({
      given: 'Gracie',
      identifiers: [{ system: 'national-id', value: 'mw-100001' }],
    })
    expect(Object.keys(doc.charts)).toHaveLength(3)
    const found = findPossibleDuplicates(doc)
    expect(found).toEqual([
      { a: pair(pa, pb)[0], b: pair(pa, pb)[1], reasons: ['identifier national-id|MW100001'] },
    ])
  })

  it('reports the same normalized name + birth date + sex without identifiers', () => {
    const { doc, pa, pb } = offlinePair({ given: 'BANDA', family: 'Gráce ', identifiers: [] })
    expect(findPossibleDuplicates(doc.charts)).toEqual([
      { a: pair(pa, pb)[0], b: pair(pa, pb)[1], reasons: ['name+birthDate+sex'] },
    ])
    expect(findPossibleDuplicates(offlinePair({ birthDate: '1984-03-13', identifiers: [] }).doc)).toEqual([])
  })

  it('linking hides the pair, unlinking brings it back, nothing is deleted', () => {
    const { doc, pa, pb } = offlinePair({})
    expect(findPossibleDuplicates(doc)[0]!.reasons.sort()).toEqual([
      'identifier national-id|MW100001',
      'name+birthDate+sex',
    ])
    let linkId = ''
    const linked = A.change(doc, (d) => {
      linkId = linkPatients(d, pa, pb, clerk)
    })
    expect(findPossibleDuplicates(linked)).toEqual([])
    expect(linked.links[linkId]!.active).toBe(true)
    // linking again is a no-op
    expect(A.change(linked, (d) => linkPatients(d, pb, pa, clerk)).links).toEqual(linked.links)
    const unlinked = A.change(linked, (d) => unlinkPatients(d, pa, pb, nurse))
    expect(Object.keys(unlinked.charts)).toHaveLength(3)
    expect(Object.keys(unlinked.links)).toEqual([linkId])
    expect(unlinked.links[linkId]!.active).toBe(false)
    expect(findPossibleDuplicates(unlinked)).toHaveLength(1)
  })

  it('treats links transitively and refuses bad links', () => {
    let doc = A.from<ChartCollection>(emptyCollection())
    const ids: PatientId[] = []
    doc = A.change(doc, (d) => {
      for (let i = 0; i < 3; i++) ids.push(registerPatient(d, grace(), clerk))
    })
    expect(findPossibleDuplicates(doc)).toHaveLength(3)
    doc = A.change(doc, (d) => {
      linkPatients(d, ids[0]!, ids[1]!, clerk)
      linkPatients(d, ids[1]!, ids[2]!, clerk)
    })
    expect(findPossibleDuplicates(doc)).toEqual([])
    expect(thrown(() => A.change(doc, (d) => linkPatients(d, ids[0]!, ids[0]!, clerk))).name).toBe(
      'InvalidRecordError',
    )
    expect(
      thrown(() => A.change(doc, (d) => linkPatients(d, ids[0]!, 'pt_nope' as PatientId, clerk))).name,
    ).toBe('UnknownRecordError')
  })

  it('links two patients of different buckets with the same link, each bucket recording it once', () => {
    const one = A.change(A.from(emptyCollection()), (d) => registerPatient(d, grace(), clerk))
    const two = A.change(A.from(emptyCollection()), (d) => registerPatient(d, grace(), nurse))
    const pa = Object.keys(one.charts)[0] as PatientId
    const pb = Object.keys(two.charts)[0] as PatientId
    // without saying so, the other chart must be here
    expect(thrown(() => A.change(one, (d) => linkPatients(d, pa, pb, clerk))).name).toBe('UnknownRecordError')
    let id = ''
    const oneLinked = A.change(one, (d) => (id = linkPatients(d, pa, pb, clerk, { acrossBuckets: true })))
    const twoLinked = A.change(two, (d) => linkPatients(d, pb, pa, clerk, { acrossBuckets: true, id }))
    expect(Object.keys(twoLinked.links)).toEqual([id])
    expect(areLinked(oneLinked, pb, pa) && areLinked(twoLinked, pa, pb)).toBe(true)
    expect(
      areLinked(
        A.change(oneLinked, (d) => unlinkPatients(d, pa, pb, nurse)),
        pa,
        pb,
      ),
    ).toBe(false)
  })

  it('duplicateKeys are comparable across shards', () => {
    const one = A.change(A.from(emptyCollection()), (d) => registerPatient(d, grace(), clerk))
    const two = A.change(A.from(emptyCollection()), (d) =>
      registerPatient(d, grace({ given: 'grace', family: 'BANDA ' }), nurse),
    )
    const k1 = duplicateKeys(summarize(Object.values(one.charts)[0]!))
    const k2 = duplicateKeys(summarize(Object.values(two.charts)[0]!))
    expect(k1).toEqual(['id:national-id|MW100001', 'nbs:banda grace|1984-03-12|female'])
    expect(k2).toEqual(k1)
  })
})
