import { decodeSyncMessage } from '@automerge/automerge'
import type { Message, PeerId, PeerMetadata } from '@automerge/automerge-repo'
import { WebSocketClientAdapter } from '@automerge/automerge-repo-network-websocket'
import WebSocket from 'ws'
import { log } from './log.js'

/**
 * A WebSocket client adapter that never retries by itself (the link does, with backoff) and never throws from a
 * socket error (the stock adapter rethrows anything but ECONNREFUSED, which would kill the process).
 */
export class OneShotAdapter extends WebSocketClientAdapter {
  readonly #relayOnly: () => readonly string[]
  readonly #ca: string | Buffer | undefined
  /** the `Location` of a 307 the relay answered the upgrade with (its clinic syncs at another instance) */
  redirectedTo: string | undefined
  #readyNow = false
  #markReady: () => void = () => {}
  readonly #ready = new Promise<void>((resolve) => {
    this.#markReady = () => {
      this.#readyNow = true
      resolve()
    }
  })

  constructor(
    url: string,
    onOpen: () => void,
    onClose: () => void,
    relayOnly: () => readonly string[],
    ca?: string | Buffer,
  ) {
    super(url, 3_600_000)
    this.#relayOnly = relayOnly
    this.#ca = ca
    this.on('peer-candidate', () => this.#markReady())
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

  override isReady(): boolean {
    return this.#readyNow
  }

  override whenReady(): Promise<void> {
    return this.#ready
  }

  /** One socket, opened with the link's TLS options (the stock adapter takes none, and retries on a timer). */
  override connect(peerId: PeerId, peerMetadata?: PeerMetadata): void {
    this.peerId = peerId
    this.peerMetadata = peerMetadata ?? {}
    const socket = new WebSocket(this.url, this.#ca === undefined ? {} : { ca: this.#ca })
    socket.binaryType = 'arraybuffer'
    socket.addEventListener('open', this.onOpen)
    socket.addEventListener('close', this.onClose)
    socket.addEventListener('message', this.onMessage)
    socket.addEventListener('error', this.onError)
    // an answer that is not an upgrade: a redirect is recorded for the link to judge (relay-redirect.ts), never
    // followed here; the socket then closes as on any refusal
    socket.on('unexpected-response', (_req, res) => {
      const location = res.headers.location
      if (res.statusCode === 307 && typeof location === 'string') this.redirectedTo = location
      res.resume()
      socket.terminate()
    })
    this.socket = socket
    // like the stock adapter: unavailable documents are not held up by a relay that does not answer
    setTimeout(() => this.#markReady(), 1000).unref()
  }

  /**
   * A sync message carrying changes to a document only the relay writes is not sent: such a change can only be a
   * member's forgery that reached this device over the mesh (devices ignore it: it does not verify), and the relay
   * closes any socket that sends one — an honest device must not lose its link for passing it on.
   */
  override send(message: Message): void {
    const m = message as { type: string; documentId?: string; data?: Uint8Array }
    if (
      (m.type === 'sync' || m.type === 'request') &&
      m.documentId &&
      m.data &&
      this.#relayOnly().includes(m.documentId)
    ) {
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
    // the socket closed meanwhile (the relay went away, or sent this device to another instance): the stock adapter
    // throws, and automerge-repo then leaves the document's sync state broken ("outdated document"); the repo syncs
    // the document again on the next link
    if (this.socket?.readyState !== WebSocket.OPEN) return
    super.send(message)
  }
}
