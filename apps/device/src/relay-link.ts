import { randomBytes } from 'node:crypto'
import type { PeerId, Repo } from '@automerge/automerge-repo'
import {
  ChallengeReplySchema,
  ErrorReplySchema,
  IdentityReplySchema,
  RegistrationReplySchema,
  tryParse,
  type Input,
  type RegistrationRequestSchema,
} from '@clinic-mesh/contracts'
import {
  signRelayProof,
  verifyRelayIdentity,
  type Enrolment,
  type RelayProof,
  type RelayProofKind,
} from '@clinic-mesh/mesh'
import {
  RelayAuthError,
  RelayKeyMismatchError,
  failoverOrder,
  relayUrls,
  type RelayTransport,
} from './relay-url.js'
import { OneShotAdapter } from './relay-socket.js'
import { MAX_REDIRECTS, RelayRedirectError, redirectIndex } from './relay-redirect.js'
import { relayRequest } from './relay-request.js'

export { RelayRedirectError } from './relay-redirect.js'
export {
  RelayAuthError,
  RelayKeyMismatchError,
  checkRelayUrl,
  failoverOrder,
  relayUrls,
  type RelayTransport,
} from './relay-url.js'
import { log } from './log.js'

/** The relay's identity key as this device pins it (device config `relayKey`). */
export interface RelayKeyPin {
  pinned(): string | undefined
  /** Called once, at the first registration that names a key, when none was pinned. */
  pin(key: string): Promise<void>
}

export interface RelayRegistration {
  clinic: string
  directoryUrl: string
  peerId: string
}

/** What the device proves itself to the relay with: its libp2p key, its enrolment and the clinic's admin keys. */
export interface RelayCredentials {
  /** the device's libp2p peer id (its key; the enrolment names it) */
  devicePeerId: string
  /** the 32-byte Ed25519 seed of the device's libp2p key */
  deviceSeed: Uint8Array
  /** this device's enrolment, signed by a clinic admin (undefined: not enrolled, the relay will refuse) */
  enrolment(): Enrolment | undefined
  adminPublicKeys: string[]
  /** The relay key pinned by this device (absent: nothing is pinned, e.g. unit tests). */
  relayKey?: RelayKeyPin
  /** Document ids only the relay writes (settled inventory, conflict queue): this device never sends it changes to them. */
  relayOnlyDocs?: () => readonly string[]
}

export interface RelayStatus {
  url: string
  enabled: boolean
  connected: boolean
  registered: boolean
  lastSyncAt: string | null
  lastError: string | null
  /** Link attempts made since start (each refused or failed one too). */
  attempts: number
}

const MIN_BACKOFF_MS = 250
const MAX_BACKOFF_MS = 30_000

/**
 * The device's link to the relay: registers the clinic and this device's repo peer id (`POST /api/clinics`), then
 * adds an automerge-repo WebSocket adapter to the repo; on loss, removes it and tries again with exponential backoff.
 * `connected` is true only while the relay has answered the join; `lastSyncAt` is when a sync message last arrived.
 * Given several relay URLs (instances of one relay), a failed attempt or a lost link moves on to the next one; the
 * backoff grows only once every one of them failed in a row; after the first, the others are tried in an order derived
 * from the clinic id (`failoverOrder`). Every instance must prove the one pinned relay key.
 */
export class RelayLink {
  readonly #repo: Repo
  readonly #bases: string[]
  /** the URL tried now, and how many failed in a row since one last worked */
  #at = 0
  #failedInRow = 0
  /** redirects followed since the link last worked; past MAX_REDIRECTS the next socket asks to be served (`stay`) */
  #redirects = 0
  readonly #reg: RelayRegistration
  #adapter: OneShotAdapter | undefined
  #enabled = true
  #stopped = false
  #connected = false
  #registered = false
  #remote: PeerId | undefined
  #lastSyncAt: string | null = null
  #lastError: string | null = null
  #backoff = MIN_BACKOFF_MS
  #timer: NodeJS.Timeout | undefined
  readonly #onPeer: (remote: PeerId | undefined) => void
  readonly #transport: RelayTransport
  /** The relay key proven by the last identity proof (what registration's reply must name). */
  #proven: string | undefined

  /** `url` is `wss://host:port[,wss://host2:port]` (the relay's `/sync` is appended); see `relayUrls`. */
  readonly #creds: RelayCredentials

  constructor(
    repo: Repo,
    url: string,
    reg: RelayRegistration,
    creds: RelayCredentials,
    onPeer: (remote: PeerId | undefined) => void,
    transport: RelayTransport = {},
  ) {
    // the first URL first, the others in an order of this clinic's (its devices fail over together, clinics apart)
    this.#bases = failoverOrder(relayUrls(url, transport.insecure), reg.clinic)
    this.#repo = repo
    this.#reg = reg
    this.#creds = creds
    this.#onPeer = onPeer
    this.#transport = transport
  }

