import type { Chunk, StorageAdapterInterface, StorageKey } from '@automerge/automerge-repo'

/**
 * In-memory storage adapter for tests: keeps exact keys in save order, and lets a test look at or move the stored
 * bytes (`data`, keyed by `JSON.stringify(key)`). `loadRange` snapshots the data when called and can be held on a
 * `gate`, so a test can make a write land between a read and the write that follows it; `delay` holds each save for
 * some milliseconds (to shuffle the order in which concurrent writes land).
 */
export class MemoryStorage implements StorageAdapterInterface {
  readonly data = new Map<string, Uint8Array>()
  gate: Promise<void> | undefined
  delay: (key: StorageKey) => number = () => 0

  async load(key: StorageKey): Promise<Uint8Array | undefined> {
    return Promise.resolve(this.data.get(JSON.stringify(key)))
  }
  async save(key: StorageKey, data: Uint8Array): Promise<void> {
    const copy = new Uint8Array(data)
    const ms = this.delay(key)
    if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms))
    this.data.set(JSON.stringify(key), copy)
  }
  async remove(key: StorageKey): Promise<void> {
    this.data.delete(JSON.stringify(key))
    return Promise.resolve()
  }
  async loadRange(prefix: StorageKey): Promise<Chunk[]> {
    const out = this.#matching(prefix).map(([k, data]) => ({ key: JSON.parse(k) as StorageKey, data }))
    if (this.gate) await this.gate
    return out
  }
  async removeRange(prefix: StorageKey): Promise<void> {
    for (const [k] of this.#matching(prefix)) this.data.delete(k)
    return Promise.resolve()
  }
  #matching(prefix: StorageKey): [string, Uint8Array][] {
    return [...this.data].filter(([k]) => prefix.every((p, i) => (JSON.parse(k) as StorageKey)[i] === p))
  }
}
