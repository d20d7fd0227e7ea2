import type { Role } from '@clinic-mesh/contracts'
import { ForbiddenError } from './errors.js'

/** Everything the policy knows how to decide. */
export const ACTIONS = [
  'read-chart',
  'register-patient',
  'open-encounter',
  'move-queue',
  'record-vitals',
  'record-allergies',
  'write-notes',
  'consult',
  'link-patients',
  'record-mar',
  'draft-prescription',
  'sign-prescription',
  'alert-override',
  'dispense',
  'receive-stock',
  'request-adjustment',
  'adjust-stock',
  'resolve-conflict',
  'approve-critical',
  'manage-users',
  'enrol-device',
  'revoke-device',
  // stock operations the relay settles (ledger kinds mapped in apps/relay/src/role-check.ts)
  'transfer-stock',
  'count-stock',
  'manage-formulary',
  'set-prescription-status',
] as const
export type Action = (typeof ACTIONS)[number]

/** `always`: online or offline; `online`: needs the relay; `fresh-kb`: offline only against a recent knowledge base. */
type Offline = 'always' | 'online' | 'fresh-kb'

interface Rule {
  readonly roles: readonly Role[]
  readonly offline: Offline
}

const CLINICAL: readonly Role[] = [
  'registration',
  'nurse',
  'clinician',
  'pharmacist',
  'supervisor',
  'reviewer',
]

/** Seed 001 offline matrix plus the docs/ARCHITECTURE.md decision on offline signing. */
export const POLICY: Readonly<Record<Action, Rule>> = {
  'read-chart': { roles: CLINICAL, offline: 'always' },
  'register-patient': { roles: ['registration', 'nurse', 'clinician'], offline: 'always' },
  'open-encounter': { roles: ['registration', 'nurse', 'clinician'], offline: 'always' },
  'move-queue': { roles: ['registration', 'nurse', 'clinician', 'pharmacist'], offline: 'always' },
  'record-vitals': { roles: ['nurse', 'clinician'], offline: 'always' },
  'record-allergies': { roles: ['nurse', 'clinician'], offline: 'always' },
  /** the clinician's section: diagnoses, problems, orders, the section's own stamp */
  consult: { roles: ['clinician'], offline: 'always' },
  'link-patients': { roles: ['registration', 'nurse', 'clinician', 'supervisor'], offline: 'always' },
  'write-notes': { roles: ['nurse', 'clinician'], offline: 'always' },
  'record-mar': { roles: ['nurse', 'clinician'], offline: 'always' },
  'draft-prescription': { roles: ['clinician'], offline: 'always' },
  'sign-prescription': { roles: ['clinician'], offline: 'fresh-kb' },
  'alert-override': { roles: ['clinician'], offline: 'online' },
  dispense: { roles: ['pharmacist'], offline: 'always' },
  'receive-stock': { roles: ['pharmacist', 'supervisor'], offline: 'always' },
  'request-adjustment': { roles: ['pharmacist', 'supervisor'], offline: 'always' },
  'adjust-stock': { roles: ['supervisor'], offline: 'online' },
  'resolve-conflict': { roles: ['reviewer', 'pharmacist', 'supervisor'], offline: 'online' },
  'approve-critical': { roles: ['supervisor'], offline: 'online' },
  'manage-users': { roles: ['admin'], offline: 'always' },
  'enrol-device': { roles: ['admin'], offline: 'always' },
  'revoke-device': { roles: ['admin'], offline: 'always' },
  'transfer-stock': { roles: ['pharmacist', 'supervisor'], offline: 'always' },
  'count-stock': { roles: ['pharmacist', 'supervisor'], offline: 'always' },
  /** the formulary (names, prices, status) is the central office's: seed 001, Medication (reference), server authoritative */
  'manage-formulary': { roles: ['admin'], offline: 'always' },
  /**
   * putting a signed prescription on hold, releasing or cancelling it: a central clinician or pharmacist signed in at
   * the relay (never from a device's log: apps/relay prescription-route.ts)
   */
  'set-prescription-status': { roles: ['clinician', 'pharmacist'], offline: 'online' },
}

/** Default maximum age of the knowledge-base snapshot for offline signing (docs/ARCHITECTURE.md). */
export const MAX_KB_AGE_DAYS = 7

export interface PolicyContext {
  readonly online: boolean
  /** Age of the formulary/knowledge-base snapshot the device holds; required for offline signing. */
  readonly knowledgeBaseAgeDays?: number
  readonly maxKnowledgeBaseAgeDays?: number
}

export type Decision =
  | { readonly allowed: true }
  | {
      readonly allowed: false
      readonly reason: 'role' | 'offline' | 'stale-knowledge-base'
      readonly message: string
    }

/** Why (not) — for the UI to explain a greyed-out button. */
export function decide(role: Role, action: Action, ctx: PolicyContext): Decision {
  const rule = POLICY[action]
  if (!rule.roles.includes(role))
    return { allowed: false, reason: 'role', message: `${role} may not ${action}` }
  if (ctx.online || rule.offline === 'always') return { allowed: true }
  if (rule.offline === 'online')
    return { allowed: false, reason: 'offline', message: `${action} needs a connection to the relay` }
  const age = ctx.knowledgeBaseAgeDays
  const max = ctx.maxKnowledgeBaseAgeDays ?? MAX_KB_AGE_DAYS
  if (age === undefined || !(age >= 0) || age > max) {
    const seen = age === undefined ? 'no knowledge-base snapshot' : `knowledge base is ${age} days old`
    return {
      allowed: false,
      reason: 'stale-knowledge-base',
      message: `${seen}; offline ${action} needs one younger than ${max} days`,
    }
  }
  return { allowed: true }
}

export function can(role: Role, action: Action, ctx: PolicyContext): boolean {
  return decide(role, action, ctx).allowed
}

/** Throws `ForbiddenError` (reason `role`, `offline` or `stale-knowledge-base`) unless allowed. */
export function assertCan(role: Role, action: Action, ctx: PolicyContext): void {
  const d = decide(role, action, ctx)
  if (!d.allowed) throw new ForbiddenError(d.reason, d.message)
}
