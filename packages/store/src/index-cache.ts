import type { DocumentId, Repo } from '@automerge/automerge-repo'

/** What the index shards held when this device last saved them: per shard, packed summaries and open visits. */
export interface CachedShard {
  summaries: { [patientId: string]: string }
  visits: { [patientId: string]: string }
}

const NAMESPACE = 'clinic-mesh-index'
const VERSION = 1

/**
 * A copy of the index shards' contents in the repo's own storage (so encrypted at rest like the documents), keyed by
 * the clinic root: a restarting device answers search and the day's queue from it at once, and reconciles each shard
 * with it as the shard loads (issue 17: search within 1 s of a restart; loading 16 shards of 10,000 summaries costs
 * ~1 s of CPU on its own). Derived data only: a missing, old or unreadable copy just means waiting for the shards.
 */
export class IndexCache {
  readonly #repo: Repo
  readonly #key: DocumentId

  constructor(repo: Repo, root: DocumentId) {
    this.#repo = repo
    this.#key = root
  }

  /** The saved copy, if there is one for `shards` shards in this format. */
  async load(shards: number): Promise<CachedShard[] | undefined> {
    const storage = this.#repo.storageSubsystem
    if (!storage) return undefined
    try {
      const bytes = await storage.load(NAMESPACE, this.#key)
      if (!bytes) return undefined
      const saved = JSON.parse(new TextDecoder().decode(bytes)) as { v?: unknown; shards?: unknown }
      if (saved.v !== VERSION || !Array.isArray(saved.shards) || saved.shards.length !== shards)
        return undefined
      return saved.shards as CachedShard[]
    } catch {
      return undefined // unreadable: the shards answer once loaded
    }
  }

  async save(shards: CachedShard[]): Promise<void> {
    const storage = this.#repo.storageSubsystem
    if (!storage) return
    await storage.save(NAMESPACE, this.#key, new TextEncoder().encode(JSON.stringify({ v: VERSION, shards })))
  }
}
