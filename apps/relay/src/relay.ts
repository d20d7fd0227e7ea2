import { createServer } from 'node:http'
import type { Server } from 'node:http'
import { createServer as createTlsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { ReviewerCheck } from './reviewer-check.js'
import type { AutomergeUrl, PeerId } from '@automerge/automerge-repo'
import { Repo } from '@automerge/automerge-repo'
import { NodeFSStorageAdapter } from '@automerge/automerge-repo-storage-nodefs'
import { PostgresStorageAdapter } from '@clinic-mesh/storage-postgres'
import { GuardedSyncServer } from '@clinic-mesh/sync-server'
import { AccessMap } from './access-map.js'
import type { RegistrationInput } from './request-bodies.js'
import type { RegistrationReply } from '@clinic-mesh/contracts'
import { ClinicRegistry } from './clinic-registry.js'
import { ClinicSettlement } from './clinic-settlement.js'
import { ClinicWatcher } from './clinic-watcher.js'
import { DeviceAuthError, NotEnrolledError, RegistrationConflictError } from './errors.js'
import { NonceBook } from './nonce-book.js'
import { SameOriginGuard, guardRequests, upgradeRefusal } from './http-util.js'
import { verifyEnrolment, verifyRelayProof } from '@clinic-mesh/mesh'
import { DEFAULT_WEB_DIST } from './console-files.js'
import { createApiHandler } from './http-api.js'
import type { Logger } from './logger.js'
import { stderrLogger } from './logger.js'
import type { SettlementStore } from './settlement-store.js'
import { FileSettlementStore } from './settlement-store.js'
import { RelaySyncPolicy } from './sync-policy.js'
import { loadRelayKey, type RelayKey } from './relay-key.js'
import { withIdentityRoute } from './identity-route.js'

export interface RelayOptions {
  /** Data directory: repo/ (automerge documents, unless `postgres`), settlement/ (checkpoints), clinics.json. */
  readonly dataDir: string
  /**
   * Keep the automerge documents in this PostgreSQL database (`--postgres URL`, table `automerge_chunks`) instead
   * of dataDir/repo. Checkpoints, clinics.json and the relay key stay in dataDir.
   */
  readonly postgres?: string
  readonly port?: number
  readonly host?: string
  /** Where settlement checkpoints live (default: files under dataDir/settlement). */
  readonly store?: SettlementStore
  /** Settle this long after the first operation of a burst (default 50 ms). */
  readonly debounceMs?: number
  /** How long startup waits for each clinic's directory to load from local storage (default 3000 ms). */
  readonly startupWaitMs?: number
  readonly logger?: Logger
  /** The web build whose review.html the relay serves at `/` (default: apps/web/dist of this checkout). */
  readonly webDist?: string
  /**
   * Clinics provisioned by the operator: clinic id → its admin public keys (hex). These are trusted as given, with
   * no first-use window; with `trustedOnly` no other clinic may register.
   */
  readonly trust?: Readonly<Record<string, readonly string[]>>
  readonly trustedOnly?: boolean
  /** Host names (besides loopback and this machine's addresses) the relay answers for (`--allow-host`). */
  readonly allowHosts?: readonly string[]
  /** Serve HTTPS (and `/sync` over wss) with this PEM certificate and key (`--tls-cert`, `--tls-key`). */
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer }
}

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
  readonly #store: SettlementStore
  readonly #watchers = new Map<string, ClinicWatcher>()
  readonly #opening = new Map<string, Promise<ClinicWatcher>>()
  readonly #log: Logger
  readonly #opts: RelayOptions
  readonly #key: RelayKey
  readonly #postgres: PostgresStorageAdapter | undefined
  #shareTimer: NodeJS.Timeout | null = null

  private constructor(
    opts: RelayOptions,
    registry: ClinicRegistry,
    key: RelayKey,
    postgres: PostgresStorageAdapter | undefined,
  ) {
    this.#opts = opts
    this.#postgres = postgres
    this.#key = key
    this.#log = opts.logger ?? stderrLogger
    this.#registry = registry
    this.#store = opts.store ?? new FileSettlementStore(join(opts.dataDir, 'settlement'))
    this.access = new AccessMap()
    const access = this.access
    // each socket's context: the peer that proved its device key at the upgrade
    const sync = new GuardedSyncServer<string>({
      policy: new RelaySyncPolicy((doc) => access.isRelayOnly(doc)),
      log: this.#log,
    })
    this.#sync = sync
    this.repo = new Repo({
      storage: postgres ?? new NodeFSStorageAdapter(join(opts.dataDir, 'repo')),
      network: [sync],
      peerId: `relay-${process.pid}` as PeerId,
      // A sync server never announces; a peer gets only documents of its own clinic that it asks for.
      shareConfig: {
        announce: () => Promise.resolve(false),
        access: (peer, doc) => Promise.resolve(access.allows(peer, doc)),
      },
    })
    this.access.onChange(() => this.#shareChanged())
    this.#sameOrigin = new SameOriginGuard(opts.host ?? '127.0.0.1', opts.allowHosts ?? [], () => this.port)
    const handler = guardRequests(this.#sameOrigin, withIdentityRoute(key, createApiHandler(this, this.#log)))
    this.#server = opts.tls
      ? createTlsServer({ cert: opts.tls.cert, key: opts.tls.key }, handler)
      : createServer(handler)
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
      const peer = this.#authenticateSync(url.searchParams)
      if (typeof peer !== 'string') {
        this.#log('sync-refused', { error: peer.name, message: peer.message })
        socket.end(
          `HTTP/1.1 ${peer.status} ${peer.status === 401 ? 'Unauthorized' : 'Forbidden'}\r\ncontent-type: text/plain\r\n\r\n${peer.name}: ${peer.message}\n`,
        )
        return
      }
      sync.upgrade(req, socket, head, peer)
    })
  }

  static async start(opts: RelayOptions): Promise<Relay> {
    const registry = await ClinicRegistry.open(join(opts.dataDir, 'clinics.json'))
    // an unreachable database fails the start with PostgresStorageError, before any clinic is opened
    const postgres = opts.postgres
      ? new PostgresStorageAdapter({ connectionString: opts.postgres })
      : undefined
    try {
      await postgres?.init()
    } catch (err) {
      await postgres?.close()
      throw err
    }
    const relay = new Relay(opts, registry, await loadRelayKey(opts.dataDir), postgres)
    const wait = opts.startupWaitMs ?? 3000
    await Promise.all(
      registry.list().map(async (entry) => {
        for (const peer of entry.peers) relay.access.addPeer(peer as PeerId, entry.clinic)
        await relay.#open(entry.clinic, entry.directoryUrl as AutomergeUrl, wait)
      }),
    )
    await new Promise<void>((resolve, reject) => {
      relay.#server.once('error', reject)
      relay.#server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve())
    })
    return relay
  }

  readonly reviewers = new ReviewerCheck()
  readonly #nonces = new NonceBook()
  /** Host allow-list and Origin check of the web surface (API, console, `/sync`). */
  readonly #sameOrigin: SameOriginGuard

  /**
   * `/sync?peer=P&nonce=N&signature=S`: P is a registered repo peer and the device key it registered with signed a
   * fresh nonce and P.
   * Returns the peer, or the refusal to answer with (the socket is never upgraded).
   */
  #authenticateSync(q: URLSearchParams): string | DeviceAuthError | NotEnrolledError {
    const peer = q.get('peer') ?? ''
    const proof = { nonce: q.get('nonce') ?? '', signature: q.get('signature') ?? '' }
    if (!peer || !proof.nonce || !proof.signature)
      return new DeviceAuthError('sync needs peer, nonce and signature (see docs/relay-api.md)')
    if (!this.#nonces.take(proof.nonce)) return new DeviceAuthError('unknown, expired or used nonce')
    const clinic = this.access.clinicOfPeer(peer as PeerId)
    const key = clinic === undefined ? undefined : this.#registry.deviceKeyOf(clinic, peer)
    if (key === undefined)
      return new NotEnrolledError(`peer ${peer} is not registered with a device key: POST /api/clinics first`)
    if (!verifyRelayProof(key, 'sync', proof, [peer]))
      return new DeviceAuthError(`proof does not verify for peer ${peer}`)
    return peer
  }

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

  watchers(): ClinicWatcher[] {
    return [...this.#watchers.values()]
  }

  watcher(clinic: string): ClinicWatcher | undefined {
    return this.#watchers.get(clinic)
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
    if (!verifyRelayProof(input.devicePeerId, 'register', input.proof, fields))
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
    const w = await this.#open(input.clinic, input.directoryUrl, 0)
    if (!pinnedBefore) w.adminKeysChanged()
    if (created) this.#log('clinic-registered', { clinic: input.clinic })
    return {
      created,
      body: {
        clinic: input.clinic,
        directoryUrl: input.directoryUrl,
        settlement: w.settlement.meta.settlement,
        relayKey: this.#key.publicKey,
      },
    }
  }

  /** Open a clinic's settlement and watcher once; wait up to `waitMs` for its directory to load. */
  #open(clinic: string, directoryUrl: AutomergeUrl, waitMs: number): Promise<ClinicWatcher> {
    let p = this.#opening.get(clinic)
    if (!p) {
      p = (async () => {
        const settlement = await ClinicSettlement.open(clinic, this.#store, this.#opts.debounceMs ?? 50)
        const w = new ClinicWatcher(
          this.repo,
          this.access,
          settlement,
          this.#log,
          () => this.#adminKeys(clinic, []),
          this.#key,
        )
        this.#watchers.set(clinic, w)
        await w.openPublisher()
        const watching = w.watchDirectory(directoryUrl).catch((err: unknown) => {
          this.#log('watch-failed', { clinic, error: err instanceof Error ? err.name : 'unknown' })
        })
        if (waitMs > 0) await Promise.race([watching, new Promise((r) => setTimeout(r, waitMs).unref())])
        return w
      })()
      this.#opening.set(clinic, p)
    }
    return p
  }

  #shareChanged(): void {
    if (this.#shareTimer) return
    this.#shareTimer = setTimeout(() => {
      this.#shareTimer = null
      this.repo.shareConfigChanged()
    }, 10)
  }

  /** Settle and checkpoint every clinic, flush documents to disk, close sockets. */
  async stop(): Promise<void> {
    if (this.#shareTimer) clearTimeout(this.#shareTimer)
    for (const w of this.#watchers.values()) w.close()
    await Promise.all([...this.#watchers.values()].map((w) => w.settlement.close()))
    await this.#flushReady()
    this.#sync.close() // disconnects the repo's only network adapter (what repo.shutdown() would do)
    this.#server.closeAllConnections()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
    await this.#flushReady()
    await this.#postgres?.close()
  }

  /**
   * `repo.flush()` of the documents that are ready: a plain flush (and `repo.shutdown()`) throws "DocHandle is not
   * ready" when a document is still loading or being requested from a peer that just left, and a document that never
   * loaded has nothing to save.
   */
  async #flushReady(): Promise<void> {
    const ready = Object.values(this.repo.handles).filter((h) => h.isReady())
    await this.repo.flush(ready.map((h) => h.documentId))
  }
}
