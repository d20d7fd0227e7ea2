import { createServer } from 'node:http'
import type { Server } from 'node:http'
import { createServer as createTlsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { ReviewerCheck } from './reviewer-check.js'
import type { DocumentId, PeerId } from '@automerge/automerge-repo'
import { Repo } from '@automerge/automerge-repo'
import { GuardedSyncServer } from '@clinic-mesh/sync-server'
import { flushReady, memoizeHeadsEncoding } from '@clinic-mesh/store'
import { AccessMap } from './access-map.js'
import type { RegistrationInput } from './request-bodies.js'
import type { RegistrationReply } from '@clinic-mesh/contracts'
import { ClinicRegistry } from './clinic-registry.js'
import type { ClinicWatcher } from './clinic-watcher.js'
import { ClinicHost } from './clinic-host.js'
import { DocRefresher } from './doc-refresher.js'
import { RelayShare } from './relay-share.js'
import { openState } from './open-state.js'
import type { RelayOptions } from './relay-options.js'
import type { RelayState } from './relay-state.js'
import { ClinicOpeningError, DeviceAuthError, NotEnrolledError, RegistrationConflictError } from './errors.js'
import { NonceBook } from './nonce-book.js'
import { SameOriginGuard, guardRequests, upgradeRefusal } from './http-util.js'
import { verifyEnrolment, verifyRelayProof } from '@clinic-mesh/mesh'
import { nativeVerify } from './native-ed25519.js'
import { SyncGate, redirectReply } from './sync-gate.js'
import { DEFAULT_WEB_DIST } from './console-files.js'
import { createApiHandler } from './http-api.js'
import type { Logger } from './logger.js'
import { stderrLogger } from './logger.js'
import { RelaySyncPolicy } from './sync-policy.js'
import type { RelayKey } from './relay-key.js'
import { withIdentityRoute } from './identity-route.js'
import { installScopedSynchronizer } from './scoped-synchronizer.js'

/** How long a request for a clinic not open on this instance waits for it to open (else 503, retry). */
const OPEN_WAIT_MS = 3000
/** How often devices connected here whose clinic another instance settles are sent to it (SyncGate.shed). */
const SHED_MS = 3000

export type { RelayOptions } from './relay-options.js'

/**
 * The relay: a sync server for the device nodes of many clinics (WebSocket on /sync, never announcing
 * documents, each peer limited to its own clinic's documents) that settles every clinic's ledger and serves
 * the reviewer API.
 */
export class Relay {
  readonly repo: Repo
  readonly access: AccessMap
  readonly #server: Server
  readonly #sync: GuardedSyncServer<string>
  readonly #registry: ClinicRegistry
  readonly #state: RelayState
  readonly #clinics: ClinicHost
  readonly #refresher: DocRefresher
  readonly #log: Logger
  readonly #opts: RelayOptions
  readonly #key: RelayKey
  readonly #share: RelayShare
  readonly #gate: SyncGate
  #shedTimer: NodeJS.Timeout | undefined

  private constructor(opts: RelayOptions, registry: ClinicRegistry, key: RelayKey, state: RelayState) {
    this.#opts = opts
    this.#state = state
    this.#key = key
    this.#log = opts.logger ?? stderrLogger
    this.#registry = registry
    this.access = new AccessMap()
    const access = this.access
    this.#share = new RelayShare(access, this.#log)
    // each socket's context: the peer that proved its device key at the upgrade
    const sync = new GuardedSyncServer<string>({
      policy: new RelaySyncPolicy((doc) => access.isRelayOnly(doc)),
      log: this.#log,
      // among instances a document may come from storage (another instance saved it) with no device connected here:
      // a search must not wait for a first peer
      readyWithoutPeers: state.kind === 'postgres',
    })
    this.#sync = sync
    this.repo = new Repo({
      storage: state.storage,
      saveDebounceRate: state.saveDebounceMs,
      network: [sync],
      peerId: `relay-${process.pid}` as PeerId,
      // A sync server never announces; a peer gets only documents of its own clinic that it asks for.
      shareConfig: this.#share.config,
    })
    // the repo asks the policy only about a document's own clinic's peers (scoped-synchronizer.ts: measured)
    if (
      !installScopedSynchronizer(this.repo, {
        peersFor: (d) => access.peersFor(d),
        docsFor: (p) => access.docsFor(p),
      })
    )
      this.#log('stock-synchronizer', { reason: 'automerge-repo internals changed' })
    // of the store's pinned Automerge hooks (packages/store/src/pinned) the relay uses only this one (CPU, bench P12)
    // sized for an instance's working set (thousands of clinics' documents and heads; ~200 bytes an entry). P12 at
    // 1,000 clinics: misses took ~7 % of a survivor's CPU after a kill with 50,000 and with 400,000 alike (SCALE.md)
    memoizeHeadsEncoding(400_000)
    this.#share.attach(this.repo)
    this.#refresher = new DocRefresher(this.repo, state, this.#log)
    this.#clinics = new ClinicHost({
      repo: this.repo,
      access,
      state,
      registry,
      log: this.#log,
      key,
      debounceMs: opts.debounceMs ?? 50,
      adminKeys: (clinic) => this.#adminKeys(clinic, []),
      asked: (id) => this.#share.asked(id),
    })
    // the repo opened a past log its clinic's settler left dormant (a device syncs it, something asked for it): read
    // it (ClinicWatcher); a device's ask is seen before the repo reads storage, every other opening once it has
    this.#share.onAsk((id) => this.#clinics.wake(id))
    this.repo.on('doc-metrics', (e) => {
      if (e.type === 'doc-loaded') this.#clinics.wake(e.documentId)
    })
    this.#gate = new SyncGate({
      nonces: this.#nonces,
      access,
      registry,
      clinics: this.#clinics,
      state,
      log: this.#log,
    })
    this.#sameOrigin = new SameOriginGuard(opts.host ?? '127.0.0.1', opts.allowHosts ?? [], () => this.port)
    const handler = guardRequests(this.#sameOrigin, withIdentityRoute(key, createApiHandler(this, this.#log)))
    this.#server = opts.tls
      ? createTlsServer({ cert: opts.tls.cert, key: opts.tls.key }, handler)
      : createServer(handler)
    this.#server.keepAliveTimeout = 65_000 // as the device node's: a busy client reusing a just-closed socket fails
    this.#server.on('upgrade', (req, socket, head) => {
      const url = new URL(req.url ?? '/', 'http://relay')
      if (url.pathname !== '/sync') {
        socket.end('HTTP/1.1 404 Not Found\r\n\r\n')
        return
      }
      try {
        this.#sameOrigin.check(req, true) // Host allow-list and, from a browser, this relay's own origin only
      } catch (err) {
        this.#log('sync-refused', { error: err instanceof Error ? err.name : 'unknown' })
        socket.end(upgradeRefusal(err))
        return
      }
      void this.#gate.admit(url.searchParams).then((a) => {
        if (a.kind === 'refused') {
          const { status, name, message } = a.error
          this.#log('sync-refused', { error: name, message })
          socket.end(
            `HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : 'Forbidden'}\r\ncontent-type: text/plain\r\n\r\n${name}: ${message}\n`,
          )
        } else if (a.kind === 'redirect') {
          this.#log('sync-redirected', { clinic: a.clinic, to: a.to })
          socket.end(redirectReply(a.to))
        } else {
          sync.upgrade(req, socket, head, a.peer)
          this.#wake(this.access.clinicOfPeer(a.peer as PeerId))
        }
      })
    })
  }

  static async start(opts: RelayOptions): Promise<Relay> {
    // an unreachable database fails the start with PostgresStorageError, before any clinic is opened
    const state = await openState(opts)
    let relay: Relay
    try {
      const registry = await ClinicRegistry.open(state.registry)
      relay = new Relay(opts, registry, await state.relayKey(), state)
      // listen before opening anything: what changes after this is announced, what changed before is in storage
      await state.listen({
        document: (id, chunk, changes) => {
          relay.#clinics.wake(id as DocumentId) // a dormant past log another instance wrote: open it (storage holds the change)
          relay.#refresher.refresh(id, chunk, changes)
        },
        registry: (clinic) => void relay.#clinics.registered(clinic).catch(() => {}),
        checkpoint: (clinic) => relay.#clinics.checkpointed(clinic),
        resync: () => relay.#resync(),
      })
    } catch (err) {
      await state.close().catch(() => {})
      throw err
    }
    const wait = opts.startupWaitMs ?? 3000
    const entries = relay.#registry.list()
    for (const entry of entries)
      for (const peer of entry.peers) relay.access.addPeer(peer as PeerId, entry.clinic)
    // Alone on its files the relay settles every clinic. Among instances, one opens a clinic only to settle it (a
    // free lease within its fair share, here or on the lease scan) or to serve it: a device of it connected or
    // registering here, a reviewer's request. Notices about other clinics' documents are ignored.
    await Promise.all(
      entries.map((e) =>
        state.kind === 'files'
          ? relay.#clinics.open(e.clinic, e.directoryUrl, wait)
          : relay.#clinics.claim(e.clinic, e.directoryUrl, wait),
      ),
    )
    const idleMs = opts.idleMs ?? (state.kind === 'postgres' ? 600_000 : 0)
    if (idleMs > 0) relay.#clinics.startIdleSweep(idleMs, () => relay.#connectedClinics())
    // devices of a clinic another instance settles now are sent there (after a failover)
    if (state.routes) {
      const shed = (): Promise<void> =>
        relay.#gate.shed(relay.repo.peers, (p, why) => relay.#sync.closePeer(p, why)).catch(() => {})
      relay.#shedTimer = setInterval(() => void shed(), SHED_MS)
      relay.#shedTimer.unref()
    }
    state.ownership.start({
      lost: (clinic) => relay.#clinics.lost(clinic),
      orphaned: (clinics) => {
        for (const c of clinics) relay.#clinics.takeOver(c)
      },
    })
    await new Promise<void>((resolve, reject) => {
      relay.#server.once('error', reject)
      relay.#server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve())
    })
    if (opts.publicUrl && state.routes) await state.routes.advertise(relay.publicUrl ?? '')
    return relay
  }

  readonly reviewers = new ReviewerCheck()
  readonly #nonces = new NonceBook()
  /** Host allow-list and Origin check of the web surface (API, console, `/sync`). */
  readonly #sameOrigin: SameOriginGuard

  /** hex Ed25519 public key the relay signs its documents with (devices pin it at their first registration). */
  get relayKey(): string {
    return this.#key.publicKey
  }

  get webDist(): string {
    return this.#opts.webDist ?? DEFAULT_WEB_DIST
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port
  }

  /** Where devices reach this instance (`publicUrl`; `auto`: its own scheme, host and port). */
  get publicUrl(): string | undefined {
    const url = this.#opts.publicUrl
    if (url !== 'auto') return url?.replace(/\/$/, '')
    return `${this.#opts.tls ? 'wss' : 'ws'}://${this.#opts.host ?? '127.0.0.1'}:${this.port}`
  }

  watchers(): ClinicWatcher[] {
    return this.#clinics.watchers()
  }

  /** The clinic open here; an idle clinic unloaded here is opened again (undefined until then: ask again). */
  watcher(clinic: string): ClinicWatcher | undefined {
    const w = this.#clinics.watcher(clinic)
    if (!w) this.#wake(clinic)
    return w
  }

  /**
   * The clinic for a request: open here, or opened now if it is registered (a reviewer's first read of a clinic this
   * instance did not serve yet, or one unloaded as idle), waiting at most `waitMs`; still opening then:
   * ClinicOpeningError (503, Retry-After). Undefined when no instance registered the clinic.
   */
  async openWatcher(
    clinic: string,
    waitMs = this.#opts.openWaitMs ?? OPEN_WAIT_MS,
  ): Promise<ClinicWatcher | undefined> {
    const open = this.#clinics.watcher(clinic)
    if (open) return open
    const entry =
      this.#registry.get(clinic) ??
      (this.#state.kind === 'postgres' ? await this.#registry.refresh(clinic) : undefined)
    if (!entry) return undefined
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), waitMs)
    })
    // its directory loads within half the wait, or the clinic answers without it (as one open already would)
    const opening = this.#clinics.open(clinic, entry.directoryUrl, waitMs / 2).catch(() => undefined)
    const w = await Promise.race([opening, late])
    clearTimeout(timer)
    if (!w) throw new ClinicOpeningError(clinic)
    return w
  }

  /** Open a registered clinic that was unloaded as idle (a device of it connected, someone asked for it). */
  #wake(clinic: string | undefined): void {
    if (clinic === undefined || this.#clinics.isOpen(clinic)) return
    const entry = this.#registry.get(clinic)
    if (entry) void this.#clinics.open(clinic, entry.directoryUrl, 0).catch(() => {})
  }

  /** Clinics with a device connected to this instance now. */
  #connectedClinics(): Set<string> {
    const out = new Set<string>()
    for (const peer of this.repo.peers) {
      const c = this.access.clinicOfPeer(peer)
      if (c !== undefined) out.add(c)
    }
    return out
  }

  /** Where this relay keeps its state: 'files' (alone) or 'postgres' (one of any number of instances). */
  get stateKind(): 'files' | 'postgres' {
    return this.#state.kind
  }

  /** Notifications may have been missed: read the registry, the open documents and followers' checkpoints again. */
  #resync(): void {
    this.#clinics.wakeAll()
    this.#refresher.refreshAll()
    for (const w of this.#clinics.watchers()) this.#clinics.checkpointed(w.clinic)
    void this.#clinics.registeredAll().catch(() => {})
  }

  /** A clinic's admin keys: provisioned by the operator, else pinned at its first registration, else `offered`. */
  #adminKeys(clinic: string, offered: readonly string[]): readonly string[] {
    return this.#opts.trust?.[clinic] ?? this.#registry.adminKeysFor(clinic, [...offered])
  }

  /** A nonce for a device to sign (registration, opening `/sync`). */
  challenge(client?: string): { nonce: string; expiresAt: string } {
    return this.#nonces.issue(client)
  }

  /**
   * Registers a device of a clinic: it must prove it holds its peer id's key (a signature over a fresh nonce) and
   * show an enrolment for that peer id signed by one of the clinic's admin keys (pinned at the first registration).
   */
  async register(input: RegistrationInput): Promise<{ created: boolean; body: RegistrationReply }> {
    const fields = [input.clinic, input.directoryUrl, input.peerId, input.devicePeerId]
    if (!this.#nonces.take(input.proof.nonce))
      throw new DeviceAuthError('unknown, expired or used nonce: ask GET /api/challenge again')
    if (!verifyRelayProof(input.devicePeerId, 'register', input.proof, fields, nativeVerify))
      throw new DeviceAuthError(`proof does not verify for device ${input.devicePeerId}`)
    const e = input.enrolment
    if (e.devicePeerId !== input.devicePeerId)
      throw new NotEnrolledError('the enrolment names another device')
    if (this.#opts.trustedOnly && !this.#opts.trust?.[input.clinic])
      throw new NotEnrolledError(`clinic ${input.clinic} is not provisioned on this relay`)
    try {
      verifyEnrolment(e, input.clinic, [...this.#adminKeys(input.clinic, input.adminPublicKeys)])
    } catch (err) {
      throw new NotEnrolledError(`enrolment refused: ${err instanceof Error ? err.message : String(err)}`)
    }
    if (this.access.isRevoked(input.peerId as PeerId))
      throw new RegistrationConflictError(`peer ${input.peerId} belongs to a revoked device`)
    const owner = this.access.clinicOfPeer(input.peerId as PeerId)
    if (owner !== undefined && owner !== input.clinic)
      throw new RegistrationConflictError(`peer ${input.peerId} belongs to another clinic`)
    const bound = this.#registry.deviceKeyOf(input.clinic, input.peerId)
    if (bound !== undefined && bound !== input.devicePeerId)
      throw new RegistrationConflictError(`peer ${input.peerId} is bound to another device key`)
    const pinnedBefore = this.#adminKeys(input.clinic, []).length > 0
    const { created } = await this.#registry.register(
      input.clinic,
      input.directoryUrl,
      input.peerId,
      input.adminPublicKeys,
      input.devicePeerId,
    )
    this.access.addPeer(input.peerId as PeerId, input.clinic)
    if (created) this.#log('clinic-registered', { clinic: input.clinic })
    const body = { clinic: input.clinic, directoryUrl: input.directoryUrl, relayKey: this.#key.publicKey }
    // another live instance settles the clinic: the device will sync there (its /sync is redirected), so the clinic
    // is not opened here; the reply names the settlement documents of the settler's last checkpoint
    if (pinnedBefore && !this.#clinics.isOpen(input.clinic) && (await this.#routedElsewhere(input.clinic))) {
      const cp = await this.#state.checkpoints.load(input.clinic)
      return { created, body: { ...body, settlement: { ...cp?.meta.settlement } } }
    }
    const w = await this.#clinics.open(input.clinic, input.directoryUrl, 0)
    if (!pinnedBefore) w.adminKeysChanged()
    return { created, body: { ...body, settlement: w.settlement.meta.settlement } }
  }

  /** Another live instance settles the clinic and advertised where (its devices' /sync is redirected there). */
  async #routedElsewhere(clinic: string): Promise<boolean> {
    return (await this.#state.routes?.ownerUrl(clinic).catch(() => undefined)) !== undefined
  }

  /** Settle and checkpoint every clinic, flush documents to disk, close sockets. */
  async stop(): Promise<void> {
    this.#share.stop()
    clearInterval(this.#shedTimer)
    await this.#state.ownership.stop()
    await this.#clinics.stop()
    await flushReady(this.repo)
    this.#sync.close() // disconnects the repo's only network adapter (what repo.shutdown() would do)
    this.#server.closeAllConnections()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
    await flushReady(this.repo)
    await this.#refresher.idle()
    await this.#state.close()
  }
}
