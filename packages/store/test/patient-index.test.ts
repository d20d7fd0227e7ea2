import { describe, expect, it } from 'vitest'
import { PatientIndex, decodeSummary, encodeSummary, type PatientSummary } from '@clinic-mesh/store'

function s(id: string, given: string, family: string, extra: Partial<PatientSummary> = {}): PatientSummary {
  return {
    id,
    given,
    family,
    birthDate: '1990-05-01',
    sex: 'female',
    identifiers: [],
    updatedAt: '2026-01-01',
    ...extra,
  }
}

describe('PatientIndex', () => {
  it('finds patients by name-token prefixes in any order, ignoring case and accents', () => {
    const ix = new PatientIndex()
    ix.upsert(s('a', 'Chikondi', 'Banda'))
    ix.upsert(s('b', 'Chisomo', 'Phiri'))
    ix.upsert(s('c', 'José', 'Bañda'))
    expect(
      ix
        .search('chi')
        .map((p) => p.id)
        .sort(),
    ).toEqual(['a', 'b'])
    expect(ix.search('ban chik').map((p) => p.id)).toEqual(['a'])
    expect(ix.search('jose banda').map((p) => p.id)).toEqual(['c'])
    expect(ix.search('zulu')).toEqual([])
    expect(ix.search('  ')).toEqual([])
  })

  it('finds by identifier, with or without its system', () => {
    const ix = new PatientIndex()
    ix.upsert(s('a', 'Ana', 'Moyo', { identifiers: ['national-id|MW-123'] }))
    expect(ix.search('MW-123').map((p) => p.id)).toEqual(['a'])
    expect(ix.search('national-id|mw-123').map((p) => p.id)).toEqual(['a'])
  })

  it('lists the holders of an exact identifier, in search order, through renames and removals', () => {
    const ix = new PatientIndex()
    ix.upsert(s('b', 'Zed', 'Phiri', { identifiers: ['national-id|MW-123'] }))
    ix.upsert(s('a', 'Ana', 'Moyo', { identifiers: ['national-id|MW-123', 'upi|U-1'] }))
    ix.upsert(s('c', 'Cee', 'Banda', { identifiers: ['other|MW-123'] }))
    expect(ix.withIdentifier('national-id|MW-123').map((p) => p.id)).toEqual(['a', 'b'])
    expect(ix.withIdentifier('national-id|MW-123').map((p) => p.id)).toEqual(
      ix
        .search('national-id|MW-123', { limit: 50 })
        .filter((p) => p.identifiers.includes('national-id|MW-123'))
        .map((p) => p.id),
    )
    expect(ix.withIdentifier('national-id|mw-123')).toEqual([]) // exact: as stored
    ix.upsert(s('a', 'Ana', 'Moyo', { identifiers: ['upi|U-1'] }))
    ix.remove('b')
    expect(ix.withIdentifier('national-id|MW-123')).toEqual([])
    expect(ix.withIdentifier('upi|U-1').map((p) => p.id)).toEqual(['a'])
  })

  it('reflects renames and removals, in small and in bulk batches', () => {
    const ix = new PatientIndex()
    ix.upsert(s('a', 'Ana', 'Moyo'))
    expect(ix.search('moyo')).toHaveLength(1)
    ix.upsert(s('a', 'Ana', 'Tembo'))
    expect(ix.search('moyo')).toHaveLength(0)
    expect(ix.search('tembo')).toHaveLength(1)
    ix.remove('a')
    expect(ix.search('tembo')).toHaveLength(0)
    for (let i = 0; i < 3000; i++) ix.upsert(s(`p${i}`, `Given${i}`, i % 2 ? 'Odd' : 'Even'))
    ix.upsert(s('p7', 'Given7', 'Renamed'))
    expect(ix.search('odd', { limit: 5000 })).toHaveLength(1499)
    expect(ix.search('renamed').map((p) => p.id)).toEqual(['p7'])
    ix.upsert(s('p7', 'Given7', 'Odd'))
    ix.remove('p7')
    expect(ix.search('odd', { limit: 5000 })).toHaveLength(1499)
    expect(ix.size).toBe(2999)
  })

  it('an upsert followed by a removal before any search leaves nothing behind', () => {
    const ix = new PatientIndex()
    ix.upsert(s('x', 'Temp', 'Person'))
    ix.remove('x')
    expect(ix.search('temp')).toEqual([])
  })

  it('groups possible duplicates by identifier or by name, birth date and sex', () => {
    const ix = new PatientIndex()
    ix.upsert(s('a', 'Grace', 'Banda', { identifiers: ['nid|9'] }))
    ix.upsert(s('b', 'G', 'Other', { identifiers: ['nid|9'] }))
    ix.upsert(s('c', 'grace', 'BANDA'))
    ix.upsert(s('d', 'Grace', 'Banda', { sex: 'male' }))
    expect(ix.possibleDuplicatesOf('a').sort()).toEqual(['b', 'c'])
    expect(ix.possibleDuplicatesOf('d')).toEqual([])
    expect(ix.duplicateGroups()).toHaveLength(2)
  })
})

describe('summary codec', () => {
  it('round-trips, neutralising delimiters in names', () => {
    const sum = s('a', 'Ana\tMaria', 'Moyo', { identifiers: ['nid|1', 'art|2'] })
    const back = decodeSummary('a', encodeSummary(sum))
    expect(back).toEqual({ ...sum, given: 'Ana Maria' })
  })
  it('refuses a summary it cannot read with a named error', () => {
    expect(() => decodeSummary('a', 's9\tx')).toThrow(expect.objectContaining({ name: 'SummaryCodecError' }))
    expect(() => decodeSummary('a', 42)).toThrow(expect.objectContaining({ name: 'SummaryCodecError' }))
  })
})
