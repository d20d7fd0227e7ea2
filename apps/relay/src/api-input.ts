import type { AutomergeUrl } from '@automerge/automerge-repo'
import { isValidAutomergeUrl } from '@automerge/automerge-repo'
import type { ConflictId, Role, UserId } from '@clinic-mesh/contracts'
import { InvalidInputError, isRole } from '@clinic-mesh/contracts'
import type { Approval, Decision } from '@clinic-mesh/ledger'
import type { Enrolment, RelayProof } from '@clinic-mesh/mesh'

type Rec = Record<string, unknown>

function obj(v: unknown, what: string): Rec {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new InvalidInputError(`${what} must be a JSON object`)
  return v as Rec
}

function str(v: unknown, field: string, max = 256): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > max) throw new InvalidInputError(`${field} must be a non-empty string of at most ${max} characters`)
  return v
}

/** Clinic ids name files on the relay: letters, digits, `-` and `_` only. */
export function clinicId(v: unknown): string {
  const s = str(v, 'clinic', 64)
  if (!/^[A-Za-z0-9_-]+$/.test(s)) throw new InvalidInputError('clinic may contain only letters, digits, - and _')
  return s
}

export interface RegistrationInput {
  readonly clinic: string
  readonly directoryUrl: AutomergeUrl
  /** the device's automerge-repo peer id (what it syncs as) */
  readonly peerId: string
  /** the device's libp2p peer id: its Ed25519 key, named by the enrolment, which signs the proof */
  readonly devicePeerId: string
  /** the device's enrolment, signed by a clinic admin key (checked against the keys the relay pinned) */
  readonly enrolment: Enrolment
  /** the clinic's admin public keys (hex), pinned by the relay at the clinic's first registration */
  readonly adminPublicKeys: string[]
  /** the device key's signature over a relay nonce and (clinic, directoryUrl, peerId, devicePeerId) */
  readonly proof: RelayProof
}

export function parseRegistration(body: unknown): RegistrationInput {
  const b = obj(body, 'body')
  const directoryUrl = str(b.directoryUrl, 'directoryUrl', 200)
  if (!isValidAutomergeUrl(directoryUrl)) throw new InvalidInputError('directoryUrl must be an automerge: URL')
  const peerId = str(b.peerId, 'peerId')
  const proof = obj(b.proof, 'proof')
  const admins = b.adminPublicKeys
  if (!Array.isArray(admins) || admins.length === 0 || admins.length > 16 || !admins.every((k) => typeof k === 'string' && /^[0-9a-f]{64}$/.test(k))) {
    throw new InvalidInputError('adminPublicKeys must be 1..16 hex Ed25519 public keys')
  }
  const e = obj(b.enrolment, 'enrolment')
  for (const k of ['clinic', 'devicePeerId', 'deviceName', 'enrolledAt', 'by', 'signature']) str(e[k], `enrolment.${k}`, 512)
  return {
    clinic: clinicId(b.clinic),
    directoryUrl,
    peerId,
    devicePeerId: str(b.devicePeerId, 'devicePeerId'),
    enrolment: e as unknown as Enrolment,
    adminPublicKeys: admins as string[],
    proof: { nonce: str(proof.nonce, 'proof.nonce', 64), signature: str(proof.signature, 'proof.signature', 128) },
  }
}

export interface ResolutionRequest {
  readonly clinic: string
  readonly conflict: ConflictId
  readonly decision: Decision
  readonly note: string
  readonly user: UserId
  readonly role: Role
  readonly approval: Approval | null
}

/** Shape checks here; the decision's details are checked by the ledger's validateOperation. */
export function parseResolution(conflict: string, body: unknown): ResolutionRequest {
  const b = obj(body, 'body')
  const decision = obj(b.decision, 'decision')
  if (typeof decision.action !== 'string') throw new InvalidInputError('decision.action must be a string')
  const note = b.note === undefined ? '' : b.note
  if (typeof note !== 'string' || note.length > 2000) throw new InvalidInputError('note must be a string of at most 2000 characters')
  if (!isRole(b.role)) throw new InvalidInputError('role must be one of the clinic roles')
  let approval: Approval | null = null
  if (b.approval !== undefined && b.approval !== null) {
    const a = obj(b.approval, 'approval')
    if (!isRole(a.role)) throw new InvalidInputError('approval.role must be one of the clinic roles')
    approval = { user: str(a.user, 'approval.user') as UserId, role: a.role }
  }
  return {
    clinic: clinicId(b.clinic),
    conflict: str(conflict, 'conflict id') as ConflictId,
    decision: decision as unknown as Decision,
    note,
    user: str(b.user, 'user') as UserId,
    role: b.role,
    approval,
  }
}
