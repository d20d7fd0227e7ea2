import type { DocHandle, PeerId } from '@automerge/automerge-repo'
import { logEntries, type Operation, type RunSignature } from '@clinic-mesh/ledger'
import type { UserRegister } from '@clinic-mesh/security'
import type { AccessMap } from './access-map.js'
import type { ClinicSettlement } from './clinic-settlement.js'
import type { Logger } from './logger.js'
import { unpackedSignatures } from './member-lists.js'
import { RunVerifier, type TrustKeys, type Verdict } from './run-verifier.js'
import { roleVerdict } from './role-check.js'
import { approvalVerdict } from './approval-check.js'

/** A ledger log as any device may have written it: every part may be missing or malformed. */
export interface LogLike {
  ops?: unknown
  signatures?: Record<string, unknown>
}

/**
 * Reads one clinic's ledger logs into its settlement: each operation's signature checked against the keys the relay
 * trusts, its issuer's role against the register, and a device whose runs a revoked peer signed cut off.
 */
export class LogIngest {
  /** every log read so far, by URL (the FHIR export and the console's names read them too) */
  readonly logs = new Map<string, { handle: DocHandle<LogLike>; device: string }>()
  /** users' and peers' keys as the relay trusts them (set by the watcher when the register or membership changes) */
  keys: TrustKeys = { users: {}, peers: {} }
  readonly #verifier = new RunVerifier()
  readonly #settlement: ClinicSettlement
  readonly #access: AccessMap
  readonly #log: Logger
  readonly #register: () => UserRegister | undefined

  constructor(
    settlement: ClinicSettlement,
    access: AccessMap,
    log: Logger,
    register: () => UserRegister | undefined,
  ) {
    this.#settlement = settlement
    this.#access = access
    this.#log = log
    this.#register = register
  }

  /** Whether the trusted keys name a revoked peer (its devices' logs must all be read: none may stay dormant). */
  get anyRevokedPeer(): boolean {
    return Object.values(this.keys.peers).some((r) => r !== null)
  }

  /** Read every log again (the keys changed: operations waiting for a key may pass). */
  again(): void {
    for (const [url, { handle, device }] of this.logs) this.ingest(handle, url, device)
  }

  ingest(h: DocHandle<LogLike>, url: string, device: string): void {
    this.logs.set(url, { handle: h, device })
    const clinic = this.#settlement.clinic
    const doc = h.doc()
    if (!Array.isArray(doc.ops)) {
      this.#log('log-without-ops', { clinic, log: url })
      return
    }
    // schema 2 logs hold each operation and run signature packed (ledger log-entries.ts): unpacked, not yet checked
    const ops = logEntries(doc.ops)
    if (!this.#settlement.meta.signaturesRequired) {
      const n = this.#settlement.ingestLog(url, device, ops)
      if (n > 0) this.#log('ingested', { clinic, device, ops: n })
      return
    }
    // plain copies of the log's ops and run signatures, made once per change and only when something reads them
    let plain: { all: Operation[]; sigs: Record<string, RunSignature> } | undefined
    const read = (): { all: Operation[]; sigs: Record<string, RunSignature> } =>
      (plain ??= JSON.parse(JSON.stringify({ all: ops, sigs: unpackedSignatures(doc.signatures) })) as {
        all: Operation[]
        sigs: Record<string, RunSignature>
      })
    // a device whose verified runs were signed by a now revoked peer is cut off at the relay (its repo peer id is its
    // device id) and can no longer register
    if (!this.#access.isRevoked(device as PeerId) && this.anyRevokedPeer) {
      const { all, sigs } = read()
      if (this.#verifier.revokedDevices(device, all, sigs, this.keys)) {
        this.#access.revokePeer(device as PeerId)
        this.#log('device-revoked', { clinic, device })
      }
    }
    const verify = (valid: readonly Operation[]): Verdict[] => {
      const { all, sigs } = read()
      const verdicts = this.#verifier.verdicts(device, all, valid, sigs, this.keys)
      // a genuine signature says who issued an operation, not that they may: the register's role decides
      const register = verdicts.some((v) => v === null) ? this.#register() : undefined
      // ... and a supervisor approval inside an adjustment request counts only when its signature verifies
      return verdicts.map((v, i) =>
        v === null ? (roleVerdict(valid[i]!, register) ?? approvalVerdict(valid[i]!, register)) : v,
      )
    }
    const n = this.#settlement.ingestLog(url, device, ops, verify)
    if (n > 0) this.#log('ingested', { clinic, device, ops: n })
  }
}
