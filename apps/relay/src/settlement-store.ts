import { mkdir, readFile, rename, writeFile, open } from 'node:fs/promises'
import { join } from 'node:path'
import type { ChainHead } from '@clinic-mesh/ledger'
import type { StorageAdapterInterface } from '@automerge/automerge-repo'
import { CheckpointError } from './errors.js'
import { FENCED_CHUNK } from './fenced-storage.js'

/** An operation refused at the relay's boundary (validateBatch, wrong device): recorded, never dropped silently. */
export interface RejectedOp {
  readonly log: string
  readonly index: number
  readonly device: string
  readonly reason: string
  readonly field: string | null
  readonly message: string
  readonly at: string
}

/** Per device: seqs ingested so far, to compute watermarks. */
export interface DeviceProgress {
  /** Every seq ≤ contig has been ingested. */
  contig: number
  /** Ingested seqs above contig + 1 (out of order arrival). */
  ahead: number[]
  maxSeq: number
}

/** Everything the relay keeps for a clinic beside the engine snapshot. */
export interface CheckpointMeta {
  version: 1
  /** log document URL → number of its ops already read. */
  cursors: Record<string, number>
  devices: Record<string, DeviceProgress>
  rejected: RejectedOp[]
  rejectedTotal: number
  settledOps: number
  decidedOps: number
  /** Chain head of the relay's own DeviceLog (resolutions). */
  relayHead: ChainHead | null
  settlement: { inventory?: string; conflicts?: string }
  lastSettledAt: string | null
  /** Operation hash → why it is not trusted (signature, revoked device); such ops become `unauthorized` conflicts. */
  distrusted?: Record<string, string>
  /** Set once the clinic's directory named a user register: from then on every operation must be signed. */
  signaturesRequired?: boolean
  /** Operations ingested per day of their device time (YYYY-MM-DD, last 60 days): the console's conflict rate. */
  opsByDay?: Record<string, number>
}

export interface Checkpoint {
  readonly meta: CheckpointMeta
  readonly engine: Uint8Array
}

/** A whole document the relay publishes (settled inventory, conflict queue): `Automerge.save` of its new state. */
export interface PublishedDoc {
  readonly documentId: string
  /**
   * What storage keeps: the document's full state (a snapshot, which replaces every earlier chunk of it), or with
   * `incremental` only the changes since the last committed write, under that chunk name (see `fencedChunkKey`)
   */
  readonly bytes: Uint8Array
  readonly incremental?: string
  /** only the changes since the last write (other instances merge these: pg-schema.ts `chunkNotice`) */
  readonly delta?: Uint8Array
}

/**
 * Where the relay keeps its per-clinic settlement state: files (one relay) or PostgreSQL (any number of instances).
 * `save` must be atomic: a reader sees the old or the new checkpoint. A store that fences (PostgreSQL) writes
 * `published` in the same transaction as the checkpoint, and only while this instance holds the clinic's lease
 * (`LeaseLostError` otherwise); a store that does not leaves `published` to the repo's own storage.
 */
export interface SettlementStore {
  load(clinic: string): Promise<Checkpoint | null>
  save(clinic: string, checkpoint: Checkpoint, published?: readonly PublishedDoc[]): Promise<void>
}

/** The storage key of a published document's chunk: its one snapshot, or an incremental chunk of its own name. */
export function fencedChunkKey(doc: PublishedDoc): [string, string, string] {
  return doc.incremental === undefined
    ? [doc.documentId, 'snapshot', FENCED_CHUNK]
    : [doc.documentId, 'incremental', doc.incremental]
}

export function emptyMeta(): CheckpointMeta {
  return {
    version: 1,
    cursors: {},
    devices: {},
    rejected: [],
    rejectedTotal: 0,
    settledOps: 0,
    decidedOps: 0,
    relayHead: null,
    settlement: {},
    lastSettledAt: null,
  }
}

const MAGIC = 0x434d5231 // "CMR1"

/** `MAGIC u32 | meta length u32 | meta JSON | engine snapshot`, big-endian. */
export function encodeCheckpoint(cp: Checkpoint): Uint8Array {
  const meta = new TextEncoder().encode(JSON.stringify(cp.meta))
  const out = new Uint8Array(8 + meta.length + cp.engine.length)
  const view = new DataView(out.buffer)
  view.setUint32(0, MAGIC)
  view.setUint32(4, meta.length)
  out.set(meta, 8)
  out.set(cp.engine, 8 + meta.length)
  return out
}

export function decodeCheckpoint(bytes: Uint8Array): Checkpoint {
  if (bytes.length < 8) throw new CheckpointError('checkpoint too short')
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (view.getUint32(0) !== MAGIC) throw new CheckpointError('not a relay checkpoint')
  const len = view.getUint32(4)
  if (8 + len > bytes.length) throw new CheckpointError('truncated checkpoint')
  try {
    const meta = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + len))) as CheckpointMeta
    if (meta.version !== 1) throw new CheckpointError(`checkpoint version ${String(meta.version)}`)
    return { meta, engine: bytes.slice(8 + len) }
  } catch (err) {
    if (err instanceof CheckpointError) throw err
    throw new CheckpointError('unreadable checkpoint metadata', { cause: err })
  }
}

/**
 * DIR/<clinic>.bin, written to a temp file, fsynced, then renamed over the old one. Then the published documents, each
 * as its snapshot or an incremental chunk (`fencedChunkKey`) through `documents` (the relay's repo storage, atomic writes); they reach
 * devices only after both. A crash between the two leaves the documents behind the checkpoint, and the next start
 * publishes from the checkpoint before any device sees them.
 */
export class FileSettlementStore implements SettlementStore {
  readonly #dir: string
  readonly #documents: StorageAdapterInterface | null
  #seq = 0
  constructor(dir: string, documents: StorageAdapterInterface | null = null) {
    this.#dir = dir
    this.#documents = documents
  }

  async load(clinic: string): Promise<Checkpoint | null> {
    let bytes: Uint8Array
    try {
      bytes = await readFile(join(this.#dir, `${clinic}.bin`))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
      throw err
    }
    return decodeCheckpoint(bytes)
  }

  async save(clinic: string, checkpoint: Checkpoint, published: readonly PublishedDoc[] = []): Promise<void> {
    if (published.length > 0 && !this.#documents)
      throw new CheckpointError(
        `clinic ${clinic}: this checkpoint store has no document storage to publish to`,
      )
    await mkdir(this.#dir, { recursive: true })
    const final = join(this.#dir, `${clinic}.bin`)
    const tmp = `${final}.${process.pid}.${++this.#seq}.tmp`
    const fh = await open(tmp, 'w')
    try {
      await fh.writeFile(encodeCheckpoint(checkpoint))
      await fh.sync()
    } finally {
      await fh.close()
    }
    await rename(tmp, final)
    for (const doc of published) {
      await this.#documents?.save(fencedChunkKey(doc), doc.bytes)
      if (doc.incremental !== undefined) continue
      // a snapshot holds everything: the incremental chunks written before it go
      for (const c of (await this.#documents?.loadRange([doc.documentId, 'incremental'])) ?? [])
        if (c.key[2]?.startsWith(`${FENCED_CHUNK}-`)) await this.#documents?.remove(c.key)
    }
  }
}

/** Small JSON file written atomically (tmp + rename). */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`
  await writeFile(tmp, JSON.stringify(value, null, 1))
  await rename(tmp, path)
}
