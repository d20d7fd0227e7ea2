import { mkdir, readFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { CheckpointError, RegistrationConflictError } from './errors.js'
import { writeJsonAtomic } from './settlement-store.js'

export interface ClinicEntry {
  readonly clinic: string
  readonly directoryUrl: string
  readonly peers: string[]
  readonly registeredAt: string
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
      for (const c of data.clinics) reg.#clinics.set(c.clinic, { ...c, peers: [...c.peers] })
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

  /**
   * Register a clinic (idempotent) and optionally one more device peer of it. Returns whether the clinic is new.
   * A clinic id is bound to its first directory; another directory for it is refused.
   */
  async register(clinic: string, directoryUrl: string, peer: string | null): Promise<{ created: boolean; entry: ClinicEntry }> {
    const existing = this.#clinics.get(clinic)
    if (existing && existing.directoryUrl !== directoryUrl) {
      throw new RegistrationConflictError(`clinic ${clinic} is registered with another directory`)
    }
    const entry = existing ?? { clinic, directoryUrl, peers: [], registeredAt: new Date().toISOString() }
    const changed = !existing || (peer !== null && !entry.peers.includes(peer))
    if (peer !== null && !entry.peers.includes(peer)) entry.peers.push(peer)
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
