import type { Operation } from '@clinic-mesh/ledger'
import { verifyAdjustmentApproval, type UserRegister } from '@clinic-mesh/security'

/**
 * Whether the supervisor approval inside a verified `adjustment-request` is one (docs/THREAT_MODEL.md §4): signed
 * (security `signAdjustmentApproval`) over this very request by an active user whom the clinic's endorsed register
 * makes a supervisor, who is not the requester. The approval's `role` is never believed. Returns null (no approval, or
 * a genuine one) or the reason for an `unauthorized` conflict: a forged, borrowed or replayed approval settles nothing.
 */
export function approvalVerdict(op: Operation, register: UserRegister | undefined): string | null {
  if (op.kind !== 'adjustment-request' || op.approval === null) return null
  const a = op.approval
  if (a.signature === undefined)
    return `the approval by ${a.user} carries no signature: a claim, not a supervisor's approval`
  const approver = register?.users[a.user]
  if (!approver) return `approver ${a.user} is not an endorsed user of the clinic`
  if (approver.status !== 'active') return `approver ${a.user} is ${approver.status} in the clinic's register`
  if (approver.role !== 'supervisor')
    return `approver ${a.user} is a ${approver.role} in the clinic's register: only a supervisor approves an adjustment`
  if (a.user === op.user) return `${a.user} may not approve their own adjustment request`
  if (!verifyAdjustmentApproval(op, a.user, a.signature, approver.publicKey))
    return `the approval signature of ${a.user} does not verify over this request (forged, or taken from another)`
  return null
}
