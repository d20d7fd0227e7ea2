import type { AutomergeUrl, DocHandle, DocumentId, Repo } from '@automerge/automerge-repo'
import { isValidAutomergeUrl, parseAutomergeUrl } from '@automerge/automerge-repo'
import type { ClinicDirectoryDoc, DocUrl, MembershipDoc } from '@clinic-mesh/contracts'
import type { AccessMap } from './access-map.js'
import type { ClinicSettlement } from './clinic-settlement.js'
import type { NameSources } from './clinic-names.js'
import { logEntries, type RunSignature } from '@clinic-mesh/ledger'
import type { Prefetch } from './relay-state.js'
import type { UserRegister, UserRegisterDoc } from '@clinic-mesh/security'
import { findDoc, findDocWithin } from './find-doc.js'
import type { Logger } from './logger.js'
import { SettlementPublisher, type PublishState } from './settlement-publisher.js'
import { ClinicTrustState } from './trust-state.js'
import { vouchedPeers } from './membership-peers.js'
import type { RelayKey } from './relay-key.js'
import { mapTodayDocs, rootUrls, type RootLike } from './records-root.js'
import { DormantLogs, isPastPeriod } from './dormant-logs.js'
import { validUrls } from './member-lists.js'
import { LogIngest, type LogLike } from './log-ingest.js'

/** A settler's: whether a past log holds nothing unsettled (it is then left dormant: mapped, not opened). */
export type SettledAtOpen = (id: DocumentId, url: string) => boolean

/** A document to follow: its URL, and what to call with its handle now and on every change (null: only load it). */
type Follow = [url: string, onDoc: ((h: DocHandle<unknown>) => void) | null]

/** Any member can write these documents: every part may be missing or malformed (records are checked one by one). */
type RegisterLike = Partial<UserRegisterDoc>
type MembershipLike = Partial<MembershipDoc>

/**
 * Follows one clinic's directory: every document it names (records root, its shards and buckets, ledger logs,
 * membership, settlement docs) is mapped to the clinic for access control and pulled to the relay; every
 * ledger log is read into the clinic's settlement as it grows.
 */
export class ClinicWatcher {
  readonly clinic: string
  readonly settlement: ClinicSettlement
  publisher: SettlementPublisher | null = null
  readonly #repo: Repo
  readonly #access: AccessMap
  readonly #log: Logger
  readonly #abort = new AbortController()
  readonly #followed = new Set<DocumentId>()
  #directory: DocHandle<ClinicDirectoryDoc> | null = null
  readonly #ingest: LogIngest
  #register: DocHandle<RegisterLike> | null = null
  #membership: DocHandle<MembershipLike> | null = null
  #root: DocHandle<RootLike> | null = null
  #todayMapped = false
  /** Newest verified user records and every verified revocation, kept in the clinic's checkpoint. */
  readonly #trust: ClinicTrustState

  /** The clinic's admin public keys pinned at registration: the roots of its users' endorsements. */
  readonly #adminKeys: () => readonly string[]
  readonly #relayKey: RelayKey
  /** Membership records already logged as refused (each is logged once). */
  readonly #refusedRecords = new Set<string>()
  /** listeners on the repo's handles, taken off at close (the handles outlive the watcher) */
  readonly #offs: (() => void)[] = []
  /** A settler's: read the chunks of documents about to be loaded in one query (else: two per document) */
  readonly #prefetch: ((ids: DocumentId[]) => Prefetch) | undefined
  readonly #settledAtOpen: SettledAtOpen | undefined
  /** Past logs left unopened at a settler's open (every operation they held ingested): opened when woken. */
  readonly dormant = new DormantLogs()

