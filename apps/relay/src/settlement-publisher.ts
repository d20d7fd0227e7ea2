import type { AutomergeUrl, DocHandle, Repo } from '@automerge/automerge-repo'
import { isValidAutomergeUrl, parseAutomergeUrl } from '@automerge/automerge-repo'
import type { ConflictQueueDoc, RelaySignature, SettledInventoryDoc } from '@clinic-mesh/contracts'
import type { RelayDocExpect, SettlementRound } from '@clinic-mesh/ledger'
import {
  signConflictQueue,
  signSettledInventory,
  verifyConflictQueue,
  verifySettledInventory,
} from '@clinic-mesh/ledger'
import type { AccessMap } from './access-map.js'
import type { ClinicSettlement } from './clinic-settlement.js'
import { findDoc } from './find-doc.js'
import { nativeSign, nativeVerify } from './native-ed25519.js'
import type { RelayKey } from './relay-key.js'
import type { RelayState } from './relay-state.js'
import { DraftDoc, LiveDoc, draftSource, scalar, textOf, type DocWriter } from './published-doc.js'

/** What the publisher needs of the relay's state: whether its documents are written fenced, with the checkpoint. */
export type PublishState = Pick<RelayState, 'fencedDocuments' | 'markFenced' | 'loadChunks'>

/**
 * Writes a clinic's SettledInventoryDoc and ConflictQueueDoc (only the relay writes them) after each round, each
 * publish signed with the relay key under a version one higher than the last (ledger `relay-signed.ts`), in the same
 * Automerge change as the content. The documents are created the first time the relay sees the clinic; their URLs
 * live in the checkpoint and in the directory's `settlement` field. The relay's /sync refuses any peer's change to
 * them (sync-policy.ts), so its own copies hold only what it wrote. Over a shared database they are written only in
 * the settler's fenced checkpoint transaction (published-doc.ts DraftDoc).
 */
export class SettlementPublisher {
  readonly inventory: DocHandle<SettledInventoryDoc>
  readonly conflicts: DocHandle<ConflictQueueDoc>
  readonly #settlement: ClinicSettlement
  readonly #key: RelayKey
  readonly #inv: DocWriter<SettledInventoryDoc>
  readonly #queue: DocWriter<ConflictQueueDoc>

  private constructor(
    s: ClinicSettlement,
    key: RelayKey,
    handles: { inventory: DocHandle<SettledInventoryDoc>; conflicts: DocHandle<ConflictQueueDoc> },
    writers: { inventory: DocWriter<SettledInventoryDoc>; conflicts: DocWriter<ConflictQueueDoc> },
  ) {
    this.#settlement = s
    this.#key = key
    this.inventory = handles.inventory
    this.conflicts = handles.conflicts
    this.#inv = writers.inventory
    this.#queue = writers.conflicts
  }

  /**
   * On an instance that does not settle the clinic: map its published documents (as its checkpoint names them) to
   * the clinic, relay-only and fenced, so this instance serves them to devices and never writes them.
   */
  static follow(s: ClinicSettlement, access: AccessMap, state: PublishState): void {
    for (const url of [s.meta.settlement.inventory, s.meta.settlement.conflicts]) {
      if (!url || !isValidAutomergeUrl(url)) continue
      const id = parseAutomergeUrl(url).documentId
      access.addDoc(id, s.clinic)
      access.markRelayOnly(id)
      state.markFenced(id)
    }
  }

  static async open(
    repo: Repo,
    s: ClinicSettlement,
    access: AccessMap,
    key: RelayKey,
    signal: AbortSignal,
    state: PublishState,
  ): Promise<SettlementPublisher> {
    const clinic = s.clinic
    const known = s.meta.settlement
    // a document the checkpoint names is opened whatever the time its load takes (a slow disk or database must not
    // make a second one that devices never hear of); only one storage does not hold (a crash before its first
    // write) is made anew. Each document's chunks are read once (a takeover under load: every query counts) and
    // make its draft below.
    const [invChunks, queueChunks] = await Promise.all([
      storedChunks(state, known.inventory),
      storedChunks(state, known.conflicts),
    ])
    // not open here yet (a cold open, a takeover): the document is made from the chunks just read, not read again
    const [inv, queue] = await Promise.all([
      fromStorage<SettledInventoryDoc>(repo, state, known.inventory, invChunks, signal),
      fromStorage<ConflictQueueDoc>(repo, state, known.conflicts, queueChunks, signal),
    ])
    const inventory =
      inv?.handle ??
      repo.create<SettledInventoryDoc>({
        kind: 'settled-inventory/1',
        clinic,
        settledAt: new Date(0).toISOString(),
        decidedOps: 0,
        watermarks: {},
        state: scalar(JSON.stringify(s.engine.inventory())),
      })
    const conflicts =
      queue?.handle ?? repo.create<ConflictQueueDoc>({ kind: 'conflict-queue/1', clinic, conflicts: {} })
    access.addDoc(inventory.documentId, clinic)
    access.addDoc(conflicts.documentId, clinic)
    access.markRelayOnly(inventory.documentId)
    access.markRelayOnly(conflicts.documentId)
    state.markFenced(inventory.documentId)
    state.markFenced(conflicts.documentId)
    let writers: { inventory: DocWriter<SettledInventoryDoc>; conflicts: DocWriter<ConflictQueueDoc> }
    if (state.fencedDocuments) {
      const drafts = {
        inventory: new DraftDoc(inventory, invChunks, inv?.fresh ?? false),
        conflicts: new DraftDoc(conflicts, queueChunks, queue?.fresh ?? false),
      }
      s.publishVia(draftSource([drafts.inventory, drafts.conflicts] as DraftDoc<unknown>[]))
      writers = drafts
    } else writers = { inventory: new LiveDoc(inventory), conflicts: new LiveDoc(conflicts) }
    const pub = new SettlementPublisher(s, key, { inventory, conflicts }, writers)
    if (known.inventory !== inventory.url || known.conflicts !== conflicts.url) {
      s.meta.settlement = { inventory: inventory.url, conflicts: conflicts.url }
      if (!state.fencedDocuments) await repo.flush([inventory.documentId, conflicts.documentId])
      await s.requestSave()
    }
    pub.publish(null)
    s.onRound((round) => pub.publish(round))
    // over a shared database: the first fenced write, which also checks the lease at once
    if (state.fencedDocuments) await s.requestSave()
    return pub
  }

