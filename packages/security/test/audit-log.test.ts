import {
  type AuditEntry,
  AuditLog,
  hashAuditEntry,
  signAuditHead,
  verifyAuditHead,
  verifyChain,
} from '@clinic-mesh/security'
import { ed25519 } from '@noble/curves/ed25519.js'
import { bytesToHex } from '@noble/hashes/utils.js'
import { describe, expect, it } from 'vitest'

function sampleLog(): AuditLog {
  let t = Date.UTC(2026, 0, 5, 8, 0, 0)
  const log = AuditLog.create('dev_tablet3', () => new Date((t += 60_000)))
  log.append({ user: 'u_grace', action: 'read', target: 'chart_1' })
  log.append({ user: 'u_grace', action: 'change', target: 'chart_1' })
  log.append({ user: 'u_peter', action: 'read', target: 'chart_2' })
  log.append({ user: 'u_peter', action: 'change', target: 'chart_1' })
  log.append({ user: 'u_ann', action: 'read', target: 'chart_3' })
  return log
}

/** A forger who recomputes the hash of the entry they edited (but not the chain after it). */
const rehash = (e: AuditEntry): AuditEntry => ({ ...e, hash: hashAuditEntry(e) })

describe('audit log', () => {
  it('an untouched chain verifies and reports its head', () => {
    const log = sampleLog()
    expect(verifyChain(log.entries)).toEqual({ ok: true, head: log.head })
    expect(log.head?.seq).toBe(5)
  })

  it('detects an altered entry, even when its own hash is recomputed', () => {
    const entries = [...sampleLog().entries]
    const e = entries[1]!
    expect(verifyChain(entries.map((x, i) => (i === 1 ? { ...e, user: 'u_mallory' } : x)))).toMatchObject({
      ok: false,
      reason: 'bad-hash',
      index: 1,
    })
    expect(
      verifyChain(entries.map((x, i) => (i === 1 ? rehash({ ...e, target: 'chart_9' }) : x))),
    ).toMatchObject({ ok: false, index: 2 })
  })

  it('detects a deleted entry in the middle', () => {
    const entries = sampleLog().entries.filter((_, i) => i !== 2)
    expect(verifyChain(entries)).toMatchObject({ ok: false, reason: 'bad-seq', index: 2 })
  })

  it('detects reordering', () => {
    const [a, b, c, d, e] = sampleLog().entries
    expect(verifyChain([a!, c!, b!, d!, e!])).toMatchObject({ ok: false, index: 1 })
  })

  it('deleting the newest entries or rewriting the whole chain is caught only against an anchor', () => {
    const log = sampleLog()
    const anchor = log.head!
    const truncated = log.entries.slice(0, 3)
    expect(verifyChain(truncated)).toMatchObject({ ok: true })
    expect(verifyChain(truncated, { anchor })).toMatchObject({ ok: false, reason: 'truncated' })
    // a full rewrite that hides one read of chart_3
    const rewritten = AuditLog.create('dev_tablet3', () => new Date(Date.UTC(2026, 0, 5, 8, 1)))
    for (const e of log.entries)
      if (e.target !== 'chart_3') rewritten.append({ user: e.user, action: e.action, target: e.target })
    rewritten.append({ user: 'u_ann', action: 'read', target: 'chart_2' })
    expect(verifyChain(rewritten.entries)).toMatchObject({ ok: true })
    expect(verifyChain(rewritten.entries, { anchor })).toMatchObject({ ok: false, reason: 'anchor-mismatch' })
  })

  it('a signed head verifies under the device key and not after editing', () => {
    const sk = new Uint8Array(32).fill(5)
    const pk = bytesToHex(ed25519.getPublicKey(sk))
    const signed = signAuditHead('dev_tablet3', sampleLog().head!, sk)
    expect(verifyAuditHead(signed, pk)).toBe(true)
    expect(verifyAuditHead({ ...signed, seq: 3 }, pk)).toBe(false)
  })

  it('resume refuses a tampered chain and continues a good one', () => {
    const log = sampleLog()
    expect(() => AuditLog.resume('dev_tablet3', log.entries.slice(1))).toThrow(
      expect.objectContaining({ name: 'AuditChainError' }),
    )
    const again = AuditLog.resume('dev_tablet3', log.entries)
    expect(again.append({ user: 'u_ann', action: 'read', target: 'chart_1' })).toMatchObject({
      seq: 6,
      prevHash: log.head?.hash,
    })
    expect(verifyChain(again.entries)).toMatchObject({ ok: true })
  })

  it('whoTouched lists every read and change of a chart', () => {
    expect(sampleLog().whoTouched('chart_1')).toEqual([
      { user: 'u_grace', device: 'dev_tablet3', at: '2026-01-05T08:01:00.000Z', action: 'read' },
      { user: 'u_grace', device: 'dev_tablet3', at: '2026-01-05T08:02:00.000Z', action: 'change' },
      { user: 'u_peter', device: 'dev_tablet3', at: '2026-01-05T08:04:00.000Z', action: 'change' },
    ])
    expect(sampleLog().whoTouched('chart_404')).toEqual([])
  })
})
