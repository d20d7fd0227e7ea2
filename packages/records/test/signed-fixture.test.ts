import * as A from '@automerge/automerge'
import {
  canonicalPrescription,
  prescriptionHash,
  verifyPrescription,
  type Prescription,
} from '@clinic-mesh/records'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

// A prescription signed before canonicalJson moved to @clinic-mesh/contracts (records had its own copy then).
const fixture = JSON.parse(
  readFileSync(new URL('./fixtures/signed-prescription.json', import.meta.url), 'utf8'),
) as {
  canonical: string
  hash: string
  publicKey: string
  prescription: Record<string, unknown>
}

describe('prescriptions signed by earlier builds', () => {
  const rx = A.from({ rx: fixture.prescription }).rx as unknown as Prescription

  it('encode to the same canonical bytes and hash', () => {
    expect(canonicalPrescription(rx)).toBe(fixture.canonical)
    expect(prescriptionHash(rx)).toBe(fixture.hash)
  })

  it('still verify, and an edited copy does not', () => {
    expect(verifyPrescription(rx, { trustedKeys: [fixture.publicKey] })).toEqual({
      ok: true,
      hash: fixture.hash,
    })
    const items = fixture.prescription.items as Record<string, Record<string, string>>
    const [first] = Object.keys(items)
    const edited = {
      ...fixture.prescription,
      items: { ...items, [first!]: { ...items[first!], dose: '5 g' } },
    }
    expect(verifyPrescription(A.from({ rx: edited }).rx as unknown as Prescription)).toMatchObject({
      ok: false,
      reason: 'content-changed',
    })
  })
})
