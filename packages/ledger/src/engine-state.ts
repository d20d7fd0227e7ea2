import type { BatchId } from '@clinic-mesh/contracts'
import type { LedgerContext, PrescriptionState, TransferRecord } from './apply-op.js'
import type { Conflict, ConflictKind } from './conflict.js'
import { SnapshotError } from './errors.js'
import type { BatchState } from './inventory.js'
import type { Operation } from './operation.js'
import { OpRegistry } from './op-registry.js'
import type { ItemVersion } from './stock-book.js'
import { StockBook } from './stock-book.js'

/** An ingested operation and its index in the registry (-1 for a same-id-other-content copy). */
export interface Entry {
  readonly op: Operation
  readonly idx: number
  parked: boolean // flagged as a chain gap; still holds its chain position
}

/** One device's hash chain as the relay has accepted it. */
export interface Chain {
  seq: number
  hash: string | null
  readonly pending: Map<number, Entry[]>
  readonly rejected: Set<string>
}

export interface EngineState {
  round: number
  readonly registry: OpRegistry
  readonly ctx: LedgerContext
  readonly chains: Map<string, Chain>
  waits: Entry[]
  readonly staged: { entry: Entry; kind: ConflictKind; detail: string }[]
  readonly conflicts: Map<string, Conflict>
  readonly rogue: Map<string, string>
}

const SNAPSHOT_VERSION = 1

interface Json {
  v: number
  round: number
  registry: ReturnType<OpRegistry['toJSON']>
  items: [string, ItemVersion[]][]
  batches: [string, BatchState][]
  cells: [string, [string, number][]][]
  transfers: [string, TransferRecord][]
  prescriptions: [string, PrescriptionState][]
  /** settled units per prescription line (absent in snapshots written before issue 15: none counted) */
  dispensed?: [string, number][]
  chains: [string, { seq: number; hash: string | null; rejected: string[]; pending: [number, Entry[]][] }][]
  waits: Entry[]
  staged: EngineState['staged']
  conflicts: Conflict[]
  rogue: [string, string][]
}

export function encodeEngineState(s: EngineState): Uint8Array {
  const book = s.ctx.book
  const json: Json = {
    v: SNAPSHOT_VERSION,
    round: s.round,
    registry: s.registry.toJSON(),
    items: [...book.items],
    batches: [...book.batches].map(([id, { item, expiry, unitCost, supplier }]) => [
      id,
      { item, expiry, unitCost, supplier },
    ]),
    cells: [...book.cells].map(([site, m]) => [
      site,
      [...m].map(([batch, c]) => [batch, c.qty] as [string, number]),
    ]),
    transfers: [...s.ctx.transfers],
    prescriptions: [...s.ctx.prescriptions],
    dispensed: [...s.ctx.dispensed],
    chains: [...s.chains].map(([d, c]) => [
      d,
      { seq: c.seq, hash: c.hash, rejected: [...c.rejected], pending: [...c.pending] },
    ]),
    waits: s.waits,
    staged: s.staged,
    conflicts: [...s.conflicts.values()],
    rogue: [...s.rogue],
  }
  return new TextEncoder().encode(JSON.stringify(json))
}

export function decodeEngineState(bytes: Uint8Array): EngineState {
  let json: Json
  try {
    json = JSON.parse(new TextDecoder().decode(bytes)) as Json
  } catch (err) {
    throw new SnapshotError('snapshot is not JSON', { cause: err })
  }
  if (json.v !== SNAPSHOT_VERSION) throw new SnapshotError(`unsupported snapshot version ${String(json.v)}`)
  const book = new StockBook()
  for (const [id, versions] of json.items) book.items.set(id, versions)
  for (const [id, info] of json.batches) book.addBatch(id as BatchId, info)
  for (const [site, lots] of json.cells) {
    for (const [batch, qty] of lots) {
      const info = book.batches.get(batch)
      if (!info) throw new SnapshotError(`snapshot holds stock of unknown batch ${batch}`)
      book.ensureCell(site, batch, info).qty = qty
    }
  }
  const chains = new Map<string, Chain>()
  for (const [d, c] of json.chains)
    chains.set(d, { seq: c.seq, hash: c.hash, rejected: new Set(c.rejected), pending: new Map(c.pending) })
  return {
    round: json.round,
    registry: OpRegistry.fromJSON(json.registry),
    ctx: {
      book,
      transfers: new Map(json.transfers),
      prescriptions: new Map(json.prescriptions),
      dispensed: new Map(json.dispensed ?? []),
      options: { prescriptionLookup: null, isAuthority: () => false, distrust: null }, // replaced by the engine's options
    },
    chains,
    waits: json.waits,
    staged: json.staged,
    conflicts: new Map(json.conflicts.map((c) => [c.id, c])),
    rogue: new Map(json.rogue),
  }
}
