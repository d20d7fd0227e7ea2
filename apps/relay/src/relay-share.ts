import type { DocumentId, PeerId, Repo, RepoConfig } from '@automerge/automerge-repo'
import type { AccessMap } from './access-map.js'
import type { Logger } from './logger.js'
import { WaitingAsks } from './waiting-asks.js'

type ShareConfig = NonNullable<RepoConfig['shareConfig']>

/**
 * The relay repo's share policy: a sync server never announces; a peer gets only documents of its own clinic that it
 * asks for (AccessMap). A mapping added later re-evaluates sharing (batched), and a document a device asked for
 * before it was mapped is opened once it is mapped to that device's clinic (WaitingAsks), so the device receives it.
 */
export class RelayShare {
  readonly config: ShareConfig
  readonly #access: AccessMap
  readonly #log: Logger
  readonly #waiting = new WaitingAsks()
  #repo: Repo | null = null
  #timer: NodeJS.Timeout | null = null

  constructor(access: AccessMap, log: Logger) {
    this.#access = access
    this.#log = log
    this.config = {
      announce: () => Promise.resolve(false),
      access: (peer, doc) => Promise.resolve(this.#allows(peer, doc)),
    }
    access.onChange(() => this.#changed())
    access.onDocAdded((doc, clinic) => this.#mapped(doc, clinic))
  }

  /** The repo this policy is the share config of (made after it). */
  attach(repo: Repo): void {
    this.#repo = repo
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = null
  }

  #allows(peer: PeerId, doc: DocumentId): boolean {
    const access = this.#access
    const ok = access.allows(peer, doc)
    // asked for a document nobody's yet (e.g. the settled inventory before this instance read the checkpoint)
    if (!ok && access.clinicOfDoc(doc) === undefined && access.clinicOfPeer(peer) !== undefined)
      this.#waiting.note(peer, doc)
    return ok
  }

  /**
   * `doc` was mapped to `clinic`: if a connected device of that clinic asked for it before, open it. The repo's new
   * synchronizer sends it to every peer that asked and may have it (now from storage, or once another instance
   * stores it: DocRefresher). automerge-repo offers a refused document again only through a synchronizer, which
   * exists only for documents the repo opened: without this the device would wait forever.
   */
  #mapped(doc: DocumentId, clinic: string): void {
    const repo = this.#repo
    const asked = this.#waiting.take(doc)
    if (!repo || asked.length === 0 || repo.handles[doc]) return
    const connected = new Set(repo.peers)
    if (!asked.some((p) => connected.has(p) && this.#access.clinicOfPeer(p) === clinic)) return
    this.#log('asked-doc-opened', { clinic, doc })
    void repo.find(doc, { allowableStates: ['ready', 'unavailable', 'requesting'] }).catch(() => {})
  }

  #changed(): void {
    if (this.#timer) return
    this.#timer = setTimeout(() => {
      this.#timer = null
      this.#repo?.shareConfigChanged()
    }, 10)
  }
}