  get #base(): string {
    return this.#bases[this.#at % this.#bases.length]!
  }

  get remotePeerId(): PeerId | undefined {
    return this.#connected ? this.#remote : undefined
  }

  status(): RelayStatus {
    return {
      url: this.#base,
      enabled: this.#enabled,
      connected: this.#connected,
      registered: this.#registered,
      lastSyncAt: this.#lastSyncAt,
      lastError: this.#lastError,
      attempts: this.#attempts,
    }
  }

  #attempts = 0

  start(): void {
    void this.#attempt()
  }

  setEnabled(on: boolean): void {
    if (on === this.#enabled) return
    this.#enabled = on
    if (on) {
      this.#backoff = MIN_BACKOFF_MS
      void this.#attempt()
    } else {
      clearTimeout(this.#timer)
      this.#drop()
    }
  }

  stop(): void {
    this.#stopped = true
    clearTimeout(this.#timer)
    this.#drop()
  }

  async #attempt(): Promise<void> {
    clearTimeout(this.#timer)
    if (this.#stopped || !this.#enabled || this.#adapter) return
    this.#attempts++
    let syncUrl: string
    try {
      // the relay proves its identity key before this device shows it anything: registration, then every socket
      await this.#proveRelay()
      if (!this.#registered) await this.#register()
      // every socket is opened with a fresh proof: the relay spends each nonce once
      const { peerId } = this.#reg
      const proof = await this.#prove('sync', [peerId])
      const q = new URLSearchParams({ peer: peerId, nonce: proof.nonce, signature: proof.signature })
      if (this.#redirects > MAX_REDIRECTS) q.set('stay', '1')
      syncUrl = `${this.#base.replace(/^http/, 'ws')}/sync?${q.toString()}`
    } catch (err) {
      const text = describeError(err)
      if (err instanceof RelayAuthError && text !== this.#lastError)
        log('relay-auth-failed', { error: 'RelayAuthError', cause: err.name, message: err.message })
      this.#lastError = text
      return this.#retry()
    }
    if (this.#stopped || !this.#enabled || this.#adapter) return
    const adapter = new OneShotAdapter(
      syncUrl,
      () => {},
      () => this.#lost(adapter),
      () => this.#creds.relayOnlyDocs?.() ?? [],
      this.#transport.ca,
    )
    adapter.on('peer-candidate', ({ peerId }) => {
      this.#connected = true
      this.#remote = peerId
      this.#backoff = MIN_BACKOFF_MS
      this.#failedInRow = 0
      this.#redirects = 0
      this.#lastError = null
      this.#lastSyncAt = new Date().toISOString()
      this.#onPeer(peerId)
    })
    adapter.on('message', () => {
      this.#lastSyncAt = new Date().toISOString()
    })
    this.#adapter = adapter
    this.#repo.networkSubsystem.addNetworkAdapter(adapter)
  }

  /**
   * The relay signs this device's own fresh nonce (with the clinic and the repo peer id) with its identity key
   * (`GET /api/identity`); it must verify under the pinned key. With nothing pinned yet (first registration, no
   * `--relay-key`), the proven key is the one registration pins: trust on first use.
   */
  async #proveRelay(): Promise<void> {
    const nonce = randomBytes(32).toString('base64url')
    const { clinic, peerId } = this.#reg
    const q = new URLSearchParams({ nonce, clinic, peer: peerId })
    const res = await this.#request('GET', `/api/identity?${q.toString()}`)
    if (res.status !== 200)
      throw new RelayAuthError(
        `the relay did not prove its identity: GET /api/identity answered HTTP ${res.status} (an older or a foreign relay)`,
      )
    const proof = tryParse(IdentityReplySchema, res.body)
    if (!proof || !verifyRelayIdentity(proof.relayKey, proof.signature, nonce, clinic, peerId)) {
      throw new RelayAuthError(
        'the relay’s identity proof does not verify: it does not hold the key it names',
      )
    }
    const { relayKey } = proof
    const pinned = this.#creds.relayKey?.pinned() ?? this.#proven
    if (pinned !== undefined && pinned !== relayKey) {
      const err = new RelayKeyMismatchError(
        `the relay proves key ${relayKey.slice(0, 16)}…, this device pinned ${pinned.slice(0, 16)}…: not connecting`,
      )
      log('relay-key-mismatch', { error: err.name, pinned, offered: relayKey })
      throw err
    }
    this.#proven = relayKey
  }

  /** Signs a fresh relay nonce (`GET /api/challenge`) with the device key over `fields`. */
  async #prove(kind: RelayProofKind, fields: string[]): Promise<RelayProof> {
    const res = await this.#request('GET', '/api/challenge')
    if (res.status !== 200) throw new Error(`relay gave no challenge: HTTP ${res.status}`)
    const challenge = tryParse(ChallengeReplySchema, res.body)
    if (!challenge) throw new Error('relay gave no challenge nonce')
    return signRelayProof(this.#creds.deviceSeed, kind, challenge.nonce, fields)
  }

  #request(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    return relayRequest(this.#base, method, path, body, this.#transport.ca)
  }

  async #register(): Promise<void> {
    const enrolment = this.#creds.enrolment()
    if (!enrolment) throw new Error('this device has no enrolment to show the relay')
    const { clinic, directoryUrl, peerId } = this.#reg
    const { devicePeerId } = this.#creds
    const proof = await this.#prove('register', [clinic, directoryUrl, peerId, devicePeerId])
    const request: Input<typeof RegistrationRequestSchema> = {
      ...this.#reg,
      devicePeerId,
      enrolment,
      adminPublicKeys: this.#creds.adminPublicKeys,
      proof,
    }
    const res = await this.#request('POST', '/api/clinics', request)
    if (res.status !== 200 && res.status !== 201) {
      const body = tryParse(ErrorReplySchema, res.body)
      throw new Error(
        `relay refused registration: HTTP ${res.status} ${body?.error.name ?? ''} ${body?.error.message ?? ''}`.trim(),
      )
    }
    await this.#checkRelayKey(tryParse(RegistrationReplySchema, res.body)?.relayKey)
    this.#registered = true
  }

  /** Pin the relay's key (the one it just proved) at the first registration; afterwards a different one is refused, loudly. */
  async #checkRelayKey(offered: unknown): Promise<void> {
    if (typeof offered !== 'string' || !/^[0-9a-f]{64}$/.test(offered))
      throw new RelayKeyMismatchError('the relay sent no identity key (an older or a foreign relay)')
    if (offered !== this.#proven)
      throw new RelayKeyMismatchError(
        `the relay registered under key ${offered.slice(0, 16)}… but proved ${String(this.#proven).slice(0, 16)}…: not connecting`,
      )
    const pin = this.#creds.relayKey
    if (!pin) return
    const pinned = pin.pinned()
    if (pinned === undefined) {
      await pin.pin(offered)
      log('relay-key-pinned', { relayKey: offered })
      return
    }
    if (pinned !== offered) {
      const err = new RelayKeyMismatchError(
        `the relay presents key ${offered.slice(0, 16)}…, this device pinned ${pinned.slice(0, 16)}…: not connecting`,
      )
      log('relay-key-mismatch', { error: err.name, pinned, offered })
      throw err
    }
  }

  #lost(adapter: OneShotAdapter): void {
    if (this.#adapter !== adapter) return
    this.#lastError = 'relay connection lost'
    this.#drop()
    if (adapter.redirectedTo !== undefined) this.#redirected(adapter.redirectedTo)
    else this.#retry()
  }

  /**
   * The instance in use sent this device to the instance that settles its clinic: followed only to a URL of this
   * device's own list (else RelayRedirectError, logged, and the next URL of the list as after a failure), at once
   * for the first, then a little later each; past MAX_REDIRECTS in a row (a stale or looping answer) after the
   * backoff, asking the instance to serve the device (`stay=1`).
   */
  #redirected(location: string): void {
    let at: number
    try {
      at = redirectIndex(location, this.#bases)
    } catch (err) {
      const e = err instanceof RelayRedirectError ? err : new RelayRedirectError(String(err))
      log('relay-redirect-refused', { error: e.name, from: this.#base, message: e.message })
      this.#lastError = describeError(e)
      return this.#retry()
    }
    this.#redirects++
    this.#at = at
    let wait = (this.#redirects - 1) * MIN_BACKOFF_MS
    if (this.#redirects > MAX_REDIRECTS) {
      log('relay-redirect-loop', { error: 'RelayRedirectError', at: this.#base, redirects: this.#redirects })
      wait = this.#backoff
      this.#backoff = Math.min(this.#backoff * 2, MAX_BACKOFF_MS)
    }
    if (this.#stopped || !this.#enabled) return
    this.#timer = setTimeout(() => void this.#attempt(), wait)
    this.#timer.unref()
  }

  #drop(): void {
    const adapter = this.#adapter
    this.#adapter = undefined
    if (this.#connected) {
      this.#connected = false
      this.#onPeer(undefined)
    }
    if (!adapter) return
    try {
      if (adapter.socket) this.#repo.networkSubsystem.removeNetworkAdapter(adapter)
    } catch {
      // the socket never opened: nothing to close
    }
  }

  /** Try again, at the next relay URL: at once while some in the list have not failed yet, else after the backoff. */
  #retry(): void {
    if (this.#stopped || !this.#enabled) return
    this.#at = (this.#at + 1) % this.#bases.length
    this.#failedInRow++
    let wait = MIN_BACKOFF_MS / 5
    if (this.#failedInRow >= this.#bases.length) {
      wait = this.#backoff * (0.75 + Math.random() * 0.5)
      this.#backoff = Math.min(this.#backoff * 2, MAX_BACKOFF_MS)
    }
    this.#timer = setTimeout(() => void this.#attempt(), wait)
    this.#timer.unref()
  }
}

/** What `status().lastError` says: auth failures under their common name, transport errors with their code. */
function describeError(err: unknown): string {
  if (err instanceof RelayAuthError)
    return err.name === 'RelayAuthError'
      ? `${err.name}: ${err.message}`
      : `RelayAuthError: ${err.name}: ${err.message}`
  if (!(err instanceof Error)) return String(err)
  const code = (err as NodeJS.ErrnoException).code
  return code && !err.message.includes(code) ? `${err.message} (${code})` : err.message
}
