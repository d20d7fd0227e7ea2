import type { Message, PeerId, PeerMetadata } from '@automerge/automerge-repo'
import { WebSocketClientAdapter } from '@automerge/automerge-repo-network-websocket'
import type NodeWebSocket from 'ws'
import { get as httpGet } from 'node:http'
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { ed25519 } from '@noble/curves/ed25519.js'
import { signEnrolment, signRelayProof, type AdminKeyPair, type Enrolment } from '@clinic-mesh/mesh'
import type { RelayProofKind } from '@clinic-mesh/mesh'

/**
 * What a simulated device needs to be let in by a relay, as the device node does it (test/helpers/relay-auth.ts is
 * the same for the process tests): an Ed25519 device key, an enrolment signed by the clinic's admin key, and a
 * signed one-time relay nonce for each registration and each /sync connection.
 */
export interface DeviceKey {
  seed: Uint8Array
  peerId: string
}

export function newDeviceKey(): DeviceKey {
  const seed = ed25519.utils.randomSecretKey()
  return { seed, peerId: peerIdFromPublicKey(publicKeyFromRaw(ed25519.getPublicKey(seed))).toString() }
}

export function enrol(clinic: string, key: DeviceKey, name: string, admin: AdminKeyPair): Enrolment {
  return signEnrolment({ clinic, devicePeerId: key.peerId, deviceName: name }, admin.secretKey)
}

/** `http://host:port` of a relay from its `ws://host:port/sync` URL. */
export function httpBase(syncUrl: string): string {
  return syncUrl.replace(/\/sync(\?.*)?$/, '').replace(/^ws/, 'http')
}

let addresses = 0
/**
 * Start the addresses after `n` (a generator process takes the range of its clinics' devices, so no two processes
 * hand out the same one).
 */
export function setLoopbackBase(n: number): void {
  addresses = n
}

/**
 * A loopback source address of its own for each simulated device (127.1.0.1, 127.1.0.2, …): the relay caps the
 * nonces outstanding per client address, and real tablets do not share one address.
 */
export function nextLoopbackAddress(): string {
  const k = ++addresses
  return `127.${1 + (k >> 16)}.${(k >> 8) & 255}.${k & 255}`
}

/**
 * `GET /api/challenge` from the device's own address. 30 s before giving up: a relay busy setting up other clinics
 * answers late rather than never (a killed instance refuses the connection at once, so failover is not slowed).
 */
function getChallenge(base: string, localAddress: string): Promise<string> {
  const url = new URL('/api/challenge', base)
  return new Promise((resolve, reject) => {
    const req = httpGet(
      { host: url.hostname, port: url.port, path: url.pathname, localAddress, timeout: 30_000 },
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => (body += c))
        res.on('end', () => {
          if (res.statusCode !== 200) reject(new Error(`no challenge: HTTP ${res.statusCode}`))
          else resolve((JSON.parse(body) as { nonce: string }).nonce)
        })
        res.on('error', reject)
      },
    )
    req.on('timeout', () => req.destroy(new Error('no challenge: timeout')))
    req.on('error', reject)
  })
}

/** Signs a fresh relay nonce over `fields` with `key`, asked for from the device's own address. */
export async function prove(
  base: string,
  key: DeviceKey,
  kind: RelayProofKind,
  fields: string[],
  localAddress: string,
) {
  const nonce = await getChallenge(base, localAddress)
  return signRelayProof(key.seed, kind, nonce, fields)
}

/**
 * The stock WebSocket client adapter over a list of relay instances, with a fresh proof for every (re)connection.
 * Like the device node's relay link: it stays on the instance in use while that one answers (a refused upgrade,
 * e.g. before registration, is retried there), moves to the next at once when it does not answer (no challenge),
 * and waits `retryMs` only once every instance failed in a row.
 */
export class FailoverRelayAdapter extends WebSocketClientAdapter {
  readonly #urls: string[]
  readonly #key: DeviceKey
  readonly address: string
  #at = 0
  #failedInARow = 0
  #closed = false
  #fetching = false
  /** redirects followed since the last link (as the device's relay link: past 3 it asks to be served, `stay=1`) */
  #redirects = 0
  /** called with the new URL each time the adapter moves to another instance */
  onMove: (url: string) => void = () => undefined

  constructor(syncUrls: string[], key: DeviceKey, address: string, retryMs = 200) {
    super(syncUrls[0]!, retryMs)
    this.#urls = syncUrls
    this.#key = key
    this.address = address
    // the stock handler rethrows anything but ECONNREFUSED; a reset or refused upgrade just retries
    this.onError = () => undefined
    this.on('peer-candidate', () => (this.#redirects = 0))
  }

  get current(): string {
    return this.#urls[this.#at]!
  }

  override connect(peerId: PeerId, meta?: PeerMetadata): void {
    // never while a proof is on its way, never replacing a socket still connecting, nor an open one
    if (this.#fetching || this.#closed) return
    if (this.socket?.readyState === 0 || this.socket?.readyState === 1) return
    this.#fetching = true
    const base = httpBase(this.current)
    prove(base, this.#key, 'sync', [peerId], this.address).then(
      (proof) => {
        this.#fetching = false
        this.#failedInARow = 0
        if (this.#closed) return
        const q = new URLSearchParams({ peer: peerId, nonce: proof.nonce, signature: proof.signature })
        if (this.#redirects > 3) q.set('stay', '1')
        ;(this as { url: string }).url = `${base.replace(/^http/, 'ws')}/sync?${q.toString()}`
        super.connect(peerId, meta)
        this.#onRedirect(this.socket as unknown as NodeWebSocket)
      },
      () => {
        this.#fetching = false
        if (this.#closed) return
        this.#failedInARow++
        this.#at = (this.#at + 1) % this.#urls.length
        this.onMove(this.current)
        const wait = this.#failedInARow >= this.#urls.length ? this.retryInterval : 0
        setTimeout(() => this.connect(peerId, meta), wait).unref()
      },
    )
  }

  /**
   * A 307 from an instance that does not settle this device's clinic: the next connection goes to the instance it
   * names, only if that one is in this device's list (as the device's relay link: relay-redirect.ts).
   */
  #onRedirect(socket: NodeWebSocket): void {
    socket.on('unexpected-response', (_req, res) => {
      const location = res.headers.location
      const i = typeof location === 'string' ? this.#urls.findIndex((u) => sameSync(u, location)) : -1
      if (res.statusCode === 307 && i >= 0) {
        this.#redirects++
        this.#at = i
        this.onMove(this.current)
      }
      res.resume()
      socket.terminate()
    })
  }

  /** As the device's adapter (relay-socket.ts): a message for a socket no longer open is dropped, not thrown. */
  override send(message: Message): void {
    if (this.socket?.readyState !== 1) return
    super.send(message)
  }

  override disconnect(): void {
    this.#closed = true
    if (!this.socket) return // no socket yet: a proof was still being fetched
    // closing a socket that is still connecting makes ws emit an error after the stock handlers are removed
    this.socket.addEventListener('error', () => undefined)
    super.disconnect()
  }
}

/** Whether two relay `/sync` URLs name the same instance (query and a trailing `/sync` ignored). */
function sameSync(a: string, b: string): boolean {
  const strip = (u: string): string =>
    u
      .replace(/\?.*$/, '')
      .replace(/\/sync\/?$/, '')
      .replace(/\/$/, '')
  return strip(a) === strip(b)
}
