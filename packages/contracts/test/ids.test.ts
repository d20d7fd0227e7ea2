import { describe, expect, it } from 'vitest'
import { InvalidInputError, isRole, newId } from '@clinic-mesh/contracts'

describe('contracts', () => {
  it('mints distinct prefixed ids', () => {
    const a = newId('pt')
    const b = newId('pt')
    expect(a).toMatch(/^pt_[0-9a-f]{32}$/)
    expect(a).not.toBe(b)
  })
  it('errors carry a stable name', () => {
    const err = new InvalidInputError('bad')
    expect(err.name).toBe('InvalidInputError')
    expect(err).toBeInstanceOf(Error)
  })
  it('recognises roles', () => {
    expect(isRole('pharmacist')).toBe(true)
    expect(isRole('janitor')).toBe(false)
  })
})
