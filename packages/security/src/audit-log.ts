import { ed25519 } from '@noble/curves/ed25519.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { canonicalJson } from '@clinic-mesh/contracts'
import { bytesToHex, hexToBytes, utf8ToBytes } from './bytes.js'
import { AuditChainError } from './errors.js'

export type AuditAction = 'read' | 'change'

/**
 * Where a write landed, for entries the device node records when it accepts a browser's change over `/sync`:
 * the document, the paths written and the hashes of the Automerge changes (which identify them in any copy).
 */
export interface AuditDetail {
  readonly doc: string
  readonly paths: readonly string[]
  readonly changes: readonly string[]
}

/** One audit entry. `at` is the device's clock (ISO 8601), honest but not trusted across devices. */
export interface AuditEntry {
  /** 1: who/what/when; 2: with `detail` (covered by the hash) */
  readonly v: 1 | 2
  readonly seq: number
  readonly at: string
  readonly user: string
  readonly device: string
  readonly action: AuditAction
  readonly target: string
  readonly prevHash: string | null
  readonly detail?: AuditDetail
  readonly hash: string
}

/** The last entry of a chain, as remembered elsewhere (relay, another device) or signed by the device. */
export interface AuditHead {
  readonly seq: number
  readonly hash: string
}

export type ChainCheck =
  | { readonly ok: true; readonly head: AuditHead | null }
  | {
      readonly ok: false
      readonly reason:
        'bad-hash' | 'bad-seq' | 'broken-link' | 'mixed-device' | 'truncated' | 'anchor-mismatch'
      readonly index: number
      readonly detail: string
    }

export function hashAuditEntry(entry: Omit<AuditEntry, 'hash'>): string {
  const { v, seq, at, user, device, action, target, prevHash } = entry
  if (v === 2) {
    const d = entry.detail
    const detail = d ? { doc: d.doc, paths: [...d.paths], changes: [...d.changes] } : null
    return bytesToHex(
      sha256(
        utf8ToBytes(
          `clinic-mesh/audit/v2\n${canonicalJson({ v, seq, at, user, device, action, target, prevHash, detail })}`,
        ),
      ),
    )
  }
  return bytesToHex(
    sha256(
      utf8ToBytes(
        `clinic-mesh/audit/v1\n${canonicalJson({ v, seq, at, user, device, action, target, prevHash })}`,
      ),
    ),
  )
}

/**
 * Checks one device's chain: seq 1, 2, 3…, each `prevHash` the previous `hash`, each hash recomputed. This catches a
 * deleted, reordered or altered entry. Deleting the newest entries, or rewriting the whole chain, is only caught
 * against an `anchor` the attacker could not change (a head held by the relay/another device, or a signed head).
 */
export function verifyChain(
  entries: readonly AuditEntry[],
  options: { anchor?: AuditHead; start?: AuditHead } = {},
): ChainCheck {
  let prev: AuditEntry | undefined
  // `start`: the head of the entries archived before these (retention), which the first entry must follow
  const start = options.start
  for (const [index, e] of entries.entries()) {
    if (hashAuditEntry(e) !== e.hash)
      return { ok: false, reason: 'bad-hash', index, detail: `entry ${index} was altered` }
    if (prev && e.device !== prev.device)
      return { ok: false, reason: 'mixed-device', index, detail: 'one chain per device' }
    if (e.seq !== (prev ? prev.seq + 1 : (start?.seq ?? 0) + 1))
      return { ok: false, reason: 'bad-seq', index, detail: `entry ${index} has seq ${e.seq}` }
    if (e.prevHash !== (prev ? prev.hash : (start?.hash ?? null)))
      return {
        ok: false,
        reason: 'broken-link',
        index,
        detail: `entry ${index} does not follow its predecessor`,
      }
    prev = e
  }
  const head = prev ? { seq: prev.seq, hash: prev.hash } : (start ?? null)
  const anchor = options.anchor
  if (anchor) {
    const at = entries[anchor.seq - 1 - (start?.seq ?? 0)]
    if (!at)
      return {
        ok: false,
        reason: 'truncated',
        index: entries.length,
        detail: `chain ends before anchored entry ${anchor.seq}`,
      }
    if (at.hash !== anchor.hash)
      return {
        ok: false,
        reason: 'anchor-mismatch',
        index: anchor.seq - 1,
        detail: `entry ${anchor.seq} differs from the anchor`,
      }
  }
  return { ok: true, head }
}

