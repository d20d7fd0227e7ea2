import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { DocHandle } from '@automerge/automerge-repo'
import {
  reconcileUsers,
  withoutVerifiers,
  type UserHighWater,
  type UserRecord,
  type UserRegister,
  type UserRegisterDoc,
} from '@clinic-mesh/security'
import { writeJsonAtomic } from './clinic-file.js'
import { log } from './log.js'

/**
 * The newest verified record of each user this device has seen (endorsement and credential versions): an older
 * record written back into the register never wins again, also after a restart. Staff names, roles, public keys,
 * endorsements and credential signatures only — no password verifier or wrapped key (those stay in the encrypted repo).
 */
export const USER_VERSIONS_FILE = 'user-versions.json'

/**
 * The user register as this device believes it: each record checked against the clinic's admin keys, never older than
 * the newest this device verified (the high-water marks survive restarts in USER_VERSIONS_FILE), and a newer record
 * written back when the document lost it.
 */
export class VerifiedRegister {
  readonly #register: DocHandle<UserRegisterDoc>
  readonly #rootKeys: readonly string[]
  #valid: UserRegister | undefined
  /** High-water state: the newest verified record per user (in memory with credentials, on disk without). */
  #held: UserHighWater
  readonly #versionsFile: string
  #saving: Promise<void> = Promise.resolve()
  /** Records this device already wrote back over an older one (each at most once: no write ping-pong). */
  readonly #restored = new Set<string>()
  readonly #conflictsLogged = new Set<string>()

  private constructor(
    register: DocHandle<UserRegisterDoc>,
    rootKeys: readonly string[],
    dataDir: string,
    held: UserHighWater,
  ) {
    this.#register = register
    this.#rootKeys = rootKeys
    this.#held = held
    this.#versionsFile = join(dataDir, USER_VERSIONS_FILE)
    // verified at once (not at the next request): a record seen only briefly still raises the high-water mark
    register.on('change', () => this.refresh())
    this.refresh()
  }

  static async open(
    register: DocHandle<UserRegisterDoc>,
    rootKeys: readonly string[],
    dataDir: string,
  ): Promise<VerifiedRegister> {
    const held = await readFile(join(dataDir, USER_VERSIONS_FILE), 'utf8').then(
      (t) => (JSON.parse(t) as { users?: UserHighWater }).users ?? {},
      () => ({}),
    )
    return new VerifiedRegister(register, rootKeys, dataDir, held)
  }

  /** The high-water state is on disk. */
  persisted(): Promise<void> {
    return this.#saving
  }

  /** This device has verified a record of `id` (which the document may have lost since). */
  holds(id: string): boolean {
    return Object.hasOwn(this.#held, id)
  }

  /**
   * The register as this device believes it: only records endorsed by a clinic admin key or a valid admin user
   * (any member device can write the document itself), and never older than the newest this device verified.
   * Unendorsed records cannot log in, sign or be listed.
   */
  endorsed(): UserRegister {
    return this.#valid ?? this.refresh()
  }

  /** Re-reads the register against the high-water state; persists a raised mark; writes a newer record back. */
  refresh(): UserRegister {
    const doc = JSON.parse(JSON.stringify(this.#register.doc() ?? { users: {} })) as UserRegister
    const r = reconcileUsers({ users: doc.users ?? {} }, this.#held, this.#rootKeys)
    this.#held = r.held
    this.#valid = r.users
    if (r.changed) {
      const snapshot = { users: withoutVerifiers(r.held) }
      this.#saving = this.#saving
        .then(() => writeJsonAtomic(this.#versionsFile, snapshot))
        .catch((err: unknown) =>
          log('user-versions-save-failed', { error: err instanceof Error ? err.name : 'unknown' }),
        )
    }
    for (const id of r.conflicts) {
      if (!this.#conflictsLogged.has(id)) log('user-record-conflict', { user: id })
      this.#conflictsLogged.add(id)
    }
    const mark = (id: string): string => {
      const u: { endorsement?: { signature: string }; credentialSignature?: string } | undefined =
        r.users.users[id]
      return `${id}:${u?.endorsement?.signature ?? ''}:${u?.credentialSignature ?? ''}`
    }
    const restore = r.stale.filter((id) => !this.#restored.has(mark(id)))
    if (restore.length > 0) {
      // an older (or no) record in the document: put the newest back, so devices that never saw it learn it too
      for (const id of restore) this.#restored.add(mark(id))
      const records = Object.fromEntries(
        restore.map((id) => [id, JSON.parse(JSON.stringify(r.users.users[id])) as UserRecord]),
      )
      setImmediate(() => {
        try {
          this.#register.change((d) => {
            d.users ??= {}
            for (const [id, record] of Object.entries(records)) d.users[id] = record
          })
          for (const id of restore) log('user-record-restored', { user: id })
        } catch (err) {
          log('user-record-restore-failed', { error: err instanceof Error ? err.name : 'unknown' }) // e.g. the repo shut down meanwhile
        }
      })
    }
    return r.users
  }
}