  constructor(
    repo: Repo,
    access: AccessMap,
    settlement: ClinicSettlement,
    log: Logger,
    adminKeys: () => readonly string[],
    relayKey: RelayKey,
    prefetch?: (ids: DocumentId[]) => Prefetch,
    settledAtOpen?: SettledAtOpen,
  ) {
    this.#prefetch = prefetch
    this.#settledAtOpen = settledAtOpen
    this.#relayKey = relayKey
    this.#repo = repo
    this.#access = access
    this.settlement = settlement
    this.clinic = settlement.clinic
    this.#log = log
    this.#adminKeys = adminKeys
    this.#trust = new ClinicTrustState(settlement, log)
    this.#ingest = new LogIngest(settlement, access, log, () => this.register())
  }

  /** The pinned admin keys may have changed (a clinic registered before keys were pinned): trust again from them. */
  adminKeysChanged(): void {
    this.#keysChanged({})
  }

  /**
   * Load or create the clinic's settlement documents (quick: storage only). On a follower (another instance settles
   * the clinic) only map them to the clinic: it serves them and never writes them.
   */
  async openPublisher(state: PublishState): Promise<SettlementPublisher | null> {
    if (!this.settlement.settler) {
      SettlementPublisher.follow(this.settlement, this.#access, state)
      return null
    }
    this.publisher ??= await SettlementPublisher.open(
      this.#repo,
      this.settlement,
      this.#access,
      this.#relayKey,
      this.#abort.signal,
      state,
    )
    return this.publisher
  }

  /** On a follower: show the settler's newest checkpoint, and map the documents it now publishes. */
  async refreshFollower(state: PublishState): Promise<void> {
    if (this.settlement.settler) return
    await this.settlement.reloadFollower()
    SettlementPublisher.follow(this.settlement, this.#access, state)
  }

  /** Map the directory to the clinic and wait (until a device syncs it, or the watcher closes) for it to load. */
  async watchDirectory(directoryUrl: AutomergeUrl): Promise<void> {
    const signal = this.#abort.signal
    this.#access.addDoc(parseAutomergeUrl(directoryUrl).documentId, this.clinic)
    const dir = await findDoc<ClinicDirectoryDoc>(this.#repo, directoryUrl, signal)
    if (signal.aborted) return
    this.#directory = dir
    this.#on(dir, () => this.#scan())
    this.#scan()
  }

  /** Every document this watcher opened for the clinic (to drop from the repo's memory when the clinic is idle). */
  documentIds(): DocumentId[] {
    const ids = new Set<DocumentId>(this.#followed)
    if (this.#directory) ids.add(this.#directory.documentId)
    if (this.publisher)
      for (const h of [this.publisher.inventory, this.publisher.conflicts]) ids.add(h.documentId)
    return [...ids]
  }

  get directoryReady(): boolean {
    return this.#directory !== null
  }

  close(): void {
    this.#abort.abort()
    for (const off of this.#offs.splice(0)) off()
  }

  #on(h: DocHandle<unknown>, fn: () => void): void {
    h.on('change', fn)
    this.#offs.push(() => h.off('change', fn))
  }

  #scan(): void {
    const dir = this.#directory
    if (!dir) return
    const doc = dir.doc()
    if (doc.clinic !== undefined && doc.clinic !== this.clinic) {
      this.#log('directory-clinic-mismatch', { clinic: this.clinic, named: String(doc.clinic) })
      return
    }
    const batch: Follow[] = []
    const follow = (url: string, onDoc: Follow[1]): void => void batch.push([url, onDoc])
    if (doc.recordsRoot) follow(doc.recordsRoot, (h) => this.#followRoot(h))
    if (doc.membership) {
      if (isValidAutomergeUrl(doc.membership))
        this.#access.markMembership(parseAutomergeUrl(doc.membership).documentId)
      follow(doc.membership, (h) => this.#keysChanged({ membership: h as DocHandle<MembershipLike> }))
    }
    if (doc.users) {
      // a clinic with a user register signs its stock operations: from now on unsigned ones are raised for review
      this.settlement.meta.signaturesRequired = true
      follow(doc.users, (h) => this.#keysChanged({ register: h as DocHandle<RegisterLike> }))
    }
    for (const [device, url] of Object.entries(doc.audit ?? {}))
      if (typeof url === 'string' && device) follow(url, null)
    for (const [device, periods] of Object.entries(doc.ledgerLogs ?? {})) {
      for (const [period, url] of Object.entries(periods ?? {})) {
        const onDoc = (h: DocHandle<unknown>): void =>
          this.#ingest.ingest(h as DocHandle<LogLike>, url, device)
        if (!isPastPeriod(period) || !this.#leaveDormant(url, onDoc)) follow(url, onDoc)
      }
    }
    this.#followAll(batch)
    const pub = this.publisher
    if (!pub) return
    const inventory = pub.inventory.url as string as DocUrl
    const conflicts = pub.conflicts.url as string as DocUrl
    if (doc.settlement?.inventory !== inventory || doc.settlement?.conflicts !== conflicts) {
      dir.change((d) => {
        d.settlement = { inventory, conflicts }
      })
    }
  }

  #followRoot(h: DocHandle<unknown>): void {
    this.#root = h as DocHandle<RootLike>
    const root = h.doc() as RootLike
    this.#followAll(rootUrls(root).map((url): Follow => [url, null]))
    // today documents: derived ids, mapped only for a root of this clinic (another id would claim another's)
    if (root.clinic === this.clinic && !this.#todayMapped) {
      this.#todayMapped = true
      mapTodayDocs(this.#access, this.clinic, this.#abort.signal)
    }
  }

  /**
   * What the FHIR bulk export reads (`fhir-export.ts`): the records root's chart buckets (`load` finds one, null when
   * it has not arrived) and a plain copy of every ledger log's operations the relay holds.
   */
  exportSources(): {
    buckets: string[]
    load: (url: string) => Promise<DocHandle<unknown> | null>
    logs: { device: string; ops: unknown[] }[]
  } {
    const buckets = validUrls(this.#root?.doc().chartBuckets)
    const logs = [...this.#ingest.logs.values()].map(({ handle, device }) => ({
      device,
      ops: JSON.parse(JSON.stringify(logEntries(handle.doc().ops))) as unknown[],
    }))
    return {
      buckets,
      load: (url) => findDocWithin<unknown>(this.#repo, url as AutomergeUrl, 10_000, this.#abort.signal),
      logs,
    }
  }

  /**
   * What the console's display names are read from (clinic-names.ts; names are shown to the clinic's signed-in users
   * and never logged): the directory's clinic name, the membership's enrolments with the admin keys that must have
   * signed them, which peer signed each device log's runs, and the records root's index shards and chart buckets.
   */
  nameSources(): NameSources {
    const signers: Record<string, string> = {}
    for (const { handle, device } of this.#ingest.logs.values()) {
      for (const run of logEntries(Object.values(handle.doc().signatures ?? {})) as (RunSignature | null)[])
        if (run?.device === device && typeof run.signer === 'string') signers[device] = run.signer
    }
    const root = this.#root?.doc()
    const name = this.#directory?.doc().name
    return {
      clinic: this.clinic,
      clinicName: typeof name === 'string' && name !== '' ? name : null,
      enrolments: JSON.parse(JSON.stringify(this.#membership?.doc().enrolments ?? {})) as Record<
        string,
        unknown
      >,
      admins: this.#adminKeys().map((k) => k.toLowerCase()),
      signers,
      indexShards: validUrls(root?.indexShards),
      chartBuckets: validUrls(root?.chartBuckets),
      load: (url) => findDocWithin<unknown>(this.#repo, url as AutomergeUrl, 5_000, this.#abort.signal),
    }
  }

  /**
   * The clinic's user register as the relay believes it: only users endorsed (directly or through admins) by the
   * clinic's pinned admin keys, never an older record than the newest it verified (a disabled user written back as
   * their earlier record stays disabled); undefined before it arrived.
   */
  register(): UserRegister | undefined {
    return this.#trust.users(this.#register?.doc().users, this.#adminKeys())
  }

  /** Users' and devices' keys changed: rebuild what the relay trusts and read every log again (waiting ops may pass). */
  #keysChanged(docs: { register?: DocHandle<RegisterLike>; membership?: DocHandle<MembershipLike> }): void {
    this.#register = docs.register ?? this.#register
    this.#membership = docs.membership ?? this.#membership
    const users: Record<string, string> = {}
    for (const [id, u] of Object.entries(this.register()?.users ?? {}))
      if (typeof u?.publicKey === 'string') users[id] = u.publicKey
    this.#ingest.keys = { users, peers: this.#trust.peers(this.#peers()) } // a revocation deleted from the document still counts
    // a revoked peer cuts off the devices whose runs it signed, read from every log (log-ingest.ts): none stays dormant
    if (this.dormant.size > 0 && this.#ingest.anyRevokedPeer) void this.dormant.wakeAll()
    this.#ingest.again()
  }

  /** Device peers as the clinic's admins vouched for them (membership-peers.ts). */
  #peers(): Record<string, string | null> {
    const m = this.#membership?.doc()
    if (!m) return {}
    return vouchedPeers(m, this.clinic, this.#adminKeys(), this.#refusedRecords, this.#log)
  }

  /**
   * Map documents to the clinic, load them, and call each one's `onDoc` now and on every change. A settler reads the
   * chunks of those not loaded yet in one query first (a cold open: the records root and its documents, membership).
   */
  #followAll(docs: readonly Follow[]): void {
    const fresh: [DocumentId, AutomergeUrl, Follow[1]][] = []
    for (const [url, onDoc] of docs) {
      const id = this.#claim(url)
      if (id) fresh.push([id, url as AutomergeUrl, onDoc])
    }
    const ahead = this.#prefetch?.(fresh.map(([id]) => id))
    for (const [id, url, onDoc] of fresh)
      if (ahead?.read.includes(id)) void ahead.done.then(() => this.#load(id, url, onDoc))
      else void this.#load(id, url, onDoc)
  }

  /** Whether a past log is left dormant (mapped, not opened): a settler's, holding nothing unsettled. */
  #leaveDormant(url: string, onDoc: Follow[1]): boolean {
    if (!this.#settledAtOpen || !isValidAutomergeUrl(url)) return false
    const id = parseAutomergeUrl(url).documentId
    if (this.#followed.has(id) || !this.#settledAtOpen(id, url)) return false
    if (this.#claim(url)) this.dormant.add(id, () => this.#load(id, url, onDoc))
    return true
  }

  /** A document's id once mapped to this clinic; null: not a URL, followed already, or another clinic's. */
  #claim(url: string): DocumentId | null {
    if (!isValidAutomergeUrl(url)) {
      this.#log('bad-url', { clinic: this.clinic })
      return null
    }
    const id = parseAutomergeUrl(url).documentId
    if (this.#followed.has(id)) return null
    this.#followed.add(id)
    if (!this.#access.addDoc(id, this.clinic)) {
      this.#log('claim-refused', { clinic: this.clinic, doc: id })
      return null
    }
    return id
  }

  #load(id: DocumentId, url: AutomergeUrl, onDoc: Follow[1]): Promise<void> {
    if (this.#abort.signal.aborted) return Promise.resolve()
    return findDoc<unknown>(this.#repo, url, this.#abort.signal).then(
      (h) => {
        if (!onDoc || this.#abort.signal.aborted) return
        const run = (): void => {
          try {
            onDoc(h)
          } catch (err) {
            this.#log('follow-failed', { clinic: this.clinic, doc: id, error: (err as Error).name })
          }
        }
        this.#on(h, run)
        run()
      },
      (err: unknown) => {
        if (!this.#abort.signal.aborted)
          this.#log('find-failed', { clinic: this.clinic, doc: id, error: (err as Error).name })
      },
    )
  }
}
