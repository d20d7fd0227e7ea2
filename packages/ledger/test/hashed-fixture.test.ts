import { encodeOperation, hashOperation, validateOperation, type Operation } from '@clinic-mesh/ledger'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

// Operations hashed before canonicalJson moved to @clinic-mesh/contracts (the ledger had its own copy then).
const ops = JSON.parse(
  readFileSync(new URL('./fixtures/hashed-operations.json', import.meta.url), 'utf8'),
) as Operation[]

describe('operations hashed by earlier builds', () => {
  it('hash the same and validate', () => {
    for (const op of ops) {
      expect(hashOperation(op)).toBe(op.hash)
      expect(validateOperation(op)).toEqual(op)
    }
  })

  it('a value canonical JSON cannot hold is an InvalidOperationError', () => {
    const bad = { ...ops[0]!, quantity: Number.NaN }
    expect(() => encodeOperation(bad)).toThrow(
      expect.objectContaining({ name: 'InvalidOperationError', reason: 'bad-number' }),
    )
  })
})
