import { unwatchFile, watchFile } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdir } from 'node:fs/promises'
import {
  Repo,
  type AutomergeUrl,
  type DocHandle,
  type DocumentId,
  type PeerId,
} from '@automerge/automerge-repo'
import type { ClinicDirectoryDoc, DeviceId, LocationId } from '@clinic-mesh/contracts'
import type { Membership, MeshNode } from '@clinic-mesh/mesh'
import type { ChartCollection } from '@clinic-mesh/records'
import { ClinicStore, SyncStateWriteBehind, findDoc, flushReady, type ChartPull } from '@clinic-mesh/store'
import { readClinicFile, updateClinicFile } from './clinic-file.js'
import { DeviceLedger } from './device-ledger.js'
import { loadDevice, saveDeviceConfig, type DeviceConfig } from './device-config.js'
import { keepHistory } from './history-keeper.js'
import { handleRequest } from './api-router.js'
import { SameOriginGuard, upgradeRefusal } from './http-util.js'
import { BrowserSync } from './browser-sync.js'
import { RecordsApi } from './records-api.js'
import { RelayKeyMismatchError, checkRelayUrl, type RelayLink } from './relay-link.js'
import { createDeviceRelayLink } from './device-relay.js'
import { StockApi } from './stock-api.js'
import { log } from './log.js'
import { DEFAULT_AUDIT_RETENTION_YEARS, DeviceAudit } from './audit.js'
import { DocKinds } from './doc-kinds.js'
import { SyncGate } from './sync-gate.js'
import { deferred } from './deferred.js'
import {
  arrivalsOfVisits,
  createClinicDocuments,
  openVisitsOfBucket,
  summarizeOf,
} from './clinic-documents.js'
import { auditHeadSigner, auditHeadVerifier } from './audit-keys.js'
import type { DeviceAuth } from './auth.js'
import { openClinicUsers } from './clinic-users.js'
import { wipeClinicDataRetrying } from './revocation.js'
import type { FaultReportingStorage } from '@clinic-mesh/storage-nodefs'
import { openDeviceStorage } from './storage-at-rest.js'
import { startDeviceMesh } from './device-mesh.js'
import { startClinicFollowers } from './clinic-followers.js'
import type { PrivateKey } from '@libp2p/interface'
import type { DeviceNodeInit, MembershipDoc } from './device-node-init.js'
import type { NodeHost } from './node-host.js'

export type { DeviceNodeInit, MembershipDoc } from './device-node-init.js'

/**
 * One device of the clinic: an automerge-repo Repo on disk (DIR/repo), the libp2p mesh, an optional relay link,
 * a WebSocket endpoint for the tablet's browser (`/sync`), and the JSON API over the clinic's records and ledger.
 */
export class DeviceNode implements NodeHost {
  readonly config: DeviceConfig
  readonly peerId: string
  readonly repo: Repo
  readonly mesh: MeshNode
  readonly membership: Membership
  readonly webDist: string
  /** Host allow-list and Origin check of the web surface (API, static files, `/sync`). */
  readonly sameOrigin: SameOriginGuard
  readonly #init: DeviceNodeInit
  readonly #server: Server
  #relay: RelayLink | undefined
  #relayEnabled = true
  #directory: DocHandle<ClinicDirectoryDoc> | undefined
  #store: ClinicStore<ChartCollection> | undefined
  #ledger: DeviceLedger | undefined
  records: RecordsApi | undefined
  /** The clinic's membership document, once followed (the revoke route writes to it). */
  membershipDoc: DocHandle<MembershipDoc> | undefined
  get joinHost(): string {
    return this.#init.joinHost ?? '0.0.0.0'
  }

  /** The repo's storage (sealed when the device is revoked), and over it the peers' sync states written behind. */
  storage: FaultReportingStorage | undefined
  #syncStates: SyncStateWriteBehind | undefined

