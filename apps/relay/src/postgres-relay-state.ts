import { newRelaySecret, relayPublicKeyOf } from '@clinic-mesh/ledger'
import { PostgresStorageAdapter } from '@clinic-mesh/storage-postgres'
import { randomBytes } from 'node:crypto'
import { access } from 'node:fs/promises'
import { join } from 'node:path'
import { hostname } from 'node:os'
import type { Chunk } from '@automerge/automerge-repo'
import pg from 'pg'
import { FencedStorage, isDocChunk } from './fenced-storage.js'
import { RelayStateError } from './errors.js'
import { LeaseOwnership } from './lease-ownership.js'
import { PostgresSettlementStore } from './pg-checkpoints.js'
import { PostgresRegistryBackend } from './pg-registry.js'
import { CHUNK_TABLE, createRelaySchema } from './pg-schema.js'
import { loadRelayKey, type RelayKey } from './relay-key.js'
import { InstanceRoutes } from './instance-routes.js'
import type { ClinicRoutes, RelayState, StateEvents } from './relay-state.js'
import { SharedStorage } from './shared-storage.js'
import { StateListener } from './state-listener.js'

export interface PostgresRelayStateInit {
  readonly url: string
  /**
   * An existing relay's data dir: when the database has no relay key yet, this dir's relay-key.json becomes it (an
   * upgrade from one relay on files keeps the identity its devices pinned).
   */
  readonly dataDir?: string
  /** lease length (default 2000 ms) */
  readonly leaseMs?: number
}

/**
 * Everything an instance keeps, in one PostgreSQL database shared by any number of instances: chunks, clinics,
 * checkpoints, leases and the relay key. The instance itself keeps nothing on disk.
 */
export class PostgresRelayState implements RelayState {
  readonly kind = 'postgres'
  readonly storage: SharedStorage
  readonly registry: PostgresRegistryBackend
  readonly checkpoints: PostgresSettlementStore
  readonly ownership: LeaseOwnership
  readonly routes: ClinicRoutes
  readonly fencedDocuments = true
  /** short: a change reaches the devices at other instances only once saved (fan-out within 1 s) */
  readonly saveDebounceMs = 20
  readonly source: string
  readonly #pool: pg.Pool
  /** leases renew on their own connections: a burst of document saves queued in the main pool must not delay them */
  readonly #leasePool: pg.Pool
  readonly #chunks: PostgresStorageAdapter
  readonly #fenced = new Set<string>()
  readonly #init: PostgresRelayStateInit
  #listener: StateListener | null = null

