import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { Revocation } from './records.js'

/**
 * A member's own copy of every revocation it verified (a small JSON file, written atomically). The membership
 * document is writable by any member, so a verified revocation deleted from it must not re-admit the device: the
 * holder feeds this file back into `Membership` at every start (`revocations`) and saves it each time one is added
 * (`onRevoked`). Records are verified again when loaded; a damaged file admits nobody new, it only loses its records.
 */
export class RevocationFile {
  readonly path: string
  #writing: Promise<void> = Promise.resolve()
  #seq = 0

  constructor(path: string) {
    this.path = path
  }

  /** The revocations saved before (none when the file is missing or unreadable). */
  async load(): Promise<Revocation[]> {
    try {
      const data = JSON.parse(await readFile(this.path, 'utf8')) as { revocations?: unknown }
      return Array.isArray(data.revocations) ? (data.revocations as Revocation[]) : []
    } catch {
      return []
    }
  }

  /** Writes the full list (temp file + rename); calls are serialised, the last one wins. */
  save(revocations: readonly Revocation[]): Promise<void> {
    const body = `${JSON.stringify({ revocations: revocations.map((r) => ({ ...r })) }, null, 1)}\n`
    this.#writing = this.#writing
      .catch(() => undefined)
      .then(async () => {
        await mkdir(dirname(this.path), { recursive: true })
        const tmp = `${this.path}.${process.pid}.${++this.#seq}.tmp`
        await writeFile(tmp, body, { mode: 0o600 })
        await rename(tmp, this.path)
      })
    return this.#writing
  }
}
