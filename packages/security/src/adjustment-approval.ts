import { ed25519 } from '@noble/curves/ed25519.js'
import { canonicalJson } from '@clinic-mesh/contracts'
import { bytesToHex, hexToBytes, utf8ToBytes } from './bytes.js'

/** Context string of a supervisor's approval of a stock adjustment (never a bare digest: THREAT_MODEL §4). */
export const ADJUSTMENT_APPROVAL_CONTEXT = 'clinic-mesh/adjustment-approval/v1'

/**
 * What a supervisor approves: the request's identity (operation id, device, requester, site) and content (lot,
 * delta, reason, what it corrects), and the approver. Structurally the `adjustment-request` operation's fields.
 */
export interface ApprovedAdjustment {
  readonly id: string
  readonly device: string
  readonly user: string
  readonly site: string
  readonly item: string
  readonly batch: string
  readonly delta: number
  readonly reason: string
  readonly corrects: string | null
}

/** The bytes the approver's key signs: the context, then the canonical JSON of the request and the approver's id. */
export function adjustmentApprovalBytes(req: ApprovedAdjustment, approver: string): Uint8Array {
  const { id, device, user, site, item, batch, delta, reason, corrects } = req
  return utf8ToBytes(
    `${ADJUSTMENT_APPROVAL_CONTEXT}\n${canonicalJson({ id, device, user, site, item, batch, delta, reason, corrects, approver })}`,
  )
}

/** The approver's signature (hex) over `req` with their Ed25519 secret key. */
export function signAdjustmentApproval(
  req: ApprovedAdjustment,
  approver: string,
  secretKey: Uint8Array,
): string {
  return bytesToHex(ed25519.sign(adjustmentApprovalBytes(req, approver), secretKey))
}

/** Whether `signature` is `approver`'s (public key hex) over exactly this request: another request's does not verify. */
export function verifyAdjustmentApproval(
  req: ApprovedAdjustment,
  approver: string,
  signature: string,
  publicKey: string,
): boolean {
  try {
    return ed25519.verify(
      hexToBytes(signature),
      adjustmentApprovalBytes(req, approver),
      hexToBytes(publicKey),
    )
  } catch {
    return false
  }
}
