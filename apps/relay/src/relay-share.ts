import type { DocumentId, PeerId, Repo, RepoConfig } from '@automerge/automerge-repo'
import type { AccessMap } from './access-map.js'
import { AskedDocs } from './asked-docs.js'
import type { Logger } from './logger.js'

type ShareConfig = NonNullable<RepoConfig['shareConfig']>

/**
 * The relay repo's share policy: a sync server never announces; a peer gets only documents of its own clinic that it
 * asks for (AccessMap). A mapping added later re-evaluates sharing of that clinic's documents only (batched), and a
 * document a device asked for before it was mapped is opened once it is mapped to that device's clinic, so the device
 * receives it.
 *
 * Why not the repo's `shareConfigChanged()`: it re-evaluates every document with every connected peer. At 150 clinics
 * on one instance (bench P12, ~1,500 documents × 450 peers per change, a change per registration) that was a third of
 * the instance's CPU and made each registration slower than the one before (50 clinics set up in 25 s, the third 50
 * in 181 s). Access here is per clinic, so a change can only alter what that clinic's askers may sync.
 */
export class RelayShare {
  readonly config: ShareConfig
  readonly #access: AccessMap
  readonly #log: Logger
  readonly #asked = new AskedDocs()
  /** clinics whose access changed since the last re-evaluation, with the peers whose standing changed */
  readonly #pending = new Map<string, Set<PeerId>>()
  #repo: Repo | null = null
  #timer: NodeJS.Timeout | null = null
  #waiters: (() => void)[] = []
  #onAsk: ((doc: DocumentId) => void) | null = null

  constructor(access: AccessMap, log: Logger) {
    this.#access = access
    this.#log = log
    this.config = {
      announce: () => Promise.resolve(false),
      access: (peer, doc) => Promise.resolve(access.allows(peer, doc)),
    }
    access.onChange((clinic, peer) => this.#changed(clinic, peer))
    access.onDocAdded((doc, clinic) => this.#mapped(doc, clinic))
  }

  /** The repo this policy is the share config of (made after it): what its peers ask for is recorded here. */
  attach(repo: Repo): void {
    this.#repo = repo
    const net = repo.networkSubsystem
    net.on('message', (m) => {
      if ((m.type === 'request' || m.type === 'sync') && m.documentId) {
        this.#asked.note(m.senderId, m.documentId)
        this.#onAsk?.(m.documentId)
      }
    })
    net.on('peer-disconnected', ({ peerId }) => this.#asked.forget(peerId))
  }

  /** Call `fn` with every document a peer asks for (a request or sync message), before the repo opens it. */
  onAsk(fn: (doc: DocumentId) => void): void {
    this.#onAsk = fn
  }

  /** Whether a connected peer asked for `doc`. */
  asked(doc: DocumentId): boolean {
    return this.#asked.askers(doc).size > 0
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = null
    this.#settle()
  }

  /** Resolves once no re-evaluation is pending (at once if none is). */
  idle(): Promise<void> {
    if (this.#timer === null) return Promise.resolve()
    return new Promise((resolve) => this.#waiters.push(resolve))
  }

  #settle(): void {
    for (const w of this.#waiters.splice(0)) w()
  }

  /**
   * `doc` was mapped to `clinic`: if a connected device of that clinic asked for it before, open it. The repo's new
   * synchronizer sends it to every peer that asked and may have it (now from storage, or once another instance
   * stores it: DocRefresher). automerge-repo offers a refused document again only through a synchronizer, which
   * exists only for documents the repo opened: without this the device would wait forever.
   */
  #mapped(doc: DocumentId, clinic: string): void {
    const repo = this.#repo
    if (!repo || repo.handles[doc]) return
    const asked = this.#asked.askers(doc)
    if (asked.size === 0) return
    const connected = new Set(repo.peers)
    if (![...asked].some((p) => connected.has(p) && this.#access.clinicOfPeer(p) === clinic)) return
    this.#log('asked-doc-opened', { clinic, doc })
    void repo.find(doc, { allowableStates: ['ready', 'unavailable', 'requesting'] }).catch(() => {})
  }

  #changed(clinic: string, peer?: PeerId): void {
    let peers = this.#pending.get(clinic)
    if (!peers) this.#pending.set(clinic, (peers = new Set()))
    if (peer !== undefined) peers.add(peer)
    this.#timer ??= setTimeout(() => this.#reevaluate(), 10)
  }

  /**
   * What the repo's own re-evaluation decides (share = the policy allows it and the peer asked for it; a relay never
   * announces), for the changed clinics' open documents and the peers that asked for them or whose standing changed:
   * a peer now allowed starts syncing, one no longer allowed (revoked, mapped elsewhere) stops.
   */
  #reevaluate(): void {
    this.#timer = null
    const repo = this.#repo
    const pending = [...this.#pending]
    this.#pending.clear()
    try {
      if (repo) this.#reevaluateClinics(repo, pending)
    } finally {
      this.#settle()
    }
  }

  #reevaluateClinics(repo: Repo, pending: [string, Set<PeerId>][]): void {
    const connected = new Set(repo.peers)
    const synchronizers = repo.synchronizer.docSynchronizers
    for (const [clinic, changed] of pending) {
      for (const doc of this.#access.docsOf(clinic)) {
        const sync = synchronizers[doc]
        if (!sync) continue
        const asked = this.#asked.askers(doc)
        for (const peer of new Set([...asked, ...changed])) {
          const syncing = sync.hasPeer(peer)
          const allowed = this.#access.allows(peer, doc)
          if (allowed && !syncing && asked.has(peer) && connected.has(peer)) void sync.beginSync([peer])
          else if (!allowed && syncing) sync.endSync(peer)
        }
      }
    }
  }
}
