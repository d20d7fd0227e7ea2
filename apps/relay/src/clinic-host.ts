import type { AutomergeUrl, DocumentId, PeerId, Repo } from '@automerge/automerge-repo'
import { isValidAutomergeUrl, parseAutomergeUrl } from '@automerge/automerge-repo'
import type { AccessMap } from './access-map.js'
import type { ClinicRegistry } from './clinic-registry.js'
import { ClinicSettlement } from './clinic-settlement.js'
import { ClinicWatcher, type SettledAtOpen } from './clinic-watcher.js'
import { allIngested } from './dormant-logs.js'
import type { Logger } from './logger.js'
import type { RelayKey } from './relay-key.js'
import type { Fence, Prefetch, RelayState } from './relay-state.js'
import type { CheckpointMeta } from './settlement-store.js'

export interface ClinicHostInit {
  readonly repo: Repo
  readonly access: AccessMap
  readonly state: RelayState
  readonly registry: ClinicRegistry
  readonly log: Logger
  readonly key: RelayKey
  readonly debounceMs: number
  readonly adminKeys: (clinic: string) => readonly string[]
  /** Whether a device connected here asked for a document (it is then opened, never left dormant). */
  readonly asked?: (id: DocumentId) => boolean
}

/** A follower shows a clinic's settlement as of the settler's last checkpoint, read again at most this often. */
const FOLLOWER_REFRESH_MS = 1000
/** After losing a clinic (lease taken, or its publisher failed to open) this instance does not take it again for so long. */
const TAKEOVER_BACKOFF_MS = 3000

const errName = (err: unknown): string => (err instanceof Error ? err.name : 'unknown')

/**
 * The clinics this relay instance serves, each as a ClinicWatcher in one of two roles: settler (it holds the clinic's
 * lease: ingests, settles, writes checkpoints and publishes) or follower (another instance settles: it maps the
 * clinic's documents for access and shows the last checkpoint). Changes of role (taking over an orphaned clinic,
 * losing a lease) close the watcher and open a new one from the checkpoint in storage; they run one at a time per
 * clinic.
 */
export class ClinicHost {
  readonly #init: ClinicHostInit
  readonly #watchers = new Map<string, ClinicWatcher>()
  readonly #chains = new Map<string, Promise<ClinicWatcher | undefined>>()
  readonly #followerRefresh = new Map<string, NodeJS.Timeout>()
  #stopped = false
  readonly #lastActive = new Map<string, number>()
  #idleTimer: NodeJS.Timeout | undefined
  /** clinics with a takeover queued (the lease scan offers an orphan every beat: one attempt at a time) */
  readonly #takingOver = new Set<string>()
  /** clinics lost or failed here, and until when (performance.now()) they are left to the others */
  readonly #backoff = new Map<string, number>()

  constructor(init: ClinicHostInit) {
    this.#init = init
  }

