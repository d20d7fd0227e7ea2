import type { ConflictQueueDoc, SettledInventoryDoc } from '@clinic-mesh/contracts'
import {
  signConflictQueue,
  signSettledInventory,
  verifyConflictQueue,
  verifySettledInventory,
} from '@clinic-mesh/ledger'
import { ed25519 } from '@noble/curves/ed25519.js'
import { describe, expect, it } from 'vitest'

const relay = ed25519.utils.randomSecretKey()
const relayKey = Buffer.from(ed25519.getPublicKey(relay)).toString('hex')
const expectFor = { relayKey, clinic: 'clinic-a' }

function inventory(version: number, over: Partial<SettledInventoryDoc> = {}): SettledInventoryDoc {
  const content = {
    kind: 'settled-inventory/1' as const,
    clinic: 'clinic-a',
    settledAt: '2025-03-01T10:00:00.000Z',
    decidedOps: 3,
    watermarks: { 'tab-2': 1, 'tab-1': 3 },
    state: JSON.stringify({ stock: { 'site-a': { L1: 70 } } }),
    ...over,
  }
  return { ...content, relaySignature: signSettledInventory(content, version, relay) }
}

describe('relay-signed settled inventory', () => {
  it('verifies what the relay signed, whatever the key order of the watermarks', () => {
    const doc = inventory(4)
    expect(verifySettledInventory(doc, expectFor)).toEqual({ ok: true, version: 4 })
    const reordered = { ...doc, watermarks: { 'tab-1': 3, 'tab-2': 1 } }
    expect(verifySettledInventory(reordered, expectFor)).toEqual({ ok: true, version: 4 })
    // a plain JSON round trip (how devices copy Automerge documents) changes nothing
    expect(verifySettledInventory(JSON.parse(JSON.stringify(doc)), { ...expectFor, minVersion: 4 })).toEqual({
      ok: true,
      version: 4,
    })
  })

  it.each([
    ['settledAt', { settledAt: '2099-01-01T00:00:00.000Z' }],
    ['state', { state: JSON.stringify({ stock: { 'site-a': { L1: 7000 } } }) }],
    ['a watermark', { watermarks: { 'tab-1': 9, 'tab-2': 1 } }],
    ['decidedOps', { decidedOps: 4 }],
  ])('refuses a document whose %s changed after signing', (_what, change) => {
    const forged = { ...inventory(4), ...change }
    expect(verifySettledInventory(forged, expectFor)).toMatchObject({ ok: false, reason: 'bad-signature' })
  })

  it('refuses a raised version (the version is signed too)', () => {
    const doc = inventory(4)
    const bumped = { ...doc, relaySignature: { ...doc.relaySignature!, version: 5 } }
    expect(verifySettledInventory(bumped, expectFor)).toMatchObject({ ok: false, reason: 'bad-signature' })
  })

  it('refuses another key: a stranger re-signing, or a document claiming the pinned key with a stranger signature', () => {
    const stranger = ed25519.utils.randomSecretKey()
    const { relaySignature: _s, ...content } = inventory(4, { settledAt: '2099-01-01T00:00:00.000Z' })
    const resigned = { ...content, relaySignature: signSettledInventory(content, 5, stranger) }
    expect(verifySettledInventory(resigned, expectFor)).toMatchObject({ ok: false, reason: 'wrong-key' })
    const claimed = { ...resigned, relaySignature: { ...resigned.relaySignature, key: relayKey } }
    expect(verifySettledInventory(claimed, expectFor)).toMatchObject({ ok: false, reason: 'bad-signature' })
  })

  it('refuses a lower version than one verified before (an old signed copy written back)', () => {
    expect(verifySettledInventory(inventory(3), { ...expectFor, minVersion: 4 })).toMatchObject({
      ok: false,
      reason: 'rolled-back',
    })
    expect(verifySettledInventory(inventory(4), { ...expectFor, minVersion: 4 })).toMatchObject({ ok: true })
  })

  it('refuses an unsigned document, another clinic and malformed signatures', () => {
    const { relaySignature: _s, ...unsigned } = inventory(1)
    expect(verifySettledInventory(unsigned, expectFor)).toMatchObject({ ok: false, reason: 'unsigned' })
    expect(verifySettledInventory(inventory(1, { clinic: 'clinic-b' }), expectFor)).toMatchObject({
      ok: false,
      reason: 'wrong-clinic',
    })
    const doc = inventory(1)
    expect(
      verifySettledInventory(
        { ...doc, relaySignature: { ...doc.relaySignature!, signature: 'zz' } },
        expectFor,
      ),
    ).toMatchObject({ ok: false, reason: 'bad-signature' })
    expect(
      verifySettledInventory({ ...doc, relaySignature: { ...doc.relaySignature!, version: 0 } }, expectFor),
    ).toMatchObject({ ok: false, reason: 'malformed' })
    expect(verifySettledInventory(null, expectFor)).toMatchObject({ ok: false, reason: 'malformed' })
    expect(verifySettledInventory({ ...doc, kind: 'conflict-queue/1' }, expectFor)).toMatchObject({
      ok: false,
      reason: 'malformed',
    })
  })
})

describe('relay-signed conflict queue', () => {
  const content = {
    kind: 'conflict-queue/1' as const,
    clinic: 'clinic-a',
    conflicts: { c2: '{"status":"open"}', c1: '{"status":"resolved"}' },
  }
  const doc: ConflictQueueDoc = { ...content, relaySignature: signConflictQueue(content, 2, relay) }

  it('verifies, and refuses an edited, added or removed entry, another key and a lower version', () => {
    expect(verifyConflictQueue(doc, expectFor)).toEqual({ ok: true, version: 2 })
    expect(
      verifyConflictQueue(
        { ...doc, conflicts: { ...doc.conflicts, c2: '{"status":"resolved"}' } },
        expectFor,
      ),
    ).toMatchObject({ ok: false, reason: 'bad-signature' })
    expect(
      verifyConflictQueue({ ...doc, conflicts: { ...doc.conflicts, c3: '{}' } }, expectFor),
    ).toMatchObject({ ok: false, reason: 'bad-signature' })
    expect(verifyConflictQueue({ ...doc, conflicts: { c1: doc.conflicts.c1 } }, expectFor)).toMatchObject({
      ok: false,
      reason: 'bad-signature',
    })
    const other = Buffer.from(ed25519.getPublicKey(ed25519.utils.randomSecretKey())).toString('hex')
    expect(verifyConflictQueue(doc, { ...expectFor, relayKey: other })).toMatchObject({
      ok: false,
      reason: 'wrong-key',
    })
    expect(verifyConflictQueue(doc, { ...expectFor, minVersion: 3 })).toMatchObject({
      ok: false,
      reason: 'rolled-back',
    })
    // the two documents' signatures are domain-separated: an inventory signature never verifies a queue
    const inv = inventory(2)
    expect(verifyConflictQueue({ ...doc, relaySignature: inv.relaySignature }, expectFor)).toMatchObject({
      ok: false,
      reason: 'bad-signature',
    })
  })
})
