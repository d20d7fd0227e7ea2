import { shardOf, decodeSummary } from '@clinic-mesh/store'
import { verifyEnrolment, type Enrolment } from '@clinic-mesh/mesh'
import type { DocHandle } from '@automerge/automerge-repo'

/** What display names are read from (`ClinicWatcher.nameSources`). */
export interface NameSources {
  readonly clinic: string
  readonly clinicName: string | null
  readonly enrolments: Record<string, unknown>
  readonly admins: readonly string[]
  /** device (log) id → the peer id that signed its runs */
  readonly signers: Readonly<Record<string, string>>
  readonly indexShards: readonly string[]
  readonly chartBuckets: readonly string[]
  load(url: string): Promise<DocHandle<unknown> | null>
}

/**
 * Display names for the reviewer console (issue 15 item 11): the clinic's name, each device's enrolled name, each
 * patient's name from the index shards. Given only to a signed-in user of that clinic (http-api.ts), never written to
 * the relay's log. Any member can write the membership document, so a device name counts only when its enrolment
 * verifies under the clinic's admin keys; patient names are what the clinic's index says (as on every tablet).
 */
export class ClinicNames {
  readonly #src: NameSources
  readonly #devices = new Map<string, string | null>()
  readonly #shards = new Map<number, Record<string, unknown> | null>()

  constructor(src: NameSources) {
    this.#src = src
  }

  get clinic(): string | null {
    return this.#src.clinicName
  }

  /** The enrolled name of the device whose log is `device` (null: unknown or not vouched for). */
  device(device: string): string | null {
    if (this.#devices.has(device)) return this.#devices.get(device) ?? null
    const peer = this.#src.signers[device] ?? device
    const rec = this.#src.enrolments[peer]
    let name: string | null = null
    try {
      if (typeof rec === 'object' && rec !== null) {
        const e = rec as Enrolment
        if (e.devicePeerId === peer) {
          verifyEnrolment(e, this.#src.clinic, this.#src.admins)
          name = typeof e.deviceName === 'string' ? e.deviceName : null
        }
      }
    } catch {
      name = null // an enrolment no admin key signed names nothing
    }
    this.#devices.set(device, name)
    return name
  }

  /** "Given Family" of a patient, from the clinic's index shard that holds them (null: not here). */
  async patient(id: string): Promise<string | null> {
    const shards = this.#src.indexShards
    if (shards.length === 0) return null
    const i = shardOf(id, shards.length)
    let summaries = this.#shards.get(i)
    if (summaries === undefined) {
      const h = await this.#src.load(shards[i]!).catch(() => null)
      const raw: unknown = h?.doc()
      const doc = raw as { summaries?: Record<string, unknown> } | undefined
      summaries = doc?.summaries ?? null
      this.#shards.set(i, summaries)
    }
    const packed = summaries?.[id]
    if (packed === undefined) return null
    try {
      const s = decodeSummary(id, packed)
      return `${s.given} ${s.family}`.trim() || null
    } catch {
      return null
    }
  }
}
