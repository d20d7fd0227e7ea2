import { createSocket, type RemoteInfo, type Socket } from 'node:dgram'
import { MDNS_GROUP, MDNS_PORT } from './constants.js'
import type { LanInterface } from './interfaces.js'

export interface LinkSocketState {
  /** interface name, or `default` for the socket that follows the routing table */
  name: string
  /** the interface's IPv4 address; null for the default socket */
  address: string | null
  /** open and its last send succeeded */
  ok: boolean
  /** the last bind/membership/send failure (e.g. `ENETUNREACH`: no multicast route) */
  error: string | null
}

/**
 * One mDNS socket on one link: bound to 0.0.0.0:5353 (shared, SO_REUSEADDR), member of 224.0.0.251 on that
 * interface and sending out of it (IP_MULTICAST_IF), so no default or multicast route is needed. Without an
 * interface it is the "default" socket: membership and sends follow the routing table (the old behaviour).
 */
export class LinkSocket {
  readonly iface: LanInterface | undefined
  readonly #socket: Socket
  readonly #ready: Promise<void>
  #error: string | null = null
  #open = false
  #closed = false

  constructor(
    iface: LanInterface | undefined,
    onMessage: (msg: Buffer, from: RemoteInfo, link: LinkSocket) => void,
    onFailure: (link: LinkSocket) => void,
    port = MDNS_PORT,
  ) {
    this.iface = iface
    this.#socket = createSocket({ type: 'udp4', reuseAddr: true })
    this.#socket.on('message', (msg, from) => onMessage(msg, from, this))
    this.#ready = new Promise<void>((resolve) => {
      this.#socket.once('listening', () => {
        try {
          if (iface) {
            this.#socket.addMembership(MDNS_GROUP, iface.address)
            this.#socket.setMulticastInterface(iface.address)
          } else {
            this.#socket.addMembership(MDNS_GROUP)
          }
          this.#socket.setMulticastTTL(255)
          this.#socket.setMulticastLoopback(true)
          this.#open = true
        } catch (err) {
          this.#fail(err, onFailure)
        }
        resolve()
      })
      this.#socket.on('error', (err) => {
        this.#fail(err, onFailure)
        resolve()
      })
    })
    this.#socket.bind(port)
  }

  get key(): string {
    return this.iface ? `${this.iface.name}/${this.iface.address}` : 'default'
  }

  state(): LinkSocketState {
    return {
      name: this.iface?.name ?? 'default',
      address: this.iface?.address ?? null,
      ok: this.#open && this.#error === null,
      error: this.#error,
    }
  }

  /** Sends one packet to the group out of this link; a failure is kept in `state().error`, never thrown. */
  async send(packet: Buffer): Promise<void> {
    await this.#ready
    if (!this.#open || this.#closed) return
    await new Promise<void>((resolve) =>
      this.#socket.send(packet, MDNS_PORT, MDNS_GROUP, (err) => {
        this.#error = err ? errorCode(err) : null
        resolve()
      }),
    )
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    try {
      this.#socket.close()
    } catch {
      // already closed by an error
    }
  }

  #fail(err: unknown, onFailure: (link: LinkSocket) => void): void {
    this.#error = errorCode(err)
    this.#open = false
    onFailure(this)
  }
}

function errorCode(err: unknown): string {
  if (err instanceof Error) return (err as NodeJS.ErrnoException).code ?? err.name
  return String(err)
}
