import { mkdir, readFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { CheckpointError, RegistrationConflictError } from './errors.js'
import { writeJsonAtomic } from './settlement-store.js'

export interface ClinicEntry {
  readonly clinic: string
  readonly directoryUrl: string
  readonly peers: string[]
  readonly registeredAt: string
  /** the clinic's admin public keys (hex), pinned at its first authenticated registration */
  adminPublicKeys?: string[]
  /** repo peer id → libp2p peer id (device key) it proved at registration; a peer never changes key */
  deviceKeys?: Record<string, string>
}

/** Registered clinics and their device peers, persisted to DIR/clinics.json (atomic rewrite). */
export class ClinicRegistry {
  readonly #path: string
  readonly #clinics = new Map<string, ClinicEntry>()
  #writing: Promise<void> = Promise.resolve()

  private constructor(path: string) {
    this.#path = path
  }

  static async open(path: string): Promise<ClinicRegistry> {
    const reg = new ClinicRegistry(path)
    await mkdir(dirname(path), { recursive: true })
    let text: string
    try {
      text = await readFile(path, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return reg
      throw err
    }
    try {
      const data = JSON.parse(text) as { clinics: ClinicEntry[] }
      for (const c of data.clinics)
        reg.#clinics.set(c.clinic, { ...c, peers: [...c.peers], deviceKeys: { ...c.deviceKeys } })
    } catch (err) {
      throw new CheckpointError(`unreadable clinic registry ${path}`, { cause: err })
    }
    return reg
  }

  get(clinic: string): ClinicEntry | undefined {
    return this.#clinics.get(clinic)
  }

  list(): ClinicEntry[] {
    return [...this.#clinics.values()]
  }

  /** The admin keys enrolments of `clinic` must be signed by: pinned ones, else (first registration) `offered`. */
  adminKeysFor(clinic: string, offered: string[]): string[] {
    return this.#clinics.get(clinic)?.adminPublicKeys ?? offered
  }

  /**
   * Register a clinic (idempotent) and one more device peer of it. Returns whether the clinic is new.
   * A clinic id is bound to its first directory; another directory for it is refused. `adminPublicKeys` are pinned
   * the first time (a clinic registered before keys were pinned gets them now).
   */
  /** The device key (libp2p peer id) a repo peer of `clinic` registered with. */
  deviceKeyOf(clinic: string, peer: string): string | undefined {
    return this.#clinics.get(clinic)?.deviceKeys?.[peer]
  }

  async register(
    clinic: string,
    directoryUrl: string,
    peer: string,
    adminPublicKeys: string[],
    deviceKey: string,
  ): Promise<{ created: boolean; entry: ClinicEntry }> {
    const existing = this.#clinics.get(clinic)
    if (existing && existing.directoryUrl !== directoryUrl) {
      throw new RegistrationConflictError(`clinic ${clinic} is registered with another directory`)
    }
    const entry = existing ?? { clinic, directoryUrl, peers: [], registeredAt: new Date().toISOString() }
    const changed =
      !existing ||
      !entry.peers.includes(peer) ||
      entry.adminPublicKeys === undefined ||
      entry.deviceKeys?.[peer] !== deviceKey
    entry.adminPublicKeys ??= [...adminPublicKeys]
    entry.deviceKeys = { ...entry.deviceKeys, [peer]: deviceKey }
    if (!entry.peers.includes(peer)) entry.peers.push(peer)
    this.#clinics.set(clinic, entry)
    if (changed) await this.#persist()
    return { created: !existing, entry }
  }

  #persist(): Promise<void> {
    const snapshot = { clinics: this.list() }
    this.#writing = this.#writing.then(() => writeJsonAtomic(this.#path, snapshot))
    return this.#writing
  }
}
