import { peerIdFromString } from '@libp2p/peer-id'
import type { Operation, RunSignature } from '@clinic-mesh/ledger'
import { verifyBatch } from '@clinic-mesh/security'

/** What the relay trusts for one clinic: users' public keys (register) and enrolled device peers (membership). */
export interface TrustKeys {
  /** user id → hex Ed25519 public key */
  readonly users: Readonly<Record<string, string>>
  /** libp2p peer id → ISO time of its revocation, or null while enrolled */
  readonly peers: Readonly<Record<string, string | null>>
}

/** The keys an operation needs are not known yet (the register or membership may still be syncing). */
export const WAIT: unique symbol = Symbol('wait')
/** A verdict per fresh operation: trusted (null), a reason to raise it for review, or WAIT for keys to arrive. */
export type Verdict = null | string | typeof WAIT

const publicKeyHex = (peerId: string): string | undefined => {
  try {
    const raw = peerIdFromString(peerId).publicKey?.raw
    return raw ? Buffer.from(raw).toString('hex') : undefined
  } catch {
    return undefined
  }
}

/**
 * Checks the signatures of a device log (docs/protocols/ledger-signatures.md): each operation must be covered by a
 * run signature whose ops re-hash into an unbroken chain and whose user and device signatures verify under keys the
 * clinic vouches for; a device's ops after its revocation are not trusted. Keys not known yet → `wait` (the register
 * or membership may still be syncing); a verified run is cached by its (firstSeq, lastHash).
 */
export class RunVerifier {
  readonly #verified = new Map<string, string | null>()

  verdicts(
    device: string,
    ops: readonly Operation[],
    fresh: readonly Operation[],
    signatures: Readonly<Record<string, RunSignature>> | undefined,
    keys: TrustKeys,
  ): Verdict[] {
    const runs = Object.values(signatures ?? {}).sort((a, b) => a.firstSeq - b.firstSeq)
    const bySeq = new Map(ops.map((o) => [o.seq, o]))
    return fresh.map((op) => {
      const run = runs.findLast((r) => r.firstSeq <= op.seq && op.seq < r.firstSeq + r.count)
      if (!run) return 'unsigned operation'
      if (run.device !== device) return `signature of device ${run.device} in the log of ${device}`
      if (!Object.hasOwn(keys.peers, run.signer)) return WAIT
      if (!Object.hasOwn(keys.users, run.user)) return WAIT
      const revokedAt = keys.peers[run.signer]
      if (revokedAt && op.hlc.wall >= Date.parse(revokedAt)) return `device revoked at ${revokedAt}`
      return this.#checkRun(run, bySeq, keys)
    })
  }

  /**
   * The device (log) ids whose operations were signed by a revoked peer, judged only on runs that verify (a forged
   * signature naming a revoked peer cannot get an honest device cut off).
   */
  revokedDevices(
    device: string,
    ops: readonly Operation[],
    signatures: Readonly<Record<string, RunSignature>> | undefined,
    keys: TrustKeys,
  ): boolean {
    const bySeq = new Map(ops.map((o) => [o.seq, o]))
    for (const run of Object.values(signatures ?? {})) {
      if (run.device !== device || !keys.peers[run.signer] || !Object.hasOwn(keys.users, run.user)) continue
      if (this.#checkRun(run, bySeq, keys) === null) return true
    }
    return false
  }

  #checkRun(run: RunSignature, bySeq: ReadonlyMap<number, Operation>, keys: TrustKeys): string | null {
    const key = `${run.signer}:${run.firstSeq}:${run.lastHash}:${run.userSignature}`
    const cached = this.#verified.get(key)
    if (cached !== undefined) return cached
    const ops: Operation[] = []
    for (let seq = run.firstSeq; seq < run.firstSeq + run.count; seq++) {
      const op = bySeq.get(seq)
      if (!op) return 'signed run names operations not in the log'
      ops.push(op)
    }
    const devicePk = publicKeyHex(run.signer)
    const check = devicePk
      ? verifyBatch(
          { ...run, ops },
          { devices: { [run.device]: devicePk }, users: { [run.user]: keys.users[run.user] ?? '' } },
        )
      : ({ ok: false, reason: 'unknown-device', detail: 'signer is not an Ed25519 peer id' } as const)
    const verdict = check.ok ? null : `signature check failed: ${check.reason}`
    this.#verified.set(key, verdict)
    return verdict
  }
}
