import { reconcileUsers, type UserHighWater, type UserRegister } from '@clinic-mesh/security'
import type { ClinicSettlement } from './clinic-settlement.js'
import type { Logger } from './logger.js'

/** What the relay keeps per clinic beside its settlement checkpoint (same file, same atomic write). */
interface TrustMeta {
  /** Per user, the newest verified record (endorsement and credential versions) the relay has seen. */
  userVersions?: UserHighWater
  /** Device peer id → revokedAt of every verified revocation seen, whatever the membership document says now. */
  revokedPeers?: Record<string, string>
}

/**
 * The relay's memory of a clinic's register and membership: any member can write those documents, and an older
 * record stays validly signed, so a user's earlier record written back (a disabled user made active again, an old
 * password) or a revocation deleted must not count. Kept in the clinic's checkpoint meta, so it survives a restart.
 */
export class ClinicTrustState {
  readonly #settlement: ClinicSettlement
  readonly #meta: TrustMeta
  readonly #log: Logger
  #cached: { users: unknown; roots: string; result: UserRegister | undefined } | undefined
  readonly #conflictsLogged = new Set<string>()

  constructor(settlement: ClinicSettlement, log: Logger) {
    this.#settlement = settlement
    this.#meta = settlement.meta as TrustMeta
    this.#log = log
  }

  /**
   * The register as the relay believes it: endorsed by the clinic's admin keys (`rootKeys`) and never older than
   * the newest record verified before; undefined while neither the document nor a held record exists.
   */
  users(docUsers: unknown, rootKeys: readonly string[]): UserRegister | undefined {
    const roots = rootKeys.join(',')
    if (this.#cached && this.#cached.users === docUsers && this.#cached.roots === roots)
      return this.#cached.result
    const held = this.#meta.userVersions ?? {}
    let result: UserRegister | undefined
    if (docUsers === undefined && Object.keys(held).length === 0) result = undefined
    else {
      const plain =
        docUsers && typeof docUsers === 'object'
          ? (JSON.parse(JSON.stringify(docUsers)) as UserRegister['users'])
          : {}
      const r = reconcileUsers({ users: plain }, held, rootKeys)
      this.#meta.userVersions = r.held
      if (r.changed) this.#save()
      for (const id of r.conflicts) {
        if (!this.#conflictsLogged.has(id))
          this.#log('user-record-conflict', { clinic: this.#settlement.clinic, user: id })
        this.#conflictsLogged.add(id)
      }
      result = r.users
    }
    this.#cached = { users: docUsers, roots, result }
    return result
  }

  /** `verified` (peer → revokedAt, or null while enrolled) with every revocation held before, which stays. */
  peers(verified: Readonly<Record<string, string | null>>): Record<string, string | null> {
    const held = (this.#meta.revokedPeers ??= {})
    let changed = false
    for (const [id, at] of Object.entries(verified)) {
      if (at === null || (held[id] !== undefined && held[id] <= at)) continue
      held[id] = at
      changed = true
    }
    if (changed) this.#save()
    return { ...verified, ...held }
  }

  #save(): void {
    this.#settlement.requestSave().catch((err: unknown) => {
      this.#settlement.lastSaveError = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
    })
  }
}
