import { newId, type PatientId } from '@clinic-mesh/contracts'
import type { BucketDoc, ClinicStore } from '@clinic-mesh/store'

/** How many new-patient ids a desk keeps ready: two registrations at once on one device find a loaded bucket each. */
export const WARM_IDS = 2

/**
 * The ids of the desk's next new patients, chosen ahead, each one's chart bucket opened and held in memory before the
 * registration that takes it (issue 17 #8: the registration desk; drawn from the first registration on, so a device
 * that registers nobody holds nothing more). A new id lands in a random one of the clinic's
 * buckets, most of them released to disk on a tablet (idle ones go after a minute), and reading one from disk is
 * 25-60 ms of the event loop on the registration's path (P14: the slowest registrations were those). Chosen ahead,
 * the bucket is read while the clerk types; the ids are as random as before (`newId`), only drawn earlier, so charts
 * spread over the buckets as they did. `take` gives the oldest id drawn (or, with none, a fresh one: the
 * registration then reads its bucket as before); `done` draws its replacement once the answer is sent.
 */
export class WarmPatientIds {
  readonly #store: Pick<ClinicStore<BucketDoc>, 'holdBucketFor' | 'unholdBucketFor'>
  readonly #size: number
  readonly #ready: PatientId[] = []
  /** Ids whose bucket is held (drawn, taken or not, and not `done`). */
  readonly #holding = new Set<PatientId>()
  /** Holds whose bucket is still being opened. */
  readonly #opening = new Set<Promise<void>>()
  #refill: NodeJS.Immediate | undefined

  constructor(store: Pick<ClinicStore<BucketDoc>, 'holdBucketFor' | 'unholdBucketFor'>, size = WARM_IDS) {
    this.#store = store
    this.#size = size
  }

  /** How many ids are drawn and held (their buckets loaded or loading). */
  get size(): number {
    return this.#ready.length
  }

  /** Draws ids until `size` are held: each one's bucket is opened now (a failed open drops the id). */
  fill(): void {
    while (this.#ready.length < this.#size) {
      const id = newId<PatientId>('pt')
      this.#ready.push(id)
      this.#holding.add(id)
      const opening = this.#store.holdBucketFor(id).then(
        () => void this.#opening.delete(opening),
        () => {
          this.#opening.delete(opening)
          this.#drop(id)
        },
      )
      this.#opening.add(opening)
    }
  }

  /** Resolves once the ids to draw are drawn and their buckets opened (or dropped). */
  async settled(): Promise<void> {
    while (this.#refill !== undefined || this.#opening.size > 0) {
      if (this.#refill !== undefined) await new Promise<void>((resolve) => setImmediate(resolve))
      else await Promise.all(this.#opening)
    }
  }

  /**
   * An id for a new patient, its bucket held until `done(id)` (call it once the chart is written, or failed): the
   * oldest one drawn ahead, or a fresh one if none is (the first registration: its bucket is read on its path).
   */
  take(): PatientId {
    return this.#ready.shift() ?? newId<PatientId>('pt')
  }

  /**
   * The chart of `id` (from `take`) is written or failed: its bucket goes back to the idle sweep's care, and the
   * next id is drawn after this turn of the event loop (after the answer is sent: its bucket's read is not on it).
   */
  done(id: PatientId): void {
    if (this.#holding.delete(id)) this.#store.unholdBucketFor(id)
    this.#refill ??= setImmediate(() => {
      this.#refill = undefined
      this.fill()
    })
  }

  #drop(id: PatientId): void {
    const at = this.#ready.indexOf(id)
    if (at >= 0) this.#ready.splice(at, 1)
    if (this.#holding.delete(id)) this.#store.unholdBucketFor(id)
  }
}
