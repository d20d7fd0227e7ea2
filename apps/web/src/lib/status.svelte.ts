import type { WebSocketClientAdapter } from '@automerge/automerge-repo-network-websocket'
import { api, pick } from './api.js'

export interface Peer {
  id: string
  name: string
}

/** What the device node says about sync, as last heard, plus whether this browser can reach the node. */
export interface SyncSnapshot {
  /** The page's own socket to the device node (browser repo ↔ node). */
  socket: boolean
  /** The last `GET /api/status` succeeded. */
  device: boolean
  deviceName: string
  peers: Peer[]
  relayReachable: boolean | undefined
  /** false when the device node runs without a relay (`relay.url` null): nothing to reach, nothing wrong. */
  relayConfigured: boolean | undefined
  /** Ledger operations this clinic's devices wrote that the relay has not settled yet. */
  pendingOps: number | undefined
  lastSettlementAt: string | undefined
  /** When the device node last answered. */
  heardAt: string | undefined
}

function peersOf(raw: unknown): Peer[] {
  const list = pick<unknown[]>(raw, 'peers', 'meshPeers') ?? pick<unknown[]>(pick(raw, 'mesh'), 'peers') ?? []
  if (!Array.isArray(list)) return []
  return list.map((p) => {
    if (typeof p === 'string') return { id: p, name: p }
    const id = pick<string>(p, 'id', 'peerId', 'device') ?? '?'
    return { id, name: pick<string>(p, 'name', 'deviceName', 'label') ?? id }
  })
}

/** Reads the device API's status reply (docs/api.md `GET /api/status`). */
export function parseStatus(raw: unknown): Omit<SyncSnapshot, 'socket' | 'device' | 'heardAt'> {
  const relay = pick<unknown>(raw, 'relay')
  const relayReachable = typeof relay === 'object' ? pick<boolean>(relay, 'reachable', 'connected') : pick<boolean>(raw, 'relayReachable')
  const relayConfigured = typeof relay === 'object' && relay !== null && 'url' in relay ? (relay as { url: unknown }).url !== null : undefined
  const ledger = pick<unknown>(raw, 'ledger', 'stock', 'settlement')
  const pendingOps = pick<number>(raw, 'pendingOps', 'unsettledOps', 'opsPending') ?? pick<number>(ledger, 'pending', 'pendingOps', 'unsettled', 'unsettledOps')
  const lastSettlementAt = pick<string>(raw, 'lastSettlementAt', 'settledAt') ?? pick<string>(ledger, 'lastSettlementAt', 'settledAt')
  const device = pick<unknown>(raw, 'device')
  const deviceName = (typeof device === 'string' ? device : pick<string>(device, 'name', 'id')) ?? pick<string>(raw, 'deviceName', 'name') ?? ''
  return { peers: peersOf(raw), relayReachable, relayConfigured, pendingOps, lastSettlementAt, deviceName }
}

/** Polls the device node's status every few seconds and follows the browser socket. */
export class SyncStatus {
  current = $state<SyncSnapshot>({
    socket: false,
    device: false,
    deviceName: '',
    peers: [],
    relayReachable: undefined,
    relayConfigured: undefined,
    pendingOps: undefined,
    lastSettlementAt: undefined,
    heardAt: undefined,
  })

  constructor(network: WebSocketClientAdapter) {
    network.on('peer-candidate', () => (this.current.socket = true))
    network.on('peer-disconnected', () => (this.current.socket = false))
  }

  async poll(): Promise<void> {
    try {
      const raw = await api<unknown>('GET', '/api/status', undefined, 3000)
      Object.assign(this.current, parseStatus(raw), { device: true, heardAt: new Date().toISOString() })
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
