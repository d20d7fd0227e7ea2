import type { AutomergeUrl } from '@automerge/automerge-repo'
import { isValidAutomergeUrl } from '@automerge/automerge-repo'
import {
  ClinicIdSchema,
  InvalidInputError,
  RegistrationRequestSchema,
  ResolutionRequestSchema,
  parseWith,
  type ConflictId,
  type RegistrationRequest,
  type ResolutionRequest,
  type UserId,
} from '@clinic-mesh/contracts'

/** The relay's request bodies, parsed with the contract schemas (@clinic-mesh/contracts relay-api/). */

/** A clinic id (`?clinic=` or a body's `clinic`): it names files on the relay. */
export function clinicId(v: unknown): string {
  return parseWith(ClinicIdSchema, v, 'clinic')
}

/** `POST /api/clinics`, with the directory URL's checksum checked too. */
export type RegistrationInput = Omit<RegistrationRequest, 'directoryUrl'> & {
  readonly directoryUrl: AutomergeUrl
}

export function parseRegistration(body: unknown): RegistrationInput {
  const r = parseWith(RegistrationRequestSchema, body, 'request body')
  if (!isValidAutomergeUrl(r.directoryUrl))
    throw new InvalidInputError('request body: directoryUrl must be an automerge: URL', {
      issues: [{ path: 'directoryUrl', message: 'must be an automerge: URL' }],
    })
  return { ...r, directoryUrl: r.directoryUrl }
}

/** `POST /api/conflicts/:id/resolution`: the decision's fit to the conflict is the ledger's to judge. */
export type ResolutionInput = Omit<ResolutionRequest, 'approval'> & {
  readonly conflict: ConflictId
  readonly approval: {
    readonly user: ResolutionRequest['user']
    readonly role: ResolutionRequest['role']
  } | null
}

export function parseResolution(conflict: string, body: unknown): ResolutionInput {
  const r = parseWith(ResolutionRequestSchema, body, 'request body')
  if (conflict === '' || conflict.length > 256)
    throw new InvalidInputError('the conflict id in the path must be 1-256 characters')
  // a password proved the approver (checked before parsing); only who and in which role go into the operation
  const approval = r.approval ? { user: r.approval.user as UserId, role: r.approval.role } : null
  return { ...r, conflict: conflict as ConflictId, approval }
}
