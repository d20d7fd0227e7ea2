import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { readFile, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { extname, join, normalize } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { AddressInfo } from 'node:net'
import { WebSocketServer } from 'ws'
import { Repo, type AutomergeUrl, type PeerId } from '@automerge/automerge-repo'
import { NodeFSStorageAdapter } from '@automerge/automerge-repo-storage-nodefs'
import { WebSocketClientAdapter, WebSocketServerAdapter } from '@automerge/automerge-repo-network-websocket'
import type { ClinicDirectoryDoc, DocUrl } from '@clinic-mesh/contracts'
import { ClinicStore, findDoc, shardOf, type ClinicRootDoc } from '@clinic-mesh/store'
import { emptyCollection, summarize, type ChartCollection } from '@clinic-mesh/records'

const DIST = fileURLToPath(new URL('../../apps/web/dist/', import.meta.url))
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.wasm': 'application/wasm',
}

export interface StandInInit {
  dataDir: string
  name: string
  port?: number
  /** `ws://…/sync` of another node to mesh with. */
  peerSync?: string
  /** Join this clinic instead of creating one. */
  directoryUrl?: string
}

interface Dispense {
  id: string
  item: string
  batch: string
  quantity: number
}

interface Line {
  item: string
  itemName: string
  batch: string
  expiry: string
  settled: number
}

/**
 * STAND-IN for apps/device while it is being written: the part of a device node the web app talks to —
 * static apps/web/dist, automerge-repo on `/sync` with on-disk storage, and the JSON endpoints the app calls
 * (`GET /api/status`, `GET /api/stock`, `POST /api/stock/dispenses`) in the shapes the app expects. A mesh link
 * between two nodes is a plain automerge-repo WebSocket client. Runs in the test process.
 */
export class StandInDevice {
  readonly port: number
  readonly directoryUrl: string
  readonly #server: Server
  readonly #repo: Repo
  readonly #wss: WebSocketServer
  readonly #dispenses: Dispense[]
  readonly #init: StandInInit

  private constructor(init: StandInInit, server: Server, wss: WebSocketServer, repo: Repo, directoryUrl: string, dispenses: Dispense[]) {
    this.#init = init
    this.#server = server
    this.#wss = wss
    this.#repo = repo
    this.directoryUrl = directoryUrl
    this.#dispenses = dispenses
    this.port = (server.address() as AddressInfo).port
  }