  private constructor(
    pool: pg.Pool,
    leasePool: pg.Pool,
    chunks: PostgresStorageAdapter,
    init: PostgresRelayStateInit,
    source: string,
  ) {
    this.#pool = pool
    this.#leasePool = leasePool
    this.#chunks = chunks
    this.#init = init
    this.source = source
    this.storage = new SharedStorage(new FencedStorage(chunks, this.#fenced), pool, this.source)
    this.registry = new PostgresRegistryBackend(pool, this.source)
    this.ownership = new LeaseOwnership(leasePool, {
      owner: this.source,
      ...(init.leaseMs ? { leaseMs: init.leaseMs } : {}),
    })
    const own = this.ownership
    const lookup = new InstanceRoutes(pool, this.source, own.liveGraceMs)
    this.routes = {
      advertise: async (url) => {
        own.publicUrl = url
        await own.heartbeat()
      },
      ownerUrl: (clinic) => lookup.ownerUrl(clinic),
      ownerUrls: (clinics) => lookup.ownerUrls(clinics),
    }
    this.checkpoints = new PostgresSettlementStore(pool, (c) => this.ownership.fenceOf(c), this.source)
  }

  /** Connects and creates the tables if missing; an unreachable database throws PostgresStorageError. */
  static async open(init: PostgresRelayStateInit): Promise<PostgresRelayState> {
    // every connection names this instance: the others judge it alive by them (lease-ownership.ts TAKEABLE); the
    // lease pool's stay open
    const application_name = instanceName()
    const pool = new pg.Pool({ connectionString: init.url, max: 8, application_name })
    const leasePool = new pg.Pool({
      connectionString: init.url,
      max: 2,
      application_name,
      idleTimeoutMillis: 0,
    })
    // an idle client lost: the next query reports it
    pool.on('error', () => {})
    leasePool.on('error', () => {})
    const chunks = new PostgresStorageAdapter({ pool, table: CHUNK_TABLE })
    try {
      await chunks.init()
      await createRelaySchema(pool)
    } catch (err) {
      await pool.end().catch(() => {})
      await leasePool.end().catch(() => {})
      throw err
    }
    const state = new PostgresRelayState(pool, leasePool, chunks, init, application_name)
    // live before it takes any lease: the fair share counts this instance
    await state.ownership.heartbeat().catch(async (err: unknown) => {
      await state.close().catch(() => {})
      throw err
    })
    return state
  }

  markFenced(documentId: string): void {
    this.#fenced.add(documentId)
  }

  /**
   * Read the chunks of a clinic's documents in one query, for the repo's loads of them that follow (a cold open, a
   * takeover: one query in place of two per document).
   */
  async readAhead(documentIds: readonly string[]): Promise<void> {
    // those read ahead already and not loaded yet (a clinic's logs, then named again by its directory) are not read again
    const ids = [...new Set(documentIds)].filter((id) => !this.storage.isAhead(id))
    if (ids.length === 0) return
    // a document written or announced while the query runs is not kept: what was read may be older than storage
    const since = this.storage.beginRead()
    try {
      const { rows } = await this.#pool.query<{ key: string[]; data: Buffer }>(
        `SELECT key, data FROM ${CHUNK_TABLE} WHERE key[1] = ANY($1::text[]) ORDER BY seq`,
        [ids],
      )
      const byDoc = new Map<string, Chunk[]>(ids.map((id) => [id, []]))
      for (const r of rows)
        if (isDocChunk(r.key)) byDoc.get(r.key[0]!)?.push({ key: r.key, data: new Uint8Array(r.data) })
      for (const [id, chunks] of byDoc) {
        for (const c of chunks) this.storage.noteStored(c.key)
        this.storage.readAhead(id, chunks, since)
      }
    } finally {
      this.storage.endRead()
    }
  }

  takeAhead(documentId: string): Uint8Array[] | undefined {
    return this.storage.aheadOf([documentId])?.flatMap((c) => (isDocChunk(c.key) && c.data ? [c.data] : []))
  }

  isAhead(documentId: string): boolean {
    return this.storage.isAhead(documentId)
  }

  async loadChunks(documentId: string, readAhead = false): Promise<Uint8Array[]> {
    const chunks =
      (readAhead && this.storage.aheadOf([documentId])) || (await this.#chunks.loadRange([documentId]))
    return chunks.flatMap((c) => {
      if (!isDocChunk(c.key) || !c.data) return []
      this.storage.noteStored(c.key)
      return [c.data]
    })
  }

  noteStored(key: readonly string[]): void {
    this.storage.noteStored(key)
  }

  async loadChunk(key: readonly string[]): Promise<Uint8Array | undefined> {
    const data = await this.#chunks.load([...key])
    if (data) this.storage.noteStored(key)
    return data
  }

  async relayKey(): Promise<RelayKey> {
    const read = async (): Promise<RelayKey | undefined> => {
      const { rows } = await this.#pool.query<{ public_key: string; secret_key: Buffer }>(
        "SELECT public_key, secret_key FROM relay_keys WHERE id = 'relay'",
      )
      const row = rows[0]
      if (!row) return undefined
      const secretKey = new Uint8Array(row.secret_key)
      if (secretKey.length !== 32 || relayPublicKeyOf(secretKey) !== row.public_key)
        throw new RelayStateError('the relay key in the database is damaged: its public key does not match')
      return { publicKey: row.public_key, secretKey }
    }
    const found = await read()
    if (found) return found
    let key: RelayKey
    if (this.#init.dataDir && (await exists(join(this.#init.dataDir, 'relay-key.json'))))
      key = await loadRelayKey(this.#init.dataDir)
    else {
      const secretKey = newRelaySecret()
      key = { publicKey: relayPublicKeyOf(secretKey), secretKey }
    }
    // instances starting together: the first insert wins, every instance reads the winner
    await this.#pool.query(
      `INSERT INTO relay_keys (id, public_key, secret_key, created_at) VALUES ('relay', $1, $2, now())
       ON CONFLICT (id) DO NOTHING`,
      [key.publicKey, Buffer.from(key.secretKey)],
    )
    const stored = await read()
    if (!stored) throw new RelayStateError('no relay key in the database after writing one')
    return stored
  }

  async listen(events: StateEvents): Promise<void> {
    // what was read ahead is stale once another instance wrote the document, or notices may have been missed
    const storage = this.storage
    this.#listener = new StateListener(this.#init.url, this.source, {
      ...events,
      document: (id, chunk, changes) => {
        storage.forget(id)
        events.document(id, chunk, changes)
      },
      resync: () => {
        storage.forget()
        events.resync()
      },
    })
    await this.#listener.start()
  }

  async close(): Promise<void> {
    await this.storage.flushSyncStates()
    await this.ownership.stop()
    await this.#listener?.stop()
    await this.#chunks.close()
    await this.#pool.end()
    await this.#leasePool.end()
  }
}

/** A new instance's name (leases, notifications, `application_name`: at most 63 bytes). */
function instanceName(): string {
  return `${hostname().slice(0, 40)}-${process.pid}-${randomBytes(4).toString('hex')}`
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path)
    return true
  } catch {
    return false
  }
}
