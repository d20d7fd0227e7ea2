/**
 * Hybrid logical clock (Kulkarni et al.): physical wall time in ms plus a logical counter, tie-broken by node.
 * `compareHlc` is a total order; a clock never goes backwards even if the device's wall clock does.
 */
export interface Hlc {
  readonly wall: number
  readonly counter: number
  readonly node: string
}

export function compareHlc(a: Hlc, b: Hlc): number {
  if (a.wall !== b.wall) return a.wall < b.wall ? -1 : 1
  if (a.counter !== b.counter) return a.counter < b.counter ? -1 : 1
  if (a.node === b.node) return 0
  return a.node < b.node ? -1 : 1
}

export class HybridClock {
  readonly node: string
  #wall = 0
  #counter = 0
  readonly #now: () => number

  constructor(node: string, now: () => number = Date.now, last?: Hlc) {
    this.node = node
    this.#now = now
    if (last) {
      this.#wall = last.wall
      this.#counter = last.counter
    }
  }

  /** A timestamp for a local event, strictly greater than every timestamp this clock issued or observed. */
  tick(): Hlc {
    const pt = this.#now()
    if (pt > this.#wall) {
      this.#wall = pt
      this.#counter = 0
    } else {
      this.#counter++
    }
    return { wall: this.#wall, counter: this.#counter, node: this.node }
  }

  /** Merge a timestamp seen on a peer's operation, so the next local event orders after it. */
  observe(remote: Hlc): void {
    const pt = this.#now()
    const wall = Math.max(pt, this.#wall, remote.wall)
    if (wall === this.#wall && wall === remote.wall)
      this.#counter = Math.max(this.#counter, remote.counter) + 1
    else if (wall === this.#wall) this.#counter++
    else if (wall === remote.wall) this.#counter = remote.counter + 1
    else this.#counter = 0
    this.#wall = wall
  }

  /** The last timestamp issued or observed (to persist across restarts). */
  last(): Hlc {
    return { wall: this.#wall, counter: this.#counter, node: this.node }
  }
}
