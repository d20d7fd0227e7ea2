import { bytesToHex } from '@noble/hashes/utils.js'
import { verifyEnrolment, verifyRevocation } from './records.js'
import type { Enrolment, Revocation } from './records.js'

export interface MembershipInit {
  clinic: string
  /** Ed25519 public keys of the clinic's admins; enrolments and revocations must be signed by one of them */
  adminPublicKeys: Uint8Array[]
  enrolments?: Enrolment[]
  /** Revocations held before (e.g. a `RevocationFile`): verified again, then kept whatever the document says later. */
  revocations?: Revocation[]
  /**
   * Called with every revocation held, each time a newly verified one is added: persist them (`RevocationFile`), so
   * a revocation deleted from the synced document re-admits nobody after a restart either.
   */
  onRevoked?: (all: Revocation[]) => void
}

export interface MembershipUpdate {
  enrolments?: Enrolment[]
  revocations?: Revocation[]
}

export interface UpdateReport {
  /** device peer ids newly admitted */
  admitted: string[]
  /** device peer ids newly revoked (to disconnect now) */
  revoked: string[]
  /** records that failed verification, with the named error */
  rejected: Array<{ record: Enrolment | Revocation; error: Error }>
}

/** Fired after `update` changed who may connect. */
export class MembershipChangeEvent extends Event {
  constructor(readonly report: UpdateReport) {
    super('change')
  }
}

/**
 * Who may connect to this clinic's mesh: devices with a valid enrolment and no valid revocation.
 * Records are verified against the clinic's admin keys; invalid records are reported, never admitted.
 * `update` is additive and idempotent, so it can be fed the full record set of a synced document each time: a
 * record missing from a later set (deleted from the document by any member) changes nothing. A revocation is
 * permanent; `onRevoked` hands each new one to the holder to persist.
 */
export class Membership extends EventTarget {
  readonly clinic: string
  readonly #admins: string[]
  readonly #enrolled = new Map<string, Enrolment>()
  readonly #revoked = new Map<string, Revocation>()
  readonly #onRevoked: ((all: Revocation[]) => void) | undefined

  constructor(init: MembershipInit) {
    super()
    this.clinic = init.clinic
    this.#admins = init.adminPublicKeys.map((k) => bytesToHex(k))
    this.#onRevoked = init.onRevoked
    this.#apply({ enrolments: init.enrolments ?? [], revocations: init.revocations ?? [] })
  }

  get adminKeys(): readonly string[] {
    return this.#admins
  }

  /** Is this libp2p peer id allowed to connect? */
  allows(devicePeerId: string): boolean {
    return this.#enrolled.has(devicePeerId) && !this.#revoked.has(devicePeerId)
  }

  isRevoked(devicePeerId: string): boolean {
    return this.#revoked.has(devicePeerId)
  }

  deviceName(devicePeerId: string): string | undefined {
    return this.#enrolled.get(devicePeerId)?.deviceName
  }

  enrolments(): Enrolment[] {
    return [...this.#enrolled.values()]
  }

  revocations(): Revocation[] {
    return [...this.#revoked.values()]
  }

  update(records: MembershipUpdate): UpdateReport {
    const report = this.#apply(records)
    // persisted before anyone hears of it (the gater drops the peer on the event)
    if (report.revoked.length > 0) this.#onRevoked?.(this.revocations())
    if (report.admitted.length > 0 || report.revoked.length > 0)
      this.dispatchEvent(new MembershipChangeEvent(report))
    return report
  }

  #apply(records: MembershipUpdate): UpdateReport {
    const report: UpdateReport = { admitted: [], revoked: [], rejected: [] }
    for (const r of records.revocations ?? []) {
      try {
        verifyRevocation(r, this.clinic, this.#admins)
      } catch (error) {
        report.rejected.push({ record: r, error: error as Error })
        continue
      }
      if (!this.#revoked.has(r.devicePeerId)) {
        this.#revoked.set(r.devicePeerId, r)
        report.revoked.push(r.devicePeerId)
      }
    }
    for (const e of records.enrolments ?? []) {
      try {
        verifyEnrolment(e, this.clinic, this.#admins)
      } catch (error) {
        report.rejected.push({ record: e, error: error as Error })
        continue
      }
      const known = this.#enrolled.get(e.devicePeerId)
      if (known === undefined || known.enrolledAt < e.enrolledAt) {
        this.#enrolled.set(e.devicePeerId, e)
        if (known === undefined && !this.#revoked.has(e.devicePeerId)) report.admitted.push(e.devicePeerId)
      }
    }
    return report
  }
}
