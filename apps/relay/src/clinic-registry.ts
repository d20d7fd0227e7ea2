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

/**
 * Where registered clinics are kept: a JSON file (one relay) or a PostgreSQL table (any number of instances).
 * `update` is an atomic read-modify-write of one clinic's entry (`fn` may run again if it raced another writer).
 */
export interface RegistryBackend {
  loadAll(): Promise<ClinicEntry[]>
  load(clinic: string): Promise<ClinicEntry | undefined>
  update(clinic: string, fn: (existing: ClinicEntry | undefined) => ClinicEntry): Promise<ClinicEntry>
}

/** Registered clinics and their device peers: a cache over a RegistryBackend. */
export class ClinicRegistry {
  readonly #backend: RegistryBackend
  readonly #clinics = new Map<string, ClinicEntry>()
  /** when every clinic was last read because a /sync peer's device key was not known here */
  #unknownReadAt = 0

  private constructor(backend: RegistryBackend) {
    this.#backend = backend
  }

  static async open(backend: RegistryBackend): Promise<ClinicRegistry> {
    const reg = new ClinicRegistry(backend)
    for (const c of await backend.loadAll()) reg.#clinics.set(c.clinic, c)
    return reg
  }

  get(clinic: string): ClinicEntry | undefined {
    return this.#clinics.get(clinic)
  }

  list(): ClinicEntry[] {
    return [...this.#clinics.values()]
  }

  /** Read one clinic again (another relay instance registered it or one more of its devices). */
  async refresh(clinic: string): Promise<ClinicEntry | undefined> {
    const e = await this.#backend.load(clinic)
    if (e) this.#clinics.set(clinic, e)
    return e
  }

  /** Read every clinic again (notifications from other instances may have been missed). */
  async refreshAll(): Promise<ClinicEntry[]> {
    const all = await this.#backend.loadAll()
    for (const e of all) this.#clinics.set(e.clinic, e)
    return all
  }

  /**
   * Whether to read every clinic again before refusing a /sync peer whose clinic or device key this cache does not
   * know (at most once a second; true records the read as started). The peer may have registered at another instance
   * a moment ago; or a registry read that started before the peer's registration and ended after it put the clinic's
   * older entry back (bench P12 at load 15: a device refused for good, its registration answered 200).
   */
  shouldReadForUnknown(clinic: string | undefined, peer: string, now = Date.now()): boolean {
    if (clinic !== undefined && this.deviceKeyOf(clinic, peer) !== undefined) return false
    if (now - this.#unknownReadAt <= 1000) return false
    this.#unknownReadAt = now
    return true
  }

  /** The admin keys enrolments of `clinic` must be signed by: pinned ones, else (first registration) `offered`. */
  adminKeysFor(clinic: string, offered: string[]): string[] {
    return this.#clinics.get(clinic)?.adminPublicKeys ?? offered
  }

  /** The device key (libp2p peer id) a repo peer of `clinic` registered with. */
  deviceKeyOf(clinic: string, peer: string): string | undefined {
    return this.#clinics.get(clinic)?.deviceKeys?.[peer]
  }

  /**
   * Register a clinic (idempotent) and one more device peer of it. Returns whether the clinic is new.
   * A clinic id is bound to its first directory; another directory for it is refused. `adminPublicKeys` are pinned
   * the first time (a clinic registered before keys were pinned gets them now).
   */
  async register(
    clinic: string,
    directoryUrl: string,
    peer: string,
    adminPublicKeys: string[],
    deviceKey: string,
  ): Promise<{ created: boolean; entry: ClinicEntry }> {
    let created = false
    const entry = await this.#backend.update(clinic, (existing) => {
      if (existing && existing.directoryUrl !== directoryUrl)
        throw new RegistrationConflictError(`clinic ${clinic} is registered with another directory`)
      created = !existing
      return mergeRegistration(existing, clinic, directoryUrl, peer, adminPublicKeys, deviceKey)
    })
    this.#clinics.set(clinic, entry)
    return { created, entry }
  }
}

/** The entry after one more registration (a new object; `existing` is not changed). */
export function mergeRegistration(
  existing: ClinicEntry | undefined,
  clinic: string,
  directoryUrl: string,
  peer: string,
  adminPublicKeys: string[],
  deviceKey: string,
): ClinicEntry {
  const base = existing ?? { clinic, directoryUrl, peers: [], registeredAt: new Date().toISOString() }
  return {
    ...base,
    peers: base.peers.includes(peer) ? [...base.peers] : [...base.peers, peer],
    adminPublicKeys: base.adminPublicKeys ? [...base.adminPublicKeys] : [...adminPublicKeys],
    deviceKeys: { ...base.deviceKeys, [peer]: deviceKey },
  }
}

/** DIR/clinics.json, rewritten atomically on every change. */
export class FileRegistryBackend implements RegistryBackend {
  readonly #path: string
  readonly #clinics = new Map<string, ClinicEntry>()
  #writing: Promise<void> = Promise.resolve()
  #loaded = false

  constructor(path: string) {
    this.#path = path
  }

  async loadAll(): Promise<ClinicEntry[]> {
    if (!this.#loaded) await this.#read()
    return [...this.#clinics.values()]
  }

  async load(clinic: string): Promise<ClinicEntry | undefined> {
    if (!this.#loaded) await this.#read()
    return this.#clinics.get(clinic)
  }

  async update(clinic: string, fn: (existing: ClinicEntry | undefined) => ClinicEntry): Promise<ClinicEntry> {
    if (!this.#loaded) await this.#read()
    const before = this.#clinics.get(clinic)
    const entry = fn(before)
    this.#clinics.set(clinic, entry)
    if (JSON.stringify(before) !== JSON.stringify(entry)) {
      const snapshot = { clinics: [...this.#clinics.values()] }
      this.#writing = this.#writing.then(() => writeJsonAtomic(this.#path, snapshot))
      await this.#writing
    }
    return entry
  }

  async #read(): Promise<void> {
    await mkdir(dirname(this.#path), { recursive: true })
    let text: string
    try {
      text = await readFile(this.#path, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      this.#loaded = true
      return
    }
    try {
      const data = JSON.parse(text) as { clinics: ClinicEntry[] }
      for (const c of data.clinics)
        this.#clinics.set(c.clinic, { ...c, peers: [...c.peers], deviceKeys: { ...c.deviceKeys } })
    } catch (err) {
      throw new CheckpointError(`unreadable clinic registry ${this.#path}`, { cause: err })
    }
    this.#loaded = true
  }
}