/** A head signed with the device's Ed25519 key, so it can be kept anywhere (even on the same tablet) as an anchor. */
export interface SignedAuditHead extends AuditHead {
  readonly device: string
  readonly signature: string
}

const headMessage = (device: string, head: AuditHead): Uint8Array =>
  utf8ToBytes(`clinic-mesh/audit-head/v1\n${canonicalJson({ device, seq: head.seq, hash: head.hash })}`)

export function signAuditHead(device: string, head: AuditHead, deviceKey: Uint8Array): SignedAuditHead {
  return {
    device,
    seq: head.seq,
    hash: head.hash,
    signature: bytesToHex(ed25519.sign(headMessage(device, head), deviceKey)),
  }
}

export function verifyAuditHead(head: SignedAuditHead, devicePublicKey: string): boolean {
  try {
    return ed25519.verify(
      hexToBytes(head.signature),
      headMessage(head.device, head),
      hexToBytes(devicePublicKey),
    )
  } catch {
    return false
  }
}

export interface Touch {
  readonly user: string
  readonly device: string
  readonly at: string
  readonly action: AuditAction
}

/** Every read and change of `target` across any number of device chains, oldest device time first. */
export function whoTouched(entries: Iterable<AuditEntry>, target: string): Touch[] {
  const out: Touch[] = []
  for (const e of entries)
    if (e.target === target) out.push({ user: e.user, device: e.device, at: e.at, action: e.action })
  return out.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0))
}

/**
 * Append-only, hash-chained audit log of one device. The entries array is plain data: persist each appended entry
 * (e.g. push it into the device's audit document or an append-only file) and resume with `AuditLog.resume`.
 */
export class AuditLog {
  readonly device: string
  readonly #entries: AuditEntry[]
  readonly #now: () => Date
  /** Head of the entries archived before `#entries[0]` (retention), or null. */
  #base: AuditHead | null

  private constructor(device: string, entries: AuditEntry[], now: () => Date, base: AuditHead | null = null) {
    this.device = device
    this.#entries = entries
    this.#now = now
    this.#base = base
  }

  static create(device: string, now: () => Date = () => new Date()): AuditLog {
    return new AuditLog(device, [], now)
  }

  /** Continues an existing chain after checking it; `AuditChainError` if it was tampered with. */
  static resume(
    device: string,
    entries: readonly AuditEntry[],
    options: { anchor?: AuditHead; start?: AuditHead; now?: () => Date } = {},
  ): AuditLog {
    const check = verifyChain(entries, {
      ...(options.anchor ? { anchor: options.anchor } : {}),
      ...(options.start ? { start: options.start } : {}),
    })
    if (!check.ok) throw new AuditChainError(check.reason, check.index, check.detail)
    if (entries.some((e) => e.device !== device))
      throw new AuditChainError('mixed-device', 0, `chain is not device ${device}'s`)
    return new AuditLog(device, [...entries], options.now ?? (() => new Date()), options.start ?? null)
  }

  /** Moves the oldest `count` entries out of this log (they were archived elsewhere); the chain continues after them. */
  archiveOldest(count: number): AuditEntry[] {
    const out = this.#entries.splice(0, Math.max(0, Math.min(count, this.#entries.length)))
    const last = out[out.length - 1]
    if (last) this.#base = { seq: last.seq, hash: last.hash }
    return out
  }

  /** Head of the archived part of the chain (null if nothing was archived). */
  get base(): AuditHead | null {
    return this.#base
  }

  append(input: { user: string; action: AuditAction; target: string; detail?: AuditDetail }): AuditEntry {
    const prev = this.#entries[this.#entries.length - 1] ?? this.#base
    const body = {
      v: 2 as const,
      seq: prev ? prev.seq + 1 : 1,
      at: this.#now().toISOString(),
      user: input.user,
      device: this.device,
      action: input.action,
      target: input.target,
      prevHash: prev ? prev.hash : null,
      ...(input.detail
        ? {
            detail: {
              doc: input.detail.doc,
              paths: [...input.detail.paths],
              changes: [...input.detail.changes],
            },
          }
        : {}),
    }
    const entry: AuditEntry = { ...body, hash: hashAuditEntry(body) }
    this.#entries.push(entry)
    return entry
  }

  get entries(): readonly AuditEntry[] {
    return this.#entries
  }

  get head(): AuditHead | null {
    const last = this.#entries[this.#entries.length - 1]
    return last ? { seq: last.seq, hash: last.hash } : this.#base
  }

  whoTouched(target: string): Touch[] {
    return whoTouched(this.#entries, target)
  }
}
