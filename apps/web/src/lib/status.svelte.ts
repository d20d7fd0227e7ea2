import type { WebSocketClientAdapter } from '@automerge/automerge-repo-network-websocket'
import { StatusReplySchema, type AloneReason, type FoundBy, type StatusReply } from '@clinic-mesh/contracts'
import { api } from './api.js'

export interface Peer {
  id: string
  name: string
  /** how the device node reached it */
  foundBy: FoundBy
}

/** How a peer was reached, as the status bar says it. */
export const FOUND_BY_LABEL: Record<FoundBy, string> = {
  mdns: 'found on the network',
  'address-book': 'by its last known address',
  manual: 'connected by address',
  inbound: 'it connected to us',
}

/** Why no other device is in reach, as the status bar says it. */
export const ALONE_LABEL: Record<AloneReason, string> = {
  'mesh-off': 'sharing with other tablets is switched off on this device',
  'no-interface': 'no network is up on the clinic device (turn on Wi-Fi or plug in a cable)',
  'multicast-failing':
    'this network does not let devices find each other; an admin can connect a tablet by its address',
  'nothing-answering':
    'no other tablet answered: check they are switched on and on the same network, or connect one by its address',
}

/** What the device node says about sync, as last heard, plus whether this browser can reach the node. */
export interface SyncSnapshot {
  /** The page's own socket to the device node (browser repo ↔ node). */
  socket: boolean
  /** The last `GET /api/status` succeeded. */
  device: boolean
  deviceName: string
  peers: Peer[]
  /** why no peer is in reach (undefined: not known) */
  alone: AloneReason | null | undefined
  /** the device node's mesh addresses as `IPv4:port` (what another tablet's "connect to" takes) */
  meshAddresses: string[]
  relayReachable: boolean | undefined
  /** false when the device node runs without a relay (`relay.url` null): nothing to reach, nothing wrong. */
  relayConfigured: boolean | undefined
  /** Ledger operations this clinic's devices wrote that the relay has not settled yet. */
  pendingOps: number | undefined
  /** When the device node last answered. */
  heardAt: string | undefined
  /** A new tablet still pulling the clinic's charts (today's visits first); undefined once it holds them all. */
  chartPull: { done: number; total: number; todayReady: boolean } | undefined
}

/** What the status bar shows of the device API's status reply (docs/api.md `GET /api/status`). */
export function parseStatus(reply: StatusReply): Omit<SyncSnapshot, 'socket' | 'device' | 'heardAt'> {
  if (reply.revoked === true) {
    return {
      peers: [],
      alone: undefined,
      meshAddresses: [],
      relayReachable: undefined,
      relayConfigured: undefined,
      pendingOps: undefined,
      deviceName: reply.device.name,
      chartPull: undefined,
    }
  }
  const pull = reply.charts?.pull
  return {
    peers: reply.peers.map((p) => ({ id: p.id, name: p.name, foundBy: p.foundBy })),
    alone: reply.mesh.alone,
    meshAddresses: reply.mesh.addresses.flatMap((a) => {
      const m = /^\/ip4\/([\d.]+)\/tcp\/(\d+)/.exec(a)
      return m && m[1] !== '127.0.0.1' ? [`${m[1]}:${m[2]}`] : []
    }),
    relayReachable: reply.relay.reachable,
    relayConfigured: reply.relay.url !== null,
    pendingOps: reply.ledger.pending,
    deviceName: reply.device.name,
    chartPull: pull && {
      done: pull.done,
      total: pull.total,
      todayReady: pull.todayDone === pull.todayTotal,
    },
  }
}

/** Polls the device node's status every few seconds and follows the browser socket. */
export class SyncStatus {
  current = $state<SyncSnapshot>({
    socket: false,
    device: false,
    deviceName: '',
    peers: [],
    alone: undefined,
    meshAddresses: [],
    relayReachable: undefined,
    relayConfigured: undefined,
    pendingOps: undefined,
    heardAt: undefined,
    chartPull: undefined,
  })

  constructor(network: WebSocketClientAdapter) {
    network.on('peer-candidate', () => (this.current.socket = true))
    network.on('peer-disconnected', () => (this.current.socket = false))
  }

  async poll(): Promise<void> {
    try {
      const reply = await api('GET', '/api/status', StatusReplySchema, undefined, 3000)
      Object.assign(this.current, parseStatus(reply), { device: true, heardAt: new Date().toISOString() })
    } catch {
      this.current.device = false
      this.current.peers = []
    }
  }

  /** Starts polling; returns the teardown. */
  start(intervalMs = 2000): () => void {
    void this.poll()
    const t = setInterval(() => void this.poll(), intervalMs)
    return () => clearInterval(t)
  }
}
