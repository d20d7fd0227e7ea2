import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
import type { DocHandle, DocumentId, PeerId, Repo } from '@automerge/automerge-repo'

/**
 * A repo synchronizer that asks the share policy only about the peers that may be shared a document, instead of
 * every connected peer.
 *
 * automerge-repo 2.5.6's `CollectionSynchronizer` asks the share policy about every connected peer for every sync
 * message it receives (`#documentGenerousPeers`, one awaited `#shouldShare` after another), about every open document
 * when a peer connects (`addPeer`), and ends the sync of every open document when one disconnects (`removePeer`). A
 * relay instance holds thousands of documents and thousands of peers, and each document belongs to one clinic, whose
 * three or so devices are the only peers it may go to. Measured (bench P12, 1,000 clinics on 3 instances, the 140 s
 * after one was SIGKILLed): the survivors spent ~25 % of their CPU there (`#shouldShare` 14 %, the policy's map lookups
 * 6 %, `addPeer` 4 %), and 25-30 % in steady state; their event loops fell a minute behind.
 *
 * `scope` answers, from the relay's access map, which connected peers could be allowed a document and which
 * documents a peer could be allowed. Its contract: the share policy never shares a document with a peer outside
 * `peersFor(doc)`, nor a peer a document outside `docsFor(peer)` (the relay never announces, and a peer syncs only
 * its own clinic's documents: `AccessMap.allows`). Within those candidates the repo's own policy decides, exactly as
 * the stock class does (announce, or access and asked). The repo's `denylist` is not carried over (the relay has
 * none). Everything else is the stock class's behaviour, method by method; the peers a document synchronizer holds
 * are known from its `open-doc` events, so a disconnect ends only those syncs.
 *
 * Pinned to automerge-repo 2.5.6 (`scoped-synchronizer.test.ts`; the other hooks live in `@clinic-mesh/store`'s
 * pinned/): the stock class's method names, `DocSynchronizer`'s file and the repo's `synchronizer` field are checked;
 * if one is missing, `installScopedSynchronizer` leaves the stock synchronizer.
 */
export interface SyncScope {
  /** peers (connected or not) that could be shared `doc` */
  peersFor(doc: DocumentId): Iterable<PeerId>
  /** documents (open or not) that `peer` could be shared */
  docsFor(peer: PeerId): Iterable<DocumentId>
}

type Message = { type: string; senderId: PeerId; documentId?: DocumentId; [k: string]: unknown }

interface DocSync {
  documentId: DocumentId
  hasPeer(peer: PeerId): boolean
  beginSync(peers: PeerId[]): Promise<void>
  endSync(peer: PeerId): void
  receiveMessage(message: Message): void
  on(event: string, fn: (e: never) => void): void
}
type DocSyncClass = new (o: {
  handle: DocHandle<unknown>
  peerId: PeerId
  onLoadSyncState: (peer: PeerId) => Promise<unknown>
}) => DocSync

interface Emitter {
  on(event: string, fn: (...a: never[]) => void): void
  emit(event: string, ...a: unknown[]): boolean
  eventNames(): (string | symbol)[]
  listeners(event: string | symbol): ((...a: never[]) => void)[]
  removeAllListeners(): void
}

interface StockSynchronizer extends Emitter {
  docSynchronizers: Record<DocumentId, DocSync>
}

type RepoInternals = Omit<Repo, 'synchronizer'> & {
  synchronizer: StockSynchronizer
  storageSubsystem?: { loadSyncState(doc: DocumentId, storage: string): Promise<unknown> }
  peerMetadataByPeerId: Record<string, { storageId?: string; isEphemeral?: boolean }>
}

/** What the stock collection synchronizer has (own methods of its prototype): all replaced below. */
export const STOCK_SYNCHRONIZER_METHODS = [
  'constructor',
  'receiveMessage',
  'addDocument',
  'removeDocument',
  'addPeer',
  'removePeer',
  'peers',
  'reevaluateDocumentShare',
  'metrics',
] as const

