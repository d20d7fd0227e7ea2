import * as A from '@automerge/automerge'

/** A write the simulation tracks from the moment its bytes are persisted (then it must never be lost). */
export interface Write {
  readonly kind: 'patient' | 'vitals' | 'op'
  readonly doc: string
  /** patient id, `patientId/encounterId/vitalsId`, or operation id */
  readonly key: string
  readonly replica: string
}

/**
 * One device (or the relay) holding Automerge documents. Memory is `#docs`; `storage` is what survives a crash:
 * the last `A.save()` bytes written at a flush. Writes are acknowledged only when their bytes are in storage.
 * Every incarnation (restart) writes under a fresh actor id, so changes lost in a crash never collide with new ones.
 */
export class Replica {
  readonly name: string
  readonly index: number
  incarnation = 0
  up = true
  /** Fault injection: acknowledge writes without persisting them (a storage layer that lies about fsync). */
  ackWithoutPersist = false
  readonly storage = new Map<string, Uint8Array>()
  readonly #docs = new Map<string, A.Doc<unknown>>()
  readonly #dirty = new Set<string>()
  #unacked: Write[] = []
  readonly #sync = new Map<string, A.SyncState>()

  constructor(name: string, index: number, genesis: ReadonlyMap<string, Uint8Array>) {
    this.name = name
    this.index = index
    for (const [id, bytes] of genesis) this.storage.set(id, bytes)
    this.#load()
  }

  /** Hex actor id, unique per replica and incarnation. */
  get actor(): string {
    return `${this.index.toString(16).padStart(4, '0')}${this.incarnation.toString(16).padStart(8, '0')}aa`
  }

  docIds(): string[] {
    return [...this.storage.keys()]
  }

  doc<T>(id: string): A.Doc<T> {
    const d = this.#docs.get(id)
    if (d === undefined) throw new Error(`${this.name} has no document ${id} (up: ${this.up})`)
    return d as A.Doc<T>
  }

  /** A local change; the writes `fn` returns are acknowledged at the next flush. */
  change<T>(id: string, time: number, fn: (d: T) => readonly Write[]): void {
    let writes: readonly Write[] = []
    const next = A.change(this.doc<T>(id), { time: Math.floor(time / 1000) }, (d: T) => {
      writes = fn(d)
    })
    this.#docs.set(id, next)
    this.#dirty.add(id)
    this.#unacked.push(...writes)
  }

  /** Persist every changed document; returns the writes that are now acknowledged. */
  flush(): Write[] {
    if (!this.up) return []
    for (const id of this.#dirty) if (!this.ackWithoutPersist) this.storage.set(id, A.save(this.doc(id)))
    this.#dirty.clear()
    return this.#unacked.splice(0)
  }

  /** Lose memory: unpersisted changes (local or received) and every sync session. Returns the lost writes. */
  crash(): Write[] {
    this.up = false
    this.#docs.clear()
    this.#dirty.clear()
    this.#sync.clear()
    return this.#unacked.splice(0)
  }

  restart(): void {
    this.incarnation++
    this.up = true
    this.#load()
  }

  #load(): void {
    for (const [id, bytes] of this.storage) this.#docs.set(id, A.load(bytes, { actor: this.actor }))
  }

  /** Forget the sync session with `peer` (the connection dropped). */
  resetSync(peer: string): void {
    for (const key of [...this.#sync.keys()]) if (key.startsWith(`${peer}\u0000`)) this.#sync.delete(key)
  }

  generate(peer: string, id: string): Uint8Array | null {
    const key = `${peer}\u0000${id}`
    const [state, msg] = A.generateSyncMessage(this.doc(id), this.#sync.get(key) ?? A.initSyncState())
    this.#sync.set(key, state)
    return msg
  }

  receive(peer: string, id: string, msg: Uint8Array): void {
    const key = `${peer}\u0000${id}`
    const before = this.doc(id)
    const [doc, state] = A.receiveSyncMessage(before, this.#sync.get(key) ?? A.initSyncState(), msg)
    this.#sync.set(key, state)
    if (doc !== before) {
      this.#docs.set(id, doc)
      this.#dirty.add(id)
    }
  }

  heads(id: string): string {
    return A.getHeads(this.doc(id)).slice().sort().join(',')
  }
}
