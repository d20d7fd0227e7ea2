import { ed25519 } from '@noble/curves/ed25519.js'
import { bytesToHex } from '@noble/hashes/utils.js'
import { describe, expect, it } from 'vitest'
import {
  ADJUSTMENT_APPROVAL_CONTEXT,
  adjustmentApprovalBytes,
  signAdjustmentApproval,
  signBatch,
  verifyAdjustmentApproval,
} from '@clinic-mesh/security'
import { makeOps } from './ops.js'

const supervisorKey = new Uint8Array(32).fill(7)
const supervisorPub = bytesToHex(ed25519.getPublicKey(supervisorKey))
const request = {
  id: 'adj-1',
  device: 'dev_pharmacy',
  user: 'usr_pharm',
  site: 'main',
  item: 'morphine-10mg',
  batch: 'MO-1',
  delta: -2,
  reason: 'ampoules broken',
  corrects: null,
}

describe('a supervisor approval of an adjustment', () => {
  it('verifies over exactly the request it was made for', () => {
    const sig = signAdjustmentApproval(request, 'usr_sup', supervisorKey)
    expect(verifyAdjustmentApproval(request, 'usr_sup', sig, supervisorPub)).toBe(true)
    expect(new TextDecoder().decode(adjustmentApprovalBytes(request, 'usr_sup'))).toMatch(
      new RegExp(`^${ADJUSTMENT_APPROVAL_CONTEXT}\n`),
    )
  })

  it('does not verify for another request, another delta, another approver or a malformed signature', () => {
    const sig = signAdjustmentApproval(request, 'usr_sup', supervisorKey)
    expect(verifyAdjustmentApproval({ ...request, id: 'adj-2' }, 'usr_sup', sig, supervisorPub)).toBe(false)
    expect(verifyAdjustmentApproval({ ...request, delta: -20 }, 'usr_sup', sig, supervisorPub)).toBe(false)
    expect(verifyAdjustmentApproval({ ...request, device: 'dev_x' }, 'usr_sup', sig, supervisorPub)).toBe(
      false,
    )
    expect(verifyAdjustmentApproval(request, 'usr_other', sig, supervisorPub)).toBe(false)
    expect(verifyAdjustmentApproval(request, 'usr_sup', 'zz', supervisorPub)).toBe(false)
  })

  it('a run signature by the same key is no approval', () => {
    const batch = signBatch(makeOps(1), supervisorKey, new Uint8Array(32).fill(3))
    expect(verifyAdjustmentApproval(request, 'usr_sup', batch.userSignature, supervisorPub)).toBe(false)
  })
})
