import type { Operation, OperationKind } from '@clinic-mesh/ledger'
import { POLICY, type Action, type UserRegister } from '@clinic-mesh/security'

/**
 * The policy action each ledger operation kind needs (packages/security policy.ts). `null`: never from a device's
 * log — a resolution is made through the relay's reviewer API, where the reviewer's and approver's passwords are
 * checked; one written into a device log would carry an approval nobody proved.
 */
export const OPERATION_ACTIONS: Readonly<Record<OperationKind, Action | null>> = {
  receive: 'receive-stock',
  dispense: 'dispense',
  return: 'receive-stock',
  'transfer-out': 'transfer-stock',
  'transfer-in': 'transfer-stock',
  count: 'count-stock',
  'adjustment-request': 'request-adjustment',
  'formulary-update': 'manage-formulary',
  // a central status is set through the relay's API by a signed-in clinician or pharmacist (prescription-route.ts);
  // one in a device log is forged whoever signed it
  'prescription-status': null,
  resolution: null,
}

/**
 * Whether the user of a verified operation may issue it, judged on the clinic's endorsed register — the role the
 * register gives the user, never the `role` the operation claims. Returns null (allowed) or the reason for an
 * `unauthorized` conflict.
 */
export function roleVerdict(op: Operation, register: UserRegister | undefined): string | null {
  const action = OPERATION_ACTIONS[op.kind] as Action | null | undefined
  if (action === null)
    return `${op.kind} operations are made through the relay's API by a signed-in user, not a device log`
  if (action === undefined) return `unknown operation kind ${String(op.kind)}`
  const user = register?.users[op.user]
  if (!user) return `user ${op.user} is not an endorsed user of the clinic`
  if (user.status !== 'active') return `user ${op.user} is ${user.status} in the clinic's register`
  if (!POLICY[action].roles.includes(user.role)) {
    const claim = op.role === user.role ? '' : ` (the operation claims role ${op.role})`
    return `user ${op.user} is a ${user.role} in the clinic's register: a ${user.role} may not ${action} (${op.kind})${claim}`
  }
  return null
}
