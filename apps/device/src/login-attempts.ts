import { readFile } from 'node:fs/promises'
import type { UserId } from '@clinic-mesh/contracts'
import type { AttemptRecord, AttemptStore } from '@clinic-mesh/security'
import { writeJsonAtomic } from './clinic-file.js'

/** File of the data dir holding this device's failed-login counters. */
export const ATTEMPTS_FILE = 'login-attempts.json'

/** A small JSON file of this device's failed-login counters (user ids and numbers only; not synced). */
export class FileAttemptStore implements AttemptStore {
  readonly #file: string
  #records: Record<string, AttemptRecord> | undefined

  constructor(file: string) {
    this.#file = file
  }

  async #load(): Promise<Record<string, AttemptRecord>> {
    this.#records ??= await readFile(this.#file, 'utf8').then(
      (t) => JSON.parse(t) as Record<string, AttemptRecord>,
      () => ({}),
    )
    return this.#records
  }

  async get(userId: UserId): Promise<AttemptRecord | undefined> {
    return (await this.#load())[userId]
  }

  async set(userId: UserId, record: AttemptRecord | undefined): Promise<void> {
    const all = await this.#load()
    if (record) all[userId] = record
    else delete all[userId]
    await writeJsonAtomic(this.#file, all)
  }
}
