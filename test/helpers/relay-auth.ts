import type { PeerId, PeerMetadata } from '@automerge/automerge-repo'
import { WebSocketClientAdapter } from '@automerge/automerge-repo-network-websocket'
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { ed25519 } from '@noble/curves/ed25519.js'
import {
  generateAdminKey,
  signEnrolment,
  signRelayProof,
  type AdminKeyPair,
  type Enrolment,
  type RelayProofKind,
} from '@clinic-mesh/mesh'

/** A device's libp2p identity, made synchronously: its Ed25519 seed and the peer id that names its key. */
export interface DeviceKey {
  seed: Uint8Array
  peerId: string
}

export function newDeviceKey(): DeviceKey {
  const seed = ed25519.utils.randomSecretKey()
  return { seed, peerId: peerIdFromPublicKey(publicKeyFromRaw(ed25519.getPublicKey(seed))).toString() }
}

/** One admin key per clinic id in this test process (a clinic's TestDevices share it, as real devices do). */
const admins = new Map<string, AdminKeyPair>()
export function clinicAdmin(clinic: string): AdminKeyPair {
  let a = admins.get(clinic)
  if (!a) admins.set(clinic, (a = generateAdminKey()))
  return a
}

export function enrol(
  clinic: string,
  key: DeviceKey,
  name: string,
  admin: AdminKeyPair = clinicAdmin(clinic),
): Enrolment {
  return signEnrolment({ clinic, devicePeerId: key.peerId, deviceName: name }, admin.secretKey)
}

/** `http://host:port` of a relay from its `ws://host:port/sync` URL. */
export function httpBase(syncUrl: string): string {
  return syncUrl.replace(/\/sync(\?.*)?$/, '').replace(/^ws/, 'http')
}

/** Signs a fresh relay nonce over `fields` with `key`. */
export async function prove(base: string, key: DeviceKey, kind: RelayProofKind, fields: string[]) {
  const res = await fetch(`${base}/api/challenge`)
  if (res.status !== 200) throw new Error(`no challenge: HTTP ${res.status}`)
  const { nonce } = (await res.json()) as { nonce: string }
  return signRelayProof(key.seed, kind, nonce, fields)
}

/** A `/sync` URL the relay accepts once, for repo peer `peer` registered with device key `key`. */
export async function syncUrlFor(base: string, peer: string, key: DeviceKey): Promise<string> {
  const proof = await prove(base, key, 'sync', [peer])
  return `${base.replace(/^http/, 'ws')}/sync?${new URLSearchParams({ peer, nonce: proof.nonce, signature: proof.signature }).toString()}`
}

/**
 * The stock client adapter, with a fresh proof for every (re)connection: the relay spends each nonce once, so a
 * reconnect after a relay restart needs a new one (the device node's RelayLink does the same).
 */
export class AuthenticatedRelayAdapter extends WebSocketClientAdapter {
  readonly #base: string
  readonly #key: DeviceKey
  #closed = false

  constructor(syncUrl: string, key: DeviceKey, retryMs = 100) {
    super(syncUrl, retryMs)
    this.#base = httpBase(syncUrl)
    this.#key = key
    // the stock handler rethrows anything but ECONNREFUSED; a refused upgrade (not registered yet) just retries
    this.onError = () => undefined
  }

  #fetching = false

  override connect(peerId: PeerId, meta?: PeerMetadata): void {
    // the stock retry timer fires every retryInterval: never while a proof is on its way, and never replace a socket
    // still connecting (on a loaded machine it may take longer than the interval to open)
    if (this.#fetching || this.#closed || this.socket?.readyState === 0) return
    this.#fetching = true
    syncUrlFor(this.#base, peerId, this.#key).then(
      (url) => {
        this.#fetching = false
        if (this.#closed) return
        ;(this as { url: string }).url = url
        super.connect(peerId, meta)
      },
      () => {
        this.#fetching = false
        if (!this.#closed) setTimeout(() => this.connect(peerId, meta), this.retryInterval).unref()
      },
    )
  }

  override disconnect(): void {
    this.#closed = true
    if (!this.socket) return // no socket yet: a proof was still being fetched
    // closing a socket that is still connecting makes ws emit an error after the stock handlers are removed
    this.socket.addEventListener('error', () => undefined)
    super.disconnect()
  }
}
