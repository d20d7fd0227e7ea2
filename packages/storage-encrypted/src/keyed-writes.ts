import type { StorageKey } from '@automerge/automerge-repo'

const keyString = (key: StorageKey): string => JSON.stringify(key)

/**
 * Orders the writes of an encrypting storage adapter: the writes to one key run one after another in call order
 * (encryption is asynchronous, so a later save could otherwise land before an earlier one), writes to different
 * keys run in parallel, and a read or a removal can wait for the writes it would race. Browser-safe.
 */
export class KeyedWrites {
  readonly #tails = new Map<string, { key: StorageKey; done: Promise<void> }>()

  /** Runs `write` after every earlier write to the same key has finished (its failure is its caller's). */
  run(key: StorageKey, write: () => Promise<void>): Promise<void> {
    const k = keyString(key)
    const before = this.#tails.get(k)?.done.catch(() => undefined) ?? Promise.resolve()
    const done = before.then(write)
    const tail = { key, done }
    this.#tails.set(k, tail)
    const cleanup = (): void => {
      if (this.#tails.get(k) === tail) this.#tails.delete(k)
    }
    void done.then(cleanup, cleanup)
    return done
  }

  /** Waits for the pending writes to the keys `match` selects (their failures are their callers'). */
  async settled(match: (key: StorageKey) => boolean): Promise<void> {
    const pending = [...this.#tails.values()].filter((t) => match(t.key))
    await Promise.all(pending.map((t) => t.done.catch(() => undefined)))
  }
}
