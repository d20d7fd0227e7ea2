import type { PeerId as RepoPeerId } from '@automerge/automerge-repo'
import type { FoundBy } from './address-book.js'

export interface MeshPeer {
  /** libp2p peer id of the device */
  id: string
  /** enrolled device name */
  name: string
  /** automerge-repo peer id announced in the handshake */
  repoPeerId: RepoPeerId
  /** how the device was reached: mDNS, the address book, an admin's dial, or it dialled us */
  foundBy: FoundBy
}

/** `peers`: the set of synced devices changed (detail: MeshPeer[]). */
export class PeersEvent extends Event {
  constructor(readonly peers: MeshPeer[]) {
    super('peers')
  }
}

/** `stream-error`: a sync stream was reset with a named error (FrameTooLargeError, MalformedFrameError, ...). */
export class StreamErrorEvent extends Event {
  constructor(
    readonly peer: string,
    readonly error: Error,
  ) {
    super('stream-error')
  }
}

/** `refused`: a device was refused (not enrolled, revoked, mesh disabled). */
export class RefusedEvent extends Event {
  constructor(
    readonly peer: string,
    readonly reason: string,
  ) {
    super('refused')
  }
}

/** `addresses`: the address book changed (detail: peer id → multiaddrs); persist it for the next start. */
export class AddressesEvent extends Event {
  constructor(readonly addresses: Record<string, string[]>) {
    super('addresses')
  }
}

export interface MeshEventMap {
  peers: PeersEvent
  addresses: AddressesEvent
  'stream-error': StreamErrorEvent
  refused: RefusedEvent
}

/** Event plumbing of MeshNode, kept apart from its networking. */
export abstract class MeshEvents extends EventTarget {
  abstract peers(): MeshPeer[]

  on<K extends keyof MeshEventMap>(type: K, listener: (evt: MeshEventMap[K]) => void): () => void {
    const l = (evt: Event): void => listener(evt as MeshEventMap[K])
    this.addEventListener(type, l)
    return () => this.removeEventListener(type, l)
  }

  /** @internal */
  emitPeers(): void {
    this.dispatchEvent(new PeersEvent(this.peers()))
  }

  /** @internal */
  emitStreamError(peer: string, error: Error): void {
    this.log(`sync stream with ${peer} reset: ${error.name}: ${error.message}`)
    this.dispatchEvent(new StreamErrorEvent(peer, error))
  }

  /** @internal */
  emitRefused(peer: string, reason: string): void {
    this.dispatchEvent(new RefusedEvent(peer, reason))
  }

  /** Log sink for stream resets; replace to route elsewhere. Defaults to console.warn. */
  log: (line: string) => void = (line) => console.warn(`[clinic-mesh] ${line}`)
}