  static async start(init: StandInInit): Promise<StandInDevice> {
    if (!existsSync(join(DIST, 'index.html'))) throw new Error('apps/web/dist is missing: run `npm run build -w @clinic-mesh/web` first')
    const wss = new WebSocketServer({ noServer: true })
    // ws's own types and the adapter's (isomorphic-ws) differ only nominally
    const serverAdapter = new WebSocketServerAdapter(wss as unknown as ConstructorParameters<typeof WebSocketServerAdapter>[0])
    const network = [serverAdapter, ...(init.peerSync ? [new WebSocketClientAdapter(init.peerSync, 300)] : [])]
    const repo = new Repo({ storage: new NodeFSStorageAdapter(join(init.dataDir, 'repo')), network, peerId: init.name as PeerId })
    const stateFile = join(init.dataDir, 'state.json')
    const saved = existsSync(stateFile) ? (JSON.parse(await readFile(stateFile, 'utf8')) as { directoryUrl: string; dispenses: Dispense[] }) : undefined
    let directoryUrl = saved?.directoryUrl ?? init.directoryUrl
    const summarizeOf = (b: ChartCollection, pid: string): ReturnType<typeof summarize> | undefined => {
      const c = b.charts[pid]
      return c ? summarize(c) : undefined
    }
    if (!directoryUrl) {
      const store = ClinicStore.create<ChartCollection>(repo, { clinic: 'clinic-test', emptyBucket: emptyCollection, summarize: summarizeOf })
      const dir = repo.create<ClinicDirectoryDoc>({
        kind: 'clinic-directory/1',
        clinic: 'clinic-test',
        name: 'Test Clinic',
        recordsRoot: store.rootUrl as string as DocUrl,
        ledgerLogs: {},
        settlement: {},
      })
      directoryUrl = dir.url
      await store.loadAllCharts()
    }
    // A joining node fetches documents on demand: what its browsers ask for, it asks its mesh peer for.
    const dispenses = saved?.dispenses ?? []
    await writeFile(stateFile, JSON.stringify({ directoryUrl, dispenses }))
    const server = createServer()
    const node = await new Promise<StandInDevice>((resolve) => {
      server.listen(init.port ?? 0, '127.0.0.1', () => resolve(new StandInDevice(init, server, wss, repo, directoryUrl, dispenses)))
    })
    server.on('request', (req, res) => void node.#handle(req, res))
    server.on('upgrade', (req, socket, head) => {
      if (req.url !== '/sync') return socket.destroy()
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req))
    })
    return node
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`
  }

  get syncUrl(): string {
    return `ws://127.0.0.1:${this.port}/sync`
  }

  get repo(): Repo {
    return this.#repo
  }

  /** The clinician notes of one visit as this node holds them ('' when it has not got the chart yet). */
  async notesOf(pid: string, eid: string): Promise<string> {
    const dir = await findDoc<ClinicDirectoryDoc>(this.#repo, this.directoryUrl as AutomergeUrl)
    const root = await findDoc<ClinicRootDoc>(this.#repo, dir.doc().recordsRoot as string as AutomergeUrl)
    const url = root.doc().chartBuckets[shardOf(pid, root.doc().chartBuckets.length)]
    if (!url) return ''
    const bucket = await findDoc<ChartCollection>(this.#repo, url)
    return bucket.doc().charts[pid]?.encounters[eid]?.clinician.notes ?? ''
  }

  /** Stops abruptly (sockets cut, nothing announced), like a killed process; storage stays on disk. */
  async kill(): Promise<void> {
    for (const ws of this.#wss.clients) ws.terminate()
    this.#server.closeAllConnections()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
    // automerge-repo's flush throws for handles that never became ready (documents asked for but not found)
    await this.#repo.shutdown().catch((err: unknown) => {
      if (!(err instanceof Error && err.message === 'DocHandle is not ready')) throw err
    })
  }

  /** Starts again on the same port and data directory. */
  restart(): Promise<StandInDevice> {
    return StandInDevice.start({ ...this.#init, port: this.port })
  }

  #lines(): Array<Line & { tentative: number }> {
    const base: Line[] = [
      { item: 'itm_amox', itemName: 'Amoxicillin 250 mg caps', batch: 'AMX-2611', expiry: '2026-11-30', settled: 200 },
      { item: 'itm_para', itemName: 'Paracetamol 500 mg tabs', batch: 'PCM-2703', expiry: '2027-03-31', settled: 500 },
    ]
    return base.map((l) => ({
      ...l,
      tentative: l.settled - this.#dispenses.filter((d) => d.batch === l.batch).reduce((n, d) => n + d.quantity, 0),
    }))
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    }
    const path = (req.url ?? '/').split('?')[0] ?? '/'
    if (path === '/api/status') {
      const pending = this.#dispenses.length
      return json(200, {
        device: { id: this.#init.name, name: this.#init.name },
        directoryUrl: this.directoryUrl,
        peers: this.#repo.peers.filter((p) => !p.startsWith('web-')).map((p) => ({ id: p, name: p })),
        relay: { reachable: false },
        ledger: { pending, lastSettlementAt: null },
      })
    }
    if (path === '/api/stock') return json(200, { lines: this.#lines() })
    if (path === '/api/stock/dispenses' && req.method === 'POST') {
      let body = ''
      for await (const chunk of req) body += String(chunk)
      const d = JSON.parse(body) as Dispense
      if (!this.#dispenses.some((x) => x.id === d.id)) this.#dispenses.push(d)
      await writeFile(join(this.#init.dataDir, 'state.json'), JSON.stringify({ directoryUrl: this.directoryUrl, dispenses: this.#dispenses }))
      return json(201, { operation: { id: d.id, status: 'tentative' } })
    }
    if (path.startsWith('/api/')) return json(404, { error: { name: 'RouteNotFoundError', message: path } })
    const file = normalize(join(DIST, path === '/' ? 'index.html' : path))
    if (!file.startsWith(DIST) || !existsSync(file)) return json(404, { error: { name: 'NotFound', message: path } })
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(await readFile(file))
  }
}