/** automerge-repo's DocSynchronizer (not exported: its file, next to the entry point; null when it is not there). */
async function loadDocSynchronizer(): Promise<DocSyncClass | null> {
  try {
    const entry = pathToFileURL(createRequire(import.meta.url).resolve('@automerge/automerge-repo'))
    const mod = (await import(new URL('../synchronizer/DocSynchronizer.js', entry).href)) as {
      DocSynchronizer?: DocSyncClass
    }
    return typeof mod.DocSynchronizer === 'function' ? mod.DocSynchronizer : null
  } catch {
    return null
  }
}
const DocSynchronizer = await loadDocSynchronizer()

/** The internals this relies on, as found for `repo` (see `pinned-hooks.test.ts`). */
export function scopedSynchronizerInternals(repo: Repo): Record<string, boolean> {
  const stock = (repo as unknown as RepoInternals).synchronizer as unknown as {
    constructor: { prototype: object }
  }
  const methods = Object.getOwnPropertyNames(stock.constructor.prototype).sort()
  return {
    'repo.synchronizer': typeof stock === 'object' && stock !== null,
    'the stock synchronizer has exactly the methods replaced':
      JSON.stringify(methods) === JSON.stringify([...STOCK_SYNCHRONIZER_METHODS].sort()),
    'DocSynchronizer next to the entry point': DocSynchronizer !== null,
  }
}

/**
 * Replaces `repo`'s synchronizer with one scoped by `scope`, before any peer connects and any document is opened
 * (right after `new Repo`). Returns false, leaving the stock one, when an internal it relies on is missing.
 */
export function installScopedSynchronizer(repo: Repo, scope: SyncScope): boolean {
  const r = repo as unknown as RepoInternals
  const stock = r.synchronizer
  if (!DocSynchronizer || Object.values(scopedSynchronizerInternals(repo)).includes(false)) return false
  if (
    (stock as unknown as { peers: PeerId[] }).peers.length > 0 ||
    Object.keys(stock.docSynchronizers).length > 0
  )
    throw new Error('installScopedSynchronizer: the repo already has peers or documents')
  const scoped = makeScoped(stock, r, scope, DocSynchronizer)
  for (const event of stock.eventNames())
    for (const fn of stock.listeners(event)) scoped.on(event as string, fn)
  stock.removeAllListeners()
  r.synchronizer = scoped
  return true
}

