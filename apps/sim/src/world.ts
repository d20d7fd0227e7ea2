import type { Rng } from './rng.js'
import type { Replica, Write } from './replica.js'

/** A sync message in flight between two replicas, tagged with the connection it was sent on. */
export interface Msg {
  readonly from: number
  readonly to: number
  readonly doc: string
  readonly epoch: number
  readonly bytes: Uint8Array
}

export interface NetStats {
  sent: number
  delivered: number
  dropped: number
  duplicated: number
  stale: number
  crashes: number
  partitions: number
}

export interface Faults {
  readonly drop: number
  readonly duplicate: number
}

/**
 * The network and the failure injector: partitions (groups), per-pair connections with an epoch (a reconnect
 * starts fresh sync sessions and makes older in-flight messages stale), and a queue delivered in random order
 * with drops and duplicates. All randomness comes from `rng`.
 */
export class World {
  readonly replicas: Replica[]
  readonly rng: Rng
  readonly faults: Faults
  readonly acked: Write[] = []
  readonly lost: Write[] = []
  readonly errors: string[] = []
  readonly stats: NetStats = {
    sent: 0,
    delivered: 0,
    dropped: 0,
    duplicated: 0,
    stale: 0,
    crashes: 0,
    partitions: 0,
  }
  readonly #group: number[]
  readonly #epoch = new Map<string, number>()
  #queue: Msg[] = []

  constructor(replicas: Replica[], rng: Rng, faults: Faults) {
    this.replicas = replicas
    this.rng = rng
    this.faults = faults
    this.#group = replicas.map(() => 0)
  }

  #key(a: number, b: number): string {
    return a < b ? `${a}-${b}` : `${b}-${a}`
  }

  connected(a: number, b: number): boolean {
    const ra = this.replicas[a]
    const rb = this.replicas[b]
    return a !== b && !!ra?.up && !!rb?.up && this.#group[a] === this.#group[b]
  }

  /** Drop the connection between a and b: both forget the sync session, in-flight messages go stale. */
  reconnect(a: number, b: number): void {
    const k = this.#key(a, b)
    this.#epoch.set(k, (this.#epoch.get(k) ?? 0) + 1)
    const ra = this.replicas[a]!
    const rb = this.replicas[b]!
    ra.resetSync(rb.name)
    rb.resetSync(ra.name)
  }

  get inFlight(): number {
    return this.#queue.length
  }

  flush(i: number): void {
    this.acked.push(...this.replicas[i]!.flush())
  }

  /** a sends one sync message per document to b. Persist-before-send: a flushes first. */
  syncTick(a: number, b: number): void {
    if (!this.connected(a, b)) return
    this.flush(a)
    const ra = this.replicas[a]!
    const rb = this.replicas[b]!
    const epoch = this.#epoch.get(this.#key(a, b)) ?? 0
    for (const doc of ra.docIds()) {
      const bytes = ra.generate(rb.name, doc)
      if (bytes) {
        this.#queue.push({ from: a, to: b, doc, epoch, bytes })
        this.stats.sent++
      }
    }
  }

  /** Deliver one queued message picked at random (reordering), maybe dropping or duplicating it. */
  deliverOne(): void {
    if (this.#queue.length === 0) return
    const i = this.rng.int(this.#queue.length)
    const msg = this.#queue[i]!
    const dup = this.rng.chance(this.faults.duplicate)
    if (!dup) this.#queue.splice(i, 1)
    else this.stats.duplicated++
    if (this.rng.chance(this.faults.drop)) {
      this.stats.dropped++
      return
    }
    if (
      !this.connected(msg.from, msg.to) ||
      msg.epoch !== (this.#epoch.get(this.#key(msg.from, msg.to)) ?? 0)
    ) {
      this.stats.stale++
      return
    }
    this.#receive(msg)
  }

  #receive(msg: Msg): void {
    const from = this.replicas[msg.from]!
    try {
      this.replicas[msg.to]!.receive(from.name, msg.doc, msg.bytes)
      this.stats.delivered++
    } catch (err) {
      this.errors.push(`sync ${from.name}->${this.replicas[msg.to]!.name} ${msg.doc}: ${String(err)}`)
    }
  }

  crash(i: number): void {
    const r = this.replicas[i]!
    if (!r.up) return
    this.lost.push(...r.crash())
    this.stats.crashes++
    for (let p = 0; p < this.replicas.length; p++) if (p !== i) this.reconnect(i, p)
  }

  /** Split the replicas into two random groups; connections across the cut drop. */
  partition(): void {
    const before = [...this.#group]
    for (let i = 0; i < this.#group.length; i++) this.#group[i] = this.rng.int(2)
    this.stats.partitions++
    this.#dropCut(before)
  }

  /** Move one replica to the other side (or back). */
  flip(i: number): void {
    const before = [...this.#group]
    this.#group[i] = 1 - (this.#group[i] ?? 0)
    this.#dropCut(before)
  }

  #dropCut(before: number[]): void {
    for (let a = 0; a < this.#group.length; a++) {
      for (let b = a + 1; b < this.#group.length; b++) {
        if (before[a] === before[b] && this.#group[a] !== this.#group[b]) this.reconnect(a, b)
      }
    }
  }

  /** End of the run: every replica up, one group, fresh connections, nothing in flight. */
  healAll(restart: (i: number) => void): void {
    for (let i = 0; i < this.replicas.length; i++) {
      if (!this.replicas[i]!.up) restart(i)
      this.#group[i] = 0
    }
    for (let a = 0; a < this.replicas.length; a++)
      for (let b = a + 1; b < this.replicas.length; b++) this.reconnect(a, b)
    this.#queue = []
  }

  /**
   * Sync with reliable, immediate delivery until no pair has anything to send: first through `hub` (each change
   * crosses the network once per replica), then every pair, which must find nothing left but handshakes.
   */
  quiesce(hub: number, maxPasses = 200): boolean {
    return this.#passes(maxPasses, (a, b) => a === hub || b === hub) && this.#passes(maxPasses, () => true)
  }

  #passes(maxPasses: number, use: (a: number, b: number) => boolean): boolean {
    const n = this.replicas.length
    for (let pass = 0; pass < maxPasses; pass++) {
      let moved = false
      for (let a = 0; a < n; a++) {
        for (let b = 0; b < n; b++) {
          if (!use(a, b) || !this.connected(a, b)) continue
          this.syncTick(a, b)
          const msgs = this.#queue.splice(0)
          for (const m of msgs) this.#receive(m)
          if (msgs.length > 0) moved = true
        }
      }
      if (!moved) {
        for (let i = 0; i < n; i++) this.flush(i)
        return true
      }
    }
    return false
  }
}