  /** What its own documents' signatures are checked against (node:crypto: the same check, less CPU). */
  #expect(): RelayDocExpect {
    return { relayKey: this.#key.publicKey, clinic: this.#settlement.clinic, verify: nativeVerify }
  }

  /** Bring both documents up to date; `round` null compares every conflict (startup). */
  publish(round: SettlementRound | null): void {
    const s = this.#settlement
    const wm = s.watermarks()
    const state = JSON.stringify(s.engine.inventory())
    const settledAt = s.meta.lastSettledAt ?? new Date(0).toISOString()
    const inv = this.#inv.doc()
    const same =
      textOf(inv.state) === state &&
      inv.decidedOps === s.meta.decidedOps &&
      inv.settledAt === settledAt &&
      JSON.stringify(inv.watermarks) === JSON.stringify(wm)
    // at startup a document written before relays signed (or under another key) is signed again
    if (!same || (round === null && !verifySettledInventory(plain(inv), this.#expect()).ok)) {
      const version = (inv.relaySignature?.version ?? 0) + 1
      const watermarks = { ...plain(inv.watermarks), ...wm }
      const relaySignature = signSettledInventory(
        {
          kind: 'settled-inventory/1',
          clinic: s.clinic,
          settledAt,
          decidedOps: s.meta.decidedOps,
          watermarks,
          state,
        },
        version,
        this.#key.secretKey,
        nativeSign,
      )
      this.#inv.change((d) => {
        if (d.clinic !== s.clinic) d.clinic = s.clinic
        // assigned anew every round, never edited in place: a forged assignment of these fields on a device (a
        // stolen tablet's, withheld from the relay) is concurrent with the relay's and must lose the merge to the
        // next round's assignment; text edited in place would leave the forgery the winner of its key for good, and
        // the device rejecting every later settlement (test/relay-authority.test.ts (b))
        d.settledAt = settledAt
        d.decidedOps = s.meta.decidedOps
        d.state = scalar(state)
        for (const [device, w] of Object.entries(wm)) if (d.watermarks[device] !== w) d.watermarks[device] = w
        d.relaySignature = sealed(relaySignature)
      })
    }
    const ids = round
      ? new Set([
          ...round.conflicts.map((c) => c.id),
          ...round.resolved,
          ...round.refused.map((r) => r.conflict),
        ])
      : new Set(s.engine.conflicts().map((c) => c.id))
    const queue = this.#queue.doc()
    const current = queue.conflicts
    const writes: [string, string][] = []
    for (const id of ids) {
      const c = s.engine.conflict(id)
      if (!c) continue
      const json = JSON.stringify(c)
      if (textOf(current[id]) !== json) writes.push([id, json])
    }
    if (writes.length > 0 || (round === null && !verifyConflictQueue(plain(queue), this.#expect()).ok)) {
      const version = (queue.relaySignature?.version ?? 0) + 1
      const conflicts = { ...plain(current), ...Object.fromEntries(writes) }
      const relaySignature = signConflictQueue(
        { kind: 'conflict-queue/1', clinic: s.clinic, conflicts },
        version,
        this.#key.secretKey,
        nativeSign,
      )
      this.#queue.change((d) => {
        if (d.clinic !== s.clinic) d.clinic = s.clinic
        for (const [id, json] of writes) d.conflicts[id] = scalar(json)
        d.relaySignature = sealed(relaySignature)
      })
    }
  }
}

/** A relay signature as written: its hex strings as scalars (two hundred text ops a round before). */
function sealed(sig: RelaySignature): RelaySignature {
  return { version: sig.version, key: scalar(sig.key), signature: scalar(sig.signature) }
}

/** A plain JSON copy of (part of) an Automerge document. */
function plain<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T
}

/**
 * The repo's handle on a published document storage holds (`chunks`; none: null). Not open here yet: made from the
 * chunks (`fresh`: the handle holds exactly them; its repo never writes it, it is fenced first). Open already (a
 * follower served it): as the repo has it, perhaps older than storage.
 */
async function fromStorage<T>(
  repo: Repo,
  state: PublishState,
  url: string | undefined,
  chunks: readonly Uint8Array[],
  signal: AbortSignal,
): Promise<{ handle: DocHandle<T>; fresh: boolean } | null> {
  if (chunks.length === 0 || !url) return null
  const id = parseAutomergeUrl(url as AutomergeUrl).documentId
  if (repo.handles[id]) return { handle: await findDoc<T>(repo, url as AutomergeUrl, signal), fresh: false }
  state.markFenced(id)
  return { handle: repo.import<T>(concat(chunks), { docId: id }), fresh: true }
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0))
  let at = 0
  for (const c of chunks) {
    out.set(c, at)
    at += c.length
  }
  return out
}

/** The chunks storage holds of the document at `url` (none: not a valid automerge URL, or never written). */
async function storedChunks(state: PublishState, url: string | undefined): Promise<Uint8Array[]> {
  if (!url || !isValidAutomergeUrl(url)) return []
  return state.loadChunks(parseAutomergeUrl(url).documentId, true)
}