function makeScoped(
  stock: StockSynchronizer,
  repo: RepoInternals,
  scope: SyncScope,
  DocSynchronizer: DocSyncClass,
): StockSynchronizer {
  // a subclass of the stock class (instanceof holds), every method replaced; the stock fields go unused
  const Stock = stock.constructor as new (repo: Repo) => StockSynchronizer
  class ScopedSynchronizer extends Stock {
    readonly #peers = new Set<PeerId>()
    readonly #docSetUp = new Set<DocumentId>()
    /** who asked for what (a request or sync message): the policy shares an allowed document only with its askers */
    readonly #asked = new Map<DocumentId, Set<PeerId>>()
    readonly #askedBy = new Map<PeerId, Set<DocumentId>>()
    /** the peers each document synchronizer took on (its `open-doc` events), both ways */
    readonly #docPeers = new Map<DocumentId, Set<PeerId>>()
    readonly #peerDocs = new Map<PeerId, Set<DocumentId>>()

    #fetch(handle: DocHandle<unknown>): DocSync {
      const id = handle.documentId
      let sync = this.docSynchronizers[id]
      if (sync) return sync
      sync = new DocSynchronizer({
        handle,
        peerId: repo.networkSubsystem.peerId,
        onLoadSyncState: async (peer) => {
          if (!repo.storageSubsystem) return
          const { storageId, isEphemeral } = repo.peerMetadataByPeerId[peer] ?? {}
          if (!storageId || isEphemeral) return
          return repo.storageSubsystem.loadSyncState(id, storageId)
        },
      })
      sync.on('message', (e) => this.emit('message', e))
      sync.on('open-doc', (e: { documentId: DocumentId; peerId: PeerId }) => {
        add(this.#docPeers, e.documentId, e.peerId)
        add(this.#peerDocs, e.peerId, e.documentId)
        this.emit('open-doc', e)
      })
      sync.on('sync-state', (e) => this.emit('sync-state', e))
      sync.on('metrics', (e) => this.emit('metrics', e))
      this.docSynchronizers[id] = sync
      return sync
    }

    async #shouldShare(peer: PeerId, doc: DocumentId): Promise<boolean> {
      const [announce, access] = await Promise.all([
        repo.shareConfig.announce(peer, doc),
        repo.shareConfig.access(peer, doc),
      ])
      return announce || (access && (this.#asked.get(doc)?.has(peer) ?? false))
    }

    /** the connected peers among `doc`'s candidates the policy shares it with */
    async #generousPeers(doc: DocumentId): Promise<PeerId[]> {
      const out: PeerId[] = []
      for (const peer of new Set(scope.peersFor(doc)))
        if (this.#peers.has(peer) && (await this.#shouldShare(peer, doc))) out.push(peer)
      return out
    }

    async receiveMessage(message: Message): Promise<void> {
      const doc = message.documentId
      if (!doc) throw new Error('received a message with an invalid documentId')
      if (message.type === 'request' || message.type === 'sync') {
        add(this.#asked, doc, message.senderId)
        add(this.#askedBy, message.senderId, doc)
      }
      if (!(await repo.shareConfig.access(message.senderId, doc))) {
        this.emit('message', { type: 'doc-unavailable', documentId: doc, targetId: message.senderId })
        return
      }
      this.#docSetUp.add(doc)
      const handle = await repo.find(doc, { allowableStates: ['ready', 'unavailable', 'requesting'] })
      const sync = this.#fetch(handle)
      sync.receiveMessage(message)
      const peers = await this.#generousPeers(doc)
      void sync.beginSync(peers.filter((p) => !sync.hasPeer(p)))
    }

    addDocument(handle: DocHandle<unknown>): void {
      if (this.#docSetUp.has(handle.documentId)) return
      this.#docSetUp.add(handle.documentId)
      const sync = this.#fetch(handle)
      void this.#generousPeers(handle.documentId).then((peers) => sync.beginSync(peers))
    }

    removeDocument(doc: DocumentId): void {
      const sync = this.docSynchronizers[doc]
      if (sync) for (const peer of this.#docPeers.get(doc) ?? []) sync.endSync(peer)
      for (const peer of this.#docPeers.get(doc) ?? []) this.#peerDocs.get(peer)?.delete(doc)
      this.#docPeers.delete(doc)
      delete this.docSynchronizers[doc]
      this.#docSetUp.delete(doc)
    }

    addPeer(peer: PeerId): void {
      if (this.#peers.has(peer)) return
      this.#peers.add(peer)
      for (const doc of new Set(scope.docsFor(peer))) {
        const sync = this.docSynchronizers[doc]
        if (sync)
          void this.#shouldShare(peer, doc).then((ok) => {
            if (ok) void sync.beginSync([peer])
          })
      }
    }

    removePeer(peer: PeerId): void {
      this.#peers.delete(peer)
      for (const doc of this.#askedBy.get(peer) ?? []) this.#asked.get(doc)?.delete(peer)
      this.#askedBy.delete(peer)
      for (const doc of this.#peerDocs.get(peer) ?? []) {
        this.docSynchronizers[doc]?.endSync(peer)
        this.#docPeers.get(doc)?.delete(peer)
      }
      this.#peerDocs.delete(peer)
    }

    get peers(): PeerId[] {
      return [...this.#peers]
    }

    /** As the stock class: every open document with every connected peer (the relay re-evaluates per clinic). */
    async reevaluateDocumentShare(): Promise<void> {
      const peers = [...this.#peers]
      await Promise.allSettled(
        Object.values(this.docSynchronizers).map(async (sync) => {
          for (const peer of peers) {
            const share = await this.#shouldShare(peer, sync.documentId)
            if (share && !sync.hasPeer(peer)) void sync.beginSync([peer])
            else if (!share && sync.hasPeer(peer)) sync.endSync(peer)
          }
        }),
      )
    }
  }
  return new ScopedSynchronizer(repo as unknown as Repo)
}

function add<K, V>(m: Map<K, Set<V>>, k: K, v: V): void {
  let s = m.get(k)
  if (!s) m.set(k, (s = new Set()))
  s.add(v)
}