  watchers(): ClinicWatcher[] {
    return [...this.#watchers.values()]
  }

  watcher(clinic: string): ClinicWatcher | undefined {
    return this.#watchers.get(clinic)
  }

  /** Open a clinic once (settler if its lease is free); wait up to `waitMs` for its directory to load. */
  async open(clinic: string, directoryUrl: string, waitMs: number): Promise<ClinicWatcher> {
    const w = await this.#serial(clinic, async (cur) => {
      if (cur) return cur
      const fence = await this.#init.state.ownership.acquire(clinic)
      return this.#start(clinic, directoryUrl, waitMs, fence)
    })
    if (!w) throw new Error(`clinic ${clinic} could not be opened`)
    return w
  }

  /** Open a clinic only as its settler, if its lease is free (an instance starting among others); true if opened. */
  async claim(clinic: string, directoryUrl: string, waitMs: number): Promise<boolean> {
    const w = await this.#serial(clinic, async (cur) => {
      if (cur || this.#stopped) return cur
      const fence = await this.#init.state.ownership.acquire(clinic)
      return fence ? this.#start(clinic, directoryUrl, waitMs, fence) : undefined
    })
    return w !== undefined
  }

  /**
   * Another instance registered a clinic or a device: map its peers (a device of it may connect here). The clinic is
   * opened here only when a device of it connects or registers here, or someone asks for it (Relay).
   */
  async registered(clinic: string): Promise<void> {
    const entry = await this.#init.registry.refresh(clinic)
    if (!entry) return
    for (const peer of entry.peers) this.#init.access.addPeer(peer as PeerId, clinic)
  }

  /** Every registry entry again (notifications may have been missed): map every clinic's peers. */
  async registeredAll(): Promise<void> {
    const all = await this.#init.registry.refreshAll()
    for (const entry of all)
      for (const peer of entry.peers) this.#init.access.addPeer(peer as PeerId, entry.clinic)
  }

  /**
   * The clinic's settler is gone: take the clinic if its lease is still free when we ask. One attempt queued per
   * clinic (an open slower than a lease beat must not queue a takeover per beat), none for a while after this
   * instance lost the clinic or failed to open it (never a takeover loop).
   */
  takeOver(clinic: string): void {
    if (this.#takingOver.has(clinic) || (this.#backoff.get(clinic) ?? 0) > performance.now()) return
    this.#takingOver.add(clinic)
    void this.#serial(clinic, async (cur) => {
      this.#takingOver.delete(clinic)
      // an unloaded (idle) clinic is taken again where a device shows up for it
      if (this.#stopped || !cur || cur.settlement.settler) return cur
      const entry = this.#init.registry.get(clinic) ?? (await this.#init.registry.refresh(clinic))
      if (!entry) return cur
      const fence = await this.#init.state.ownership.acquire(clinic)
      if (!fence) return cur
      for (const peer of entry.peers) this.#init.access.addPeer(peer as PeerId, clinic)
      cur.close()
      this.#init.log('clinic-taken-over', { clinic, epoch: fence.epoch })
      return this.#start(clinic, entry.directoryUrl, 0, fence)
    }).catch(() => {})
  }

  /** This instance lost the clinic's lease: stop settling at once, follow the new settler. */
  lost(clinic: string): void {
    void this.#serial(clinic, async (cur) => {
      if (!cur?.settlement.settler) return cur
      cur.close()
      cur.settlement.abandon()
      this.#backoff.set(clinic, performance.now() + TAKEOVER_BACKOFF_MS)
      const late = this.#init.state.ownership.lateness
      this.#init.log('lease-lost', {
        clinic,
        lateRenewals: late?.late ?? null,
        maxRenewalGapMs: late?.maxGapMs ?? null,
      })
      return this.#start(clinic, this.#directoryOf(clinic), 0, null)
    })
  }

  /** The settler wrote a checkpoint: a follower shows it (at most once a second). */
  checkpointed(clinic: string): void {
    if (this.#followerRefresh.has(clinic) || this.#stopped) return
    // the first checkpoint names the documents the settler publishes: map them at once, devices ask for them
    const delay = this.#watchers.get(clinic)?.settlement.meta.settlement.inventory ? FOLLOWER_REFRESH_MS : 0
    const timer = setTimeout(() => {
      this.#followerRefresh.delete(clinic)
      void this.#serial(clinic, async (cur) => {
        if (!cur || cur.settlement.settler || this.#stopped) return cur
        await cur.refreshFollower(this.#init.state)
        return cur
      })
    }, delay)
    timer.unref()
    this.#followerRefresh.set(clinic, timer)
  }

  /**
   * Unload clinics idle for `idleMs` (no device of theirs connected here, nothing pending): a settler writes its last
   * checkpoint and gives the lease up, and the clinic's documents leave the repo's memory. A device that connects
   * or registers, or another instance's notice, opens the clinic again; memory follows activity, not the number of
   * clinics. `active`: the clinics with a device connected here now.
   */
  startIdleSweep(idleMs: number, active: () => ReadonlySet<string>): void {
    const sweep = (): void => {
      const now = Date.now()
      const busy = active()
      for (const w of this.#watchers.values()) {
        const c = w.clinic
        if (busy.has(c) || w.settlement.engine.pending().length > 0 || !this.#lastActive.has(c))
          this.#lastActive.set(c, now)
        else if (now - this.#lastActive.get(c)! >= idleMs) this.#unload(c)
      }
    }
    this.#idleTimer = setInterval(sweep, Math.max(100, Math.floor(idleMs / 4)))
    this.#idleTimer.unref()
  }

  #unload(clinic: string): void {
    this.#lastActive.delete(clinic)
    void this.#serial(clinic, async (cur) => {
      if (!cur || this.#stopped) return cur
      cur.close()
      this.#watchers.delete(clinic)
      if (cur.settlement.settler) {
        await cur.settlement.close()
        await this.#init.state.ownership.release(clinic)
      }
      const { repo } = this.#init
      // a follower may have opened the published documents for a device that asked (relay-share.ts)
      const published = [cur.settlement.meta.settlement.inventory, cur.settlement.meta.settlement.conflicts]
        .filter((u): u is AutomergeUrl => typeof u === 'string' && isValidAutomergeUrl(u))
        .map((u) => parseAutomergeUrl(u).documentId)
      const ids = [...new Set([...cur.documentIds(), ...published])].filter((id) =>
        repo.handles[id]?.isReady(),
      )
      await repo.flush(ids)
      for (const id of ids) await repo.removeFromCache(id)
      this.#init.log('clinic-unloaded', { clinic, documents: ids.length })
      return undefined
    })
  }

  /**
   * A document was asked for by a device here, or stored by another instance: a past log its clinic's settler left
   * dormant is opened and read.
   */
  wake(id: DocumentId): void {
    const clinic = this.#init.access.clinicOfDoc(id)
    if (clinic !== undefined) void this.#watchers.get(clinic)?.dormant.wake(id)
  }

  /** Notices may have been missed: open every dormant log. */
  wakeAll(): void {
    for (const w of this.#watchers.values()) void w.dormant.wakeAll()
  }

  /** Whether the clinic is open here (not unloaded as idle, not unknown). */
  isOpen(clinic: string): boolean {
    return this.#watchers.has(clinic)
  }

  /** Final checkpoints of the clinics this instance settles, then their leases are given up. */
  async stop(): Promise<void> {
    this.#stopped = true
    if (this.#idleTimer) clearInterval(this.#idleTimer)
    for (const t of this.#followerRefresh.values()) clearTimeout(t)
    await Promise.allSettled([...this.#chains.values()])
    const ws = [...this.#watchers.values()]
    for (const w of ws) w.close()
    await Promise.all(
      ws.map(async (w) => {
        if (!w.settlement.settler) return
        await w.settlement.close()
        await this.#init.state.ownership.release(w.clinic)
      }),
    )
  }

  /** The documents a clinic's checkpoint names (its directory, logs, published documents) not in the repo yet. */
  #notLoaded(directoryUrl: string, meta: CheckpointMeta): string[] {
    const { inventory, conflicts } = meta.settlement
    return [directoryUrl, inventory, conflicts, ...Object.keys(meta.cursors)]
      .filter((u): u is string => typeof u === 'string' && isValidAutomergeUrl(u))
      .map((u) => parseAutomergeUrl(u as AutomergeUrl).documentId)
      .filter((id) => !this.#init.repo.handles[id])
  }

  #directoryOf(clinic: string): string {
    return this.#init.registry.get(clinic)?.directoryUrl ?? ''
  }

  #serial(
    clinic: string,
    fn: (cur: ClinicWatcher | undefined) => Promise<ClinicWatcher | undefined>,
  ): Promise<ClinicWatcher | undefined> {
    const prev = this.#chains.get(clinic) ?? Promise.resolve(undefined)
    const next = prev
      .catch(() => this.#watchers.get(clinic))
      .then((cur) => fn(cur))
      .catch((err: unknown) => {
        this.#init.log('clinic-open-failed', { clinic, error: errName(err) })
        throw err
      })
    this.#chains.set(
      clinic,
      next.catch(() => this.#watchers.get(clinic)),
    )
    return next
  }

  async #start(
    clinic: string,
    directoryUrl: string,
    waitMs: number,
    fence: Fence | null,
  ): Promise<ClinicWatcher> {
    const { state, repo, access, log, key } = this.#init
    const settlement = await ClinicSettlement.open(
      clinic,
      state.checkpoints,
      this.#init.debounceMs,
      fence ? 'settler' : 'follower',
    )
    // a settler about to load what its checkpoint names: one query for all of it (a takeover opens many clinics)
    if (fence && state.readAhead)
      await state.readAhead(this.#notLoaded(directoryUrl, settlement.meta)).catch(() => {}) // else: a query each
    // ... and then for the documents its directory and records root name (loaded by the watcher)
    const prefetch =
      fence && state.readAhead
        ? (ids: DocumentId[]): Prefetch => {
            const read = ids.filter((id) => !repo.handles[id] && !state.isAhead?.(id))
            return {
              read,
              done: read.length > 0 ? state.readAhead!(read).catch(() => {}) : Promise.resolve(),
            }
          }
        : undefined
    // ... and past logs whose every stored operation that checkpoint counts as ingested stay dormant (not opened)
    const settledAtOpen: SettledAtOpen | undefined =
      fence && state.takeAhead
        ? (id, url) => {
            const cursor = settlement.meta.cursors[url]
            if (cursor === undefined || repo.handles[id] || this.#init.asked?.(id)) return false
            const chunks = state.takeAhead!(id)
            return chunks !== undefined && allIngested(chunks, cursor)
          }
        : undefined
    const w = new ClinicWatcher(
      repo,
      access,
      settlement,
      log,
      () => this.#init.adminKeys(clinic),
      key,
      prefetch,
      settledAtOpen,
    )
    this.#watchers.set(clinic, w)
    try {
      await w.openPublisher(state)
    } catch (err) {
      // e.g. the lease was taken over meanwhile: follow; the lease scan offers the clinic again if it is free
      log('publisher-failed', { clinic, error: errName(err) })
      this.#backoff.set(clinic, performance.now() + TAKEOVER_BACKOFF_MS)
      w.close()
      settlement.abandon()
      await state.ownership.release(clinic).catch(() => {})
      return this.#start(clinic, directoryUrl, waitMs, null)
    }
    if (directoryUrl) {
      const watching = w.watchDirectory(directoryUrl as AutomergeUrl).catch((err: unknown) => {
        log('watch-failed', { clinic, error: errName(err) })
      })
      if (waitMs > 0) await Promise.race([watching, new Promise((r) => setTimeout(r, waitMs).unref())])
    }
    return w
  }
}