  /** Set once this device learned its own revocation: its clinic data is gone, the API answers 410. */
  revoked = false
  /** Users, login and sessions; undefined until the clinic is open. */
  auth: DeviceAuth | undefined
  audit: DeviceAudit | undefined
  stock: StockApi | undefined
  #stopped = false
  readonly #browsers: BrowserSync
  /** The sync gate: every browser message passes it once the clinic is open (docs/ARCHITECTURE.md, "one write path"). */
  readonly #gate = deferred<SyncGate>()
  #gateNow: SyncGate | undefined
  #retention: NodeJS.Timeout | undefined
  #idleBuckets: NodeJS.Timeout | undefined
  #stopHistory: () => void = () => undefined
  /** A new tablet's pull of the clinic's charts, today first (see lazy-buckets.ts). */
  chartPull: ChartPull | undefined
  /** This device's libp2p key: signs its reach record in the membership document. */
  #meshKey: PrivateKey | undefined
  /** Ed25519 secret key (32 bytes) of this device's libp2p identity: signs its stock operation runs. */
  deviceSigningKey: Uint8Array = new Uint8Array(32)
  /** The repo's chunks on disk are encrypted (EncryptedStorageAdapter). */
  encryptedAtRest = false
  readonly ready: Promise<void>

  private constructor(
    init: DeviceNodeInit,
    config: DeviceConfig,
    peerId: string,
    repo: Repo,
    mesh: MeshNode,
    membership: Membership,
    browsers: BrowserSync,
  ) {
    this.#init = init
    this.config = config
    this.peerId = peerId
    this.repo = repo
    this.mesh = mesh
    this.membership = membership
    this.#browsers = browsers
    this.webDist = init.webDist ?? new URL('../../web/dist/', import.meta.url).pathname
    this.sameOrigin = new SameOriginGuard(
      init.host ?? '127.0.0.1',
      init.allowHosts ?? [],
      () => this.httpPort,
    )
    this.#server = createServer((req, res) => void handleRequest(this, req, res))
    // idle keep-alive sockets live 65 s (Node's 5 s default races a client whose thread was busy for a few seconds:
    // it reuses a socket the server has just closed and the request fails with "other side closed")
    this.#server.keepAliveTimeout = 65_000
    this.#server.on('upgrade', (req, socket, head) => {
      if ((req.url ?? '').split('?')[0] !== '/sync') return socket.destroy()
      try {
        this.sameOrigin.check(req, true) // a page of another origin never syncs with the user's session cookie
      } catch (err) {
        socket.end(upgradeRefusal(err))
        return
      }
      // only a logged-in user's browser may sync (automerge-repo authorises nothing by itself)
      if (this.revoked || !this.auth?.principal(req)) {
        socket.end(
          'HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{"error":{"name":"UnauthenticatedError","message":"log in first"}}',
        )
        return
      }
      browsers.upgrade(req, socket, head)
    })
    this.#server.on('clientError', (_err, socket) => socket.destroy())
    this.ready = this.#openClinic()
    this.ready.catch((err: unknown) =>
      log('clinic-open-failed', {
        error: err instanceof Error ? err.name : 'unknown',
        message: err instanceof Error ? err.message : '',
      }),
    )
  }

  static async start(init: DeviceNodeInit): Promise<DeviceNode> {
    if (init.relay !== undefined) checkRelayUrl(init.relay, init.insecureRelay)
    // unlock storage first: a missing or wrong secret stops the start before anything is written
    await mkdir(init.dataDir, { recursive: true })
    const { storage, encrypted } = await openDeviceStorage(init.dataDir, init.storage)
    const { config, privateKey, peerId } = await loadDevice(init)
    if (init.relayKey !== undefined && config.relayKey !== init.relayKey) {
      if (config.relayKey !== undefined)
        throw new RelayKeyMismatchError(
          `--relay-key ${init.relayKey.slice(0, 16)}… differs from the relay key this device pinned (${config.relayKey.slice(0, 16)}…)`,
        )
      config.relayKey = init.relayKey
      await saveDeviceConfig(init.dataDir, config)
    }
    const years = init.historyYears === 'all' ? undefined : init.historyYears
    if (init.historyYears !== undefined && config.historyYears !== years) {
      if (years === undefined) delete config.historyYears
      else config.historyYears = years
      await saveDeviceConfig(init.dataDir, config)
    }
    const { mesh, membership } = await startDeviceMesh(init, config, privateKey)
    const ref: { node?: DeviceNode } = {}
    const browsers = new BrowserSync({
      principal: (req) => (ref.node && !ref.node.revoked ? ref.node.auth?.principal(req) : undefined),
      gate: () => (ref.node ? ref.node.#gate.promise : Promise.reject(new Error('starting'))),
    })
    const syncStates = new SyncStateWriteBehind(storage)
    const repo = new Repo({
      storage: syncStates,
      network: [mesh.adapter, browsers.adapter],
      peerId: config.deviceId as PeerId,
      sharePolicy: (peer, documentId) => ref.node?.sharePolicy(peer, documentId) ?? Promise.resolve(true),
    })
    const node = new DeviceNode(init, config, peerId, repo, mesh, membership, browsers)
    node.deviceSigningKey = privateKey.raw.slice(0, 32)
    node.#meshKey = privateKey
    node.encryptedAtRest = encrypted
    node.storage = storage
    node.#syncStates = syncStates
    ref.node = node
    if (config.clinicFile)
      watchFile(config.clinicFile, { interval: 300 }, () => void node.#reloadClinicFile())
    await new Promise<void>((resolve) =>
      node.#server.listen(init.port ?? 0, init.host ?? '127.0.0.1', resolve),
    )
    return node
  }

  get httpPort(): number {
    return (this.#server.address() as AddressInfo).port
  }

  get store(): ClinicStore<ChartCollection> | undefined {
    return this.#store
  }

  get ledger(): DeviceLedger | undefined {
    return this.#ledger
  }

  get directory(): DocHandle<ClinicDirectoryDoc> | undefined {
    return this.#directory
  }

  get relay(): RelayLink | undefined {
    return this.#relay
  }

  /** The relay pulls everything of its clinic; tablets and browsers get chart buckets per the store's policy. */
  sharePolicy(peer: PeerId, documentId?: DocumentId): Promise<boolean> {
    // a browser (its socket is bound to a session): only what its role reads, whatever id it claims elsewhere
    const browser = this.#browsers.principalOf(peer)
    if (browser || peer.startsWith('web-'))
      return Promise.resolve(!!browser && !!documentId && !!this.#gateNow?.mayRead(browser, documentId))
    if (this.#relay?.remotePeerId === peer) return Promise.resolve(true)
    return this.#store ? this.#store.sharePolicy(peer, documentId) : Promise.resolve(true)
  }

  /** The "work offline" switch. */
  async setNetwork(mesh: boolean | undefined, relay: boolean | undefined): Promise<void> {
    if (mesh !== undefined) await this.mesh.setEnabled(mesh)
    if (relay !== undefined) {
      this.#relayEnabled = relay
      this.#relay?.setEnabled(relay)
    }
  }

  get network(): { mesh: boolean; relay: boolean } {
    return { mesh: this.mesh.enabled, relay: this.#relayEnabled }
  }

  async #reloadClinicFile(): Promise<void> {
    if (!this.config.clinicFile || this.#stopped) return
    const c = await readClinicFile(this.config.clinicFile).catch(() => undefined)
    if (c) this.membership.update({ enrolments: c.enrolments })
  }

  async #directoryUrl(): Promise<string> {
    for (;;) {
      if (this.config.directoryUrl) return this.config.directoryUrl
      if (this.config.founder) return this.#createClinic()
      const c = this.config.clinicFile
        ? await readClinicFile(this.config.clinicFile).catch(() => undefined)
        : undefined
      if (c?.directoryUrl) {
        this.config.directoryUrl = c.directoryUrl
        await saveDeviceConfig(this.#init.dataDir, this.config)
        return c.directoryUrl
      }
      if (this.#stopped) throw new Error('stopped')
      await new Promise((r) => setTimeout(r, 250))
    }
  }

  async #createClinic(): Promise<string> {
    const dir = createClinicDocuments(
      this.repo,
      this.config.clinic,
      this.config.clinicName,
      this.config.expectedCharts,
    )
    await this.repo.flush()
    this.config.directoryUrl = dir.url
    await saveDeviceConfig(this.#init.dataDir, this.config)
    if (this.config.clinicFile)
      await updateClinicFile(this.config.clinicFile, (c) => ({ ...c, directoryUrl: dir.url }))
    return dir.url
  }

  async #openClinic(): Promise<void> {
    const url = await this.#directoryUrl()
    const dir = await findDoc<ClinicDirectoryDoc>(this.repo, url as AutomergeUrl)
    this.#directory = dir
    log('clinic-directory-found', { documents: Object.keys(this.repo.handles).length })
    const store = await ClinicStore.open<ChartCollection>(
      this.repo,
      dir.doc().recordsRoot as string as AutomergeUrl,
      {
        summarize: summarizeOf,
        openVisits: openVisitsOfBucket,
        indexCache: true,
        // today's open visits first (issue 17 #4): a joining tablet shows the queue before the index shards arrive
        today: { arrivals: arrivalsOfVisits },
        todayFirst: true,
        history: this.config.historyYears === undefined ? {} : { historyYears: this.config.historyYears },
      },
    )
    log('clinic-index-loaded', { patients: store.index.size })
    const trust = { clinic: this.config.clinic, relayKey: () => this.config.relayKey }
    const ledger = await DeviceLedger.open(
      this.repo,
      dir,
      this.config.deviceId as DeviceId,
      this.config.site as LocationId,
      trust,
    )
    // users and audit before the store: `clinic.ready` (the store) promises that login works
    const auth = await openClinicUsers(this.repo, dir, this.config, this.#init.dataDir)
    this.audit = await DeviceAudit.open(this.repo, dir, this.config.deviceId, {
      signHead: auditHeadSigner(this.config.deviceId, this.peerId, this.deviceSigningKey),
      verifyHead: auditHeadVerifier(this.membership),
    })
    this.auth = auth
    this.#store = store
    this.#ledger = ledger
    this.records = new RecordsApi(this.repo, store, { relay: this.#init.relay !== undefined })
    const gate = new SyncGate(this.repo, new DocKinds(dir, store), this.audit)
    this.#gateNow = gate
    this.#browsers.attach(gate)
    this.#gate.resolve(gate)
    this.#retention = this.audit.keepRetention(
      () => dir.doc().settings?.auditRetentionYears ?? DEFAULT_AUDIT_RETENTION_YEARS,
    )
    this.stock = new StockApi(ledger)
    this.repo.shareConfigChanged()
    this.#idleBuckets = startClinicFollowers(
      {
        node: this,
        init: this.#init,
        meshKey: () => this.#meshKey,
        stopped: () => this.#stopped,
        onMembershipDoc: (h) => (this.membershipDoc = h),
        onChartPull: (pull) => (this.chartPull = pull),
        onSelfRevoked: () => this.#selfRevoked(),
      },
      dir,
      store,
    )
    this.#stopHistory = keepHistory(store, this.repo, {
      everyYear: this.config.historyYears === undefined,
      stopped: () => this.#stopped || this.revoked,
    })
    const relay = this.#init.relay
    if (relay) {
      this.#relay = createDeviceRelayLink({
        repo: this.repo,
        init: { ...this.#init, relay },
        config: this.config,
        directoryUrl: url,
        directory: () => this.#directory,
        peerId: this.peerId,
        deviceSigningKey: this.deviceSigningKey,
        membership: this.membership,
      })
      this.#relay.setEnabled(this.#relayEnabled)
      if (this.#relayEnabled) this.#relay.start()
    }
    process.stdout.write(
      `${JSON.stringify({ event: 'ready', clinic: this.config.clinic, directoryUrl: url, device: this.config.deviceId })}\n`,
    )
  }

  /** This device was revoked (lost or stolen tablet): stop syncing, wipe the clinic data, answer 410 from now on. */
  async #selfRevoked(): Promise<void> {
    this.revoked = true
    log('device-revoked', { peerId: this.peerId })
    this.storage?.seal() // from here on nothing the repo still holds reaches the disk
    this.#relay?.stop()
    this.#browsers.close()
    const bounded = (p: Promise<unknown>): Promise<unknown> =>
      Promise.race([p.catch(() => undefined), new Promise((r) => setTimeout(r, 3_000).unref())])
    await bounded(this.mesh.stop())
    await bounded(this.repo.shutdown())
    await wipeClinicDataRetrying(this.#init.dataDir)
  }

  async stop(): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    if (this.config.clinicFile) unwatchFile(this.config.clinicFile)
    clearInterval(this.#retention)
    clearInterval(this.#idleBuckets)
    this.#stopHistory()
    await this.audit?.flushWrites()
    await this.#store?.saveIndexCache().catch(() => undefined) // the next start searches from it at once
    this.#relay?.stop()
    this.#browsers.close()
    this.#server.closeAllConnections()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
    await this.mesh.stop().catch(() => undefined)
    await flushReady(this.repo).catch(() => undefined) // a plain shutdown gives up at a document never found
    await this.repo.shutdown().catch(() => undefined)
    await this.#syncStates?.flush()
  }
}
