import { decodeSyncMessage } from '@automerge/automerge'
import type { Message, PeerId, Repo } from '@automerge/automerge-repo'
import { WebSocketClientAdapter } from '@automerge/automerge-repo-network-websocket'
import { ClinicMeshError } from '@clinic-mesh/contracts'
import { signRelayProof, type Enrolment, type RelayProof, type RelayProofKind } from '@clinic-mesh/mesh'
import { log } from './log.js'

/**
 * The relay answered with another identity key than the one this device pinned: it is not the relay this device
 * knows (a replaced or impersonated relay, or one that lost its data dir). The link stays down until an operator
 * looks (a new pin means editing the device's config: never silently).
 */
export class RelayKeyMismatchError extends ClinicMeshError {
  constructor(message: string) {
    super('RelayKeyMismatchError', message)
  }
}

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
}

/**
 * A WebSocket client adapter that never retries by itself (the link does, with backoff) and never throws from a
 * socket error (the stock adapter rethrows anything but ECONNREFUSED, which would kill the process).
 */
class OneShotAdapter extends WebSocketClientAdapter {
  readonly #relayOnly: () => readonly string[]
  constructor(url: string, onOpen: () => void, onClose: () => void, relayOnly: () => readonly string[]) {
    super(url, 3_600_000)
    this.#relayOnly = relayOnly
    const open = this.onOpen
    this.onOpen = () => {
      open()
      onOpen()
    }
    this.onClose = () => {
      if (this.remotePeerId) this.emit('peer-disconnected', { peerId: this.remotePeerId })
      onClose()
    }
    this.onError = () => onClose()
  }

  /**
   * A sync message carrying changes to a document only the relay writes is not sent: such a change can only be a
   * member's forgery that reached this device over the mesh (devices ignore it: it does not verify), and the relay
   * closes any socket that sends one — an honest device must not lose its link for passing it on.
   */
  override send(message: Message): void {
    const m = message as { type: string; documentId?: string; data?: Uint8Array }
    if ((m.type === 'sync' || m.type === 'request') && m.documentId && m.data && this.#relayOnly().includes(m.documentId)) {
      let changes = 1
      try {
        changes = decodeSyncMessage(m.data).changes.length
      } catch {
        // undecodable: not sent either
      }
      if (changes > 0) {
        log('relay-only-change-withheld', { doc: m.documentId, changes })
        return
      }
    }
    super.send(message)
  }
}

const MIN_BACKOFF_MS = 250
const MAX_BACKOFF_MS = 30_000

/**
 * The device's link to the relay: registers the clinic and this device's repo peer id (`POST /api/clinics`), then
 * adds an automerge-repo WebSocket adapter to the repo; on loss, removes it and tries again with exponential backoff.
 * `connected` is true only while the relay has answered the join; `lastSyncAt` is when a sync message last arrived.
 */
export class RelayLink {
  readonly #repo: Repo
  readonly #base: string
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

  /** `url` is `ws://host:port` (the relay's `/sync` is appended when missing). */
  readonly #creds: RelayCredentials

  constructor(repo: Repo, url: string, reg: RelayRegistration, creds: RelayCredentials, onPeer: (remote: PeerId | undefined) => void) {
    this.#repo = repo
    this.#base = url.replace(/\/sync\/?$/, '').replace(/\/$/, '')
    this.#reg = reg
    this.#creds = creds
    this.#onPeer = onPeer
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
    }
  }

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
    let syncUrl: string
    try {
      if (!this.#registered) await this.#register()
      // every socket is opened with a fresh proof: the relay spends each nonce once
      const { peerId } = this.#reg
      const proof = await this.#prove('sync', [peerId])
      const q = new URLSearchParams({ peer: peerId, nonce: proof.nonce, signature: proof.signature })
      syncUrl = `${this.#base.replace(/^http/, 'ws')}/sync?${q.toString()}`
    } catch (err) {
      this.#lastError = err instanceof RelayKeyMismatchError ? `${err.name}: ${err.message}` : err instanceof Error ? err.message : String(err)
      return this.#retry()
    }
    if (this.#stopped || !this.#enabled || this.#adapter) return
    const adapter = new OneShotAdapter(syncUrl, () => {}, () => this.#lost(adapter), () => this.#creds.relayOnlyDocs?.() ?? [])
    adapter.on('peer-candidate', ({ peerId }) => {
      this.#connected = true
      this.#remote = peerId
      this.#backoff = MIN_BACKOFF_MS
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

  /** Signs a fresh relay nonce (`GET /api/challenge`) with the device key over `fields`. */
  async #prove(kind: RelayProofKind, fields: string[]): Promise<RelayProof> {
    const res = await fetch(`${this.#http}/api/challenge`, { signal: AbortSignal.timeout(5_000) })
    if (res.status !== 200) throw new Error(`relay gave no challenge: HTTP ${res.status}`)
    const { nonce } = (await res.json()) as { nonce: string }
    return signRelayProof(this.#creds.deviceSeed, kind, nonce, fields)
  }

  get #http(): string {
    return this.#base.replace(/^ws/, 'http')
  }

  async #register(): Promise<void> {
    const enrolment = this.#creds.enrolment()
    if (!enrolment) throw new Error('this device has no enrolment to show the relay')
    const { clinic, directoryUrl, peerId } = this.#reg
    const { devicePeerId } = this.#creds
    const proof = await this.#prove('register', [clinic, directoryUrl, peerId, devicePeerId])
    const res = await fetch(`${this.#http}/api/clinics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...this.#reg, devicePeerId, enrolment, adminPublicKeys: this.#creds.adminPublicKeys, proof }),
      signal: AbortSignal.timeout(5_000),
    })
    if (res.status !== 200 && res.status !== 201) {
      const body = (await res.json().catch(() => ({}))) as { error?: { name?: string; message?: string } }
      throw new Error(`relay refused registration: HTTP ${res.status} ${body.error?.name ?? ''} ${body.error?.message ?? ''}`.trim())
    }
    const reply = (await res.json().catch(() => ({}))) as { relayKey?: unknown }
    await this.#checkRelayKey(reply.relayKey)
    this.#registered = true
  }

  /** Pin the relay's key at the first registration; afterwards a different one is refused, loudly. */
  async #checkRelayKey(offered: unknown): Promise<void> {
    const pin = this.#creds.relayKey
    if (!pin) return
    if (typeof offered !== 'string' || !/^[0-9a-f]{64}$/.test(offered)) throw new RelayKeyMismatchError('the relay sent no identity key (an older or a foreign relay)')
    const pinned = pin.pinned()
    if (pinned === undefined) {
      await pin.pin(offered)
      log('relay-key-pinned', { relayKey: offered })
      return
    }
    if (pinned !== offered) {
      const err = new RelayKeyMismatchError(`the relay presents key ${offered.slice(0, 16)}…, this device pinned ${pinned.slice(0, 16)}…: not connecting`)
      log('relay-key-mismatch', { error: err.name, pinned, offered })
      throw err
    }
  }

  #lost(adapter: OneShotAdapter): void {
    if (this.#adapter !== adapter) return
    this.#lastError = 'relay connection lost'
    this.#drop()
    this.#retry()
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

  #retry(): void {
    if (this.#stopped || !this.#enabled) return
    const wait = this.#backoff * (0.75 + Math.random() * 0.5)
    this.#backoff = Math.min(this.#backoff * 2, MAX_BACKOFF_MS)
    this.#timer = setTimeout(() => void this.#attempt(), wait)
    this.#timer.unref()
  }
}
