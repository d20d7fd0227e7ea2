import { FormularyRequestSchema } from '@clinic-mesh/contracts'
import * as v from 'valibot'
import { describe, expect, it } from 'vitest'
import { ESSENTIAL_MEDICINES, essentialFormularyUpdate } from '../src/index.js'

describe('the starting essential-medicines formulary', () => {
  it('has ~30 distinct items, each a valid formulary request with a whole positive price', () => {
    expect(ESSENTIAL_MEDICINES.length).toBeGreaterThanOrEqual(30)
    expect(new Set(ESSENTIAL_MEDICINES.map((m) => m.item)).size).toBe(ESSENTIAL_MEDICINES.length)
    for (const m of ESSENTIAL_MEDICINES) {
      expect(Number.isInteger(m.price) && m.price > 0).toBe(true)
      const { kind: _kind, ...body } = essentialFormularyUpdate(m)
      expect(v.safeParse(FormularyRequestSchema, { id: `seed-${m.item}`, ...body }).success).toBe(true)
    }
  })

  it('marks the internationally controlled medicines (morphine, diazepam) and only those', () => {
    const controlled = ESSENTIAL_MEDICINES.filter((m) => m.controlled).map((m) => m.generic)
    expect(new Set(controlled)).toEqual(new Set(['Morphine', 'Diazepam']))
  })
})
