import { ed25519 } from '@noble/curves/ed25519.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { canonicalJson } from '@clinic-mesh/contracts'
import { bytesToHex, hexToBytes, utf8ToBytes } from './bytes.js'

/** The header fields of a ledger operation this module relies on (structurally a `@clinic-mesh/ledger` Operation). */
export interface ChainedOp {
  readonly device: string
  readonly user: string
  readonly seq: number
  readonly prev: string | null
  readonly hash: string
}

/** sha-256 of the canonical JSON of everything but `hash`: identical to `@clinic-mesh/ledger`'s `hashOperation`. */
export function hashOp(op: ChainedOp): string {
  const { hash: _hash, ...rest } = op
  return bytesToHex(sha256(utf8ToBytes(canonicalJson(rest))))
}

export const BATCH_VERSION = 1

/** A run of one device's consecutive operations by one user, signed once by the user and once by the device. */
export interface SignedBatch<Op extends ChainedOp = ChainedOp> {
  readonly v: typeof BATCH_VERSION
  readonly device: string
  readonly user: string
  readonly firstSeq: number
  readonly count: number
  readonly firstPrev: string | null
  readonly lastHash: string
  readonly ops: readonly Op[]
  readonly userSignature: string
  readonly deviceSignature: string
}

export const BATCH_REASONS = [
  'empty',
  'mixed-signers',
  'bad-hash',
  'broken-chain',
  'summary-mismatch',
  'unknown-user',
  'unknown-device',
  'bad-user-signature',
  'bad-device-signature',
] as const
export type BatchReason = (typeof BATCH_REASONS)[number]

export type BatchCheck =
  { readonly ok: true } | { readonly ok: false; readonly reason: BatchReason; readonly detail: string }

/** Public keys (hex) the verifier trusts: enrolled devices, users of the register. A revoked device is left out. */
export interface BatchKeys {
  readonly devices: Readonly<Record<string, string>>
  readonly users: Readonly<Record<string, string>>
}

/** The fields of a batch that its signatures cover. */
export type BatchSummary = Omit<SignedBatch, 'ops' | 'userSignature' | 'deviceSignature'>
type Summary = BatchSummary

/**
 * Context string: the start of every message a key signs for a run, so that no signature made for another purpose
 * (a prescription, an audit head, a relay proof...) verifies as a run signature, nor the other way round. v1 signed
 * the sha-256 of the labelled summary: a bare 32-byte digest, which any service signing a caller's hash could forge.
 */
export const BATCH_SIGNATURE_CONTEXT = 'clinic-mesh/batch/v2'

/** What both signatures cover: the context + canonical summary, as utf8. The ops are covered through the hash chain. */
export function batchSigningBytes(s: Summary): Uint8Array {
  const { v, device, user, firstSeq, count, firstPrev, lastHash } = s
  return utf8ToBytes(
    `${BATCH_SIGNATURE_CONTEXT}\n${canonicalJson({ v, device, user, firstSeq, count, firstPrev, lastHash })}`,
  )
}

/** Checks the ops form one unbroken chain of one device and user, each hash recomputed. */
function checkChain(ops: readonly ChainedOp[]): BatchCheck {
  const first = ops[0]
  if (!first) return { ok: false, reason: 'empty', detail: 'a batch holds at least one operation' }
  let prev: ChainedOp | undefined
  for (const op of ops) {
    if (op.device !== first.device || op.user !== first.user) {
      return { ok: false, reason: 'mixed-signers', detail: `op ${op.seq} is by ${op.user}@${op.device}` }
    }
    if (hashOp(op) !== op.hash)
      return { ok: false, reason: 'bad-hash', detail: `op ${op.seq} does not hash to its hash` }
    if (prev && (op.seq !== prev.seq + 1 || op.prev !== prev.hash)) {
      return { ok: false, reason: 'broken-chain', detail: `op ${op.seq} does not follow op ${prev.seq}` }
    }
    prev = op
  }
  return { ok: true }
}

/** Splits a device log into runs by user (a shift change starts a new batch). */
export function splitByUser<Op extends ChainedOp>(ops: readonly Op[]): Op[][] {
  const runs: Op[][] = []
  for (const op of ops) {
    const run = runs[runs.length - 1]
    if (run && run[0]?.user === op.user) run.push(op)
    else runs.push([op])
  }
  return runs
}

/** Signs a run of chained ops: one Ed25519 signature per key per batch instead of one per op. */
export function signBatch<Op extends ChainedOp>(
  ops: readonly Op[],
  userKey: Uint8Array,
  deviceKey: Uint8Array,
): SignedBatch<Op> {
  const chain = checkChain(ops)
  if (!chain.ok) throw new RangeError(`cannot sign: ${chain.detail}`)
  const first = ops[0] as Op
  const last = ops[ops.length - 1] as Op
  const summary: Summary = {
    v: BATCH_VERSION,
    device: first.device,
    user: first.user,
    firstSeq: first.seq,
    count: ops.length,
    firstPrev: first.prev,
    lastHash: last.hash,
  }
  const msg = batchSigningBytes(summary)
  return {
    ...summary,
    ops: [...ops],
    userSignature: bytesToHex(ed25519.sign(msg, userKey)),
    deviceSignature: bytesToHex(ed25519.sign(msg, deviceKey)),
  }
}

function sigOk(sig: string, msg: Uint8Array, publicKey: string): boolean {
  try {
    return ed25519.verify(hexToBytes(sig), msg, hexToBytes(publicKey))
  } catch {
    return false
  }
}

/**
 * Verifies a batch: every op's hash recomputed, the chain unbroken, the summary matching the ops, both signatures
 * valid under trusted keys. Never throws on bad data. Replays are not this function's job: the ledger's idempotency
 * ids and per-device `seq` drop operations already seen.
 */
export function verifyBatch(batch: SignedBatch, keys: BatchKeys): BatchCheck {
  const chain = checkChain(batch.ops)
  if (!chain.ok) return chain
  const first = batch.ops[0] as ChainedOp
  const last = batch.ops[batch.ops.length - 1] as ChainedOp
  if (
    batch.count !== batch.ops.length ||
    batch.device !== first.device ||
    batch.user !== first.user ||
    batch.firstSeq !== first.seq ||
    batch.firstPrev !== first.prev ||
    batch.lastHash !== last.hash
  ) {
    return { ok: false, reason: 'summary-mismatch', detail: 'batch summary does not describe its operations' }
  }
  const devicePk = Object.hasOwn(keys.devices, batch.device) ? keys.devices[batch.device] : undefined
  if (!devicePk)
    return { ok: false, reason: 'unknown-device', detail: `device ${batch.device} is not trusted` }
  const userPk = Object.hasOwn(keys.users, batch.user) ? keys.users[batch.user] : undefined
  if (!userPk) return { ok: false, reason: 'unknown-user', detail: `user ${batch.user} is not trusted` }
  const msg = batchSigningBytes(batch)
  if (!sigOk(batch.deviceSignature, msg, devicePk))
    return { ok: false, reason: 'bad-device-signature', detail: 'device signature invalid' }
  if (!sigOk(batch.userSignature, msg, userPk))
    return { ok: false, reason: 'bad-user-signature', detail: 'user signature invalid' }
  return { ok: true }
}
