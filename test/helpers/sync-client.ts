import { Repo, type AutomergeUrl, type PeerId, type PeerMetadata } from '@automerge/automerge-repo'
import { WebSocketClientAdapter } from '@automerge/automerge-repo-network-websocket'
import type { ClinicDirectoryDoc } from '@clinic-mesh/contracts'
import { summarize, type Chart, type ChartCollection } from '@clinic-mesh/records'
import { ClinicStore, findDoc } from '@clinic-mesh/store'
import { WebSocket } from 'ws'
import type { DeviceProcess } from './device-process.js'

/**
 * The stock client adapter, opening its socket with a session cookie as a signed-in browser does (the device node
 * refuses `/sync` without one). No retries: a test's socket stays up for the test.
 */
class SessionSocketAdapter extends WebSocketClientAdapter {
  readonly #cookie: string

  constructor(url: string, cookie: string) {
    super(url, 0)
    this.#cookie = cookie
  }

  override connect(peerId: PeerId, meta?: PeerMetadata): void {
    this.peerId = peerId
    this.peerMetadata = meta ?? {}
    const socket = new WebSocket(this.url, { headers: { cookie: this.#cookie } })
    socket.binaryType = 'arraybuffer'
    this.socket = socket
    socket.addEventListener('open', this.onOpen)
    socket.addEventListener('close', this.onClose)
    socket.addEventListener('message', this.onMessage)
    socket.addEventListener('error', () => undefined)
  }
}

/** A browser-like client of a device node: its own in-memory repo synced over `/sync` as a signed-in user. */
export class SyncClient {
  readonly repo: Repo
  readonly store: ClinicStore<ChartCollection>

  private constructor(repo: Repo, store: ClinicStore<ChartCollection>) {
    this.repo = repo
    this.store = store
  }

  static async open(
    device: DeviceProcess,
    as: { name: string; role: string },
    peerId = `web-test-${Date.now()}`,
  ): Promise<SyncClient> {
    const token = await device.token(as)
    const status = await device.api<{ clinic: { directoryUrl: string } }>('GET', '/api/status')
    const adapter = new SessionSocketAdapter(`ws://127.0.0.1:${device.port}/sync`, `cm_session=${token}`)
    const repo = new Repo({ network: [adapter], peerId: peerId as PeerId })
    const dir = await findDoc<ClinicDirectoryDoc>(repo, status.body.clinic.directoryUrl as AutomergeUrl)
    const store = await ClinicStore.open<ChartCollection>(
      repo,
      dir.doc().recordsRoot as unknown as AutomergeUrl,
      {
        summarize: (bucket, pid) => {
          const chart = bucket.charts[pid]
          return chart ? summarize(chart) : undefined
        },
      },
    )
    return new SyncClient(repo, store)
  }

  /** Applies a records helper to a chart in this client's copy (it reaches the node over `/sync`). */
  async change<T>(pid: string, fn: (chart: Chart) => T): Promise<T> {
    let out: T | undefined
    await this.store.change(pid, (d) => {
      const chart = d.charts[pid]
      if (!chart) throw new Error(`no chart for ${pid}`)
      out = fn(chart)
    })
    return out as T
  }

  async chart(pid: string): Promise<Chart | undefined> {
    return (await this.store.bucketFor(pid)).doc().charts[pid]
  }

  async close(): Promise<void> {
    await this.repo.shutdown()
  }
}
