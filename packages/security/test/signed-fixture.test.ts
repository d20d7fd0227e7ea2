import {
  type AuditEntry,
  type BatchKeys,
  type SignedAuditHead,
  type SignedBatch,
  verifyAuditHead,
  verifyBatch,
  verifyChain,
} from '@clinic-mesh/security'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

// A signed batch, an audit chain (v1 and v2 entries) and a signed audit head made before canonicalJson moved to
// @clinic-mesh/contracts (security had its own copy then).
const fixture = JSON.parse(
  readFileSync(new URL('./fixtures/signed-security.json', import.meta.url), 'utf8'),
) as {
  keys: BatchKeys & { devices: { dev_tablet3: string } }
  batch: SignedBatch
  audit: AuditEntry[]
  head: SignedAuditHead
}

describe('signatures and hashes made by earlier builds', () => {
  it('the signed batch still verifies; an edited op does not', () => {
    expect(verifyBatch(fixture.batch, fixture.keys)).toEqual({ ok: true })
    const ops = fixture.batch.ops.map((op, i) => (i === 1 ? { ...op, quantity: 99 } : op))
    expect(verifyBatch({ ...fixture.batch, ops }, fixture.keys)).toMatchObject({
      ok: false,
      reason: 'bad-hash',
    })
  })

  it('the audit chain and its signed head still verify', () => {
    expect(verifyChain(fixture.audit)).toEqual({ ok: true, head: { seq: 2, hash: fixture.audit[1]!.hash } })
    expect(verifyAuditHead(fixture.head, fixture.keys.devices.dev_tablet3)).toBe(true)
    const edited = [fixture.audit[0]!, { ...fixture.audit[1]!, target: 'chart/pt_2' }]
    expect(verifyChain(edited)).toMatchObject({ ok: false, reason: 'bad-hash' })
  })
})
