import type { PeerId, Repo } from '@automerge/automerge-repo'
import { WebSocketClientAdapter } from '@automerge/automerge-repo-network-websocket'

export interface RelayRegistration {
  clinic: string
  directoryUrl: string
  peerId: string
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
  constructor(url: string, onOpen: () => void, onClose: () => void) {
    super(url, 3_600_000)
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
  constructor(repo: Repo, url: string, reg: RelayRegistration, onPeer: (remote: PeerId | undefined) => void) {
    this.#repo = repo
    this.#base = url.replace(/\/sync\/?$/, '').replace(/\/$/, '')
    this.#reg = reg
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
    try {
      if (!this.#registered) await this.#register()
    } catch (err) {
      this.#lastError = err instanceof Error ? err.message : String(err)
      return this.#retry()
    }
    if (this.#stopped || !this.#enabled || this.#adapter) return
    const http = this.#base.replace(/^ws/, 'http')
    const adapter = new OneShotAdapter(`${http.replace(/^http/, 'ws')}/sync`, () => {}, () => this.#lost(adapter))
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

  async #register(): Promise<void> {
    const res = await fetch(`${this.#base.replace(/^ws/, 'http')}/api/clinics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(this.#reg),
      signal: AbortSignal.timeout(5_000),
    })
    if (res.status !== 200 && res.status !== 201) throw new Error(`relay refused registration: HTTP ${res.status}`)
    this.#registered = true
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
