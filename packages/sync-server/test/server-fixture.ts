import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { cbor } from '@automerge/automerge-repo/slim'
import { WebSocket } from 'ws'
import { GuardedSyncServer, type GuardedSyncServerInit } from '@clinic-mesh/sync-server'

export interface LogLine {
  event: string
  fields: Record<string, string | number | boolean | null>
}

export interface ServerFixture<C> {
  readonly adapter: GuardedSyncServer<C>
  readonly url: string
  readonly log: LogLine[]
  /** Resolves with the first log line (past or future) of `event`. */
  logged(event: string): Promise<LogLine>
  /** Closes the adapter and the HTTP server. */
  close(): Promise<void>
}

/**
 * A guarded server adapter behind an HTTP server on a random loopback port; each upgrade gets `context(url)` (the
 * request's path and query, as an application would authenticate it).
 */
export async function startServer<C>(
  init: Omit<GuardedSyncServerInit<C>, 'log'>,
  context: (url: string) => C,
): Promise<ServerFixture<C>> {
  const log: LogLine[] = []
  const waiters: (() => void)[] = []
  const adapter = new GuardedSyncServer<C>({
    ...init,
    log: (event, fields) => {
      log.push({ event, fields })
      for (const w of waiters.splice(0)) w()
    },
  })
  const http: Server = createServer((_req, res) => res.writeHead(404).end())
  http.on('upgrade', (req, socket, head) => adapter.upgrade(req, socket, head, context(req.url ?? '/')))
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  const url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}`
  return {
    adapter,
    url,
    log,
    logged: async (event) => {
      for (;;) {
        const line = log.find((l) => l.event === event)
        if (line) return line
        await new Promise<void>((resolve) => waiters.push(resolve))
      }
    },
    close: async () => {
      adapter.close()
      http.closeAllConnections()
      await new Promise<void>((resolve) => http.close(() => resolve()))
    },
  }
}

/** A hand-driven client: raw frames out, decoded messages in (in arrival order), how the server closed it. */
export class RawClient {
  readonly received: Record<string, unknown>[] = []
  readonly closed: Promise<{ code: number; reason: string }>
  readonly #ws: WebSocket
  #waiters: (() => void)[] = []

  private constructor(ws: WebSocket) {
    this.#ws = ws
    ws.on('message', (data: Buffer) => {
      this.received.push(cbor.decode(new Uint8Array(data)))
      for (const w of this.#waiters.splice(0)) w()
    })
    ws.on('error', () => undefined) // the close event follows
    this.closed = new Promise((resolve) =>
      ws.on('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })),
    )
  }

  static open(url: string): Promise<RawClient> {
    const ws = new WebSocket(url)
    const client = new RawClient(ws)
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client))
      ws.once('unexpected-response', () => reject(new Error(`upgrade refused: ${url}`)))
    })
  }

  send(message: unknown): void {
    this.#ws.send(cbor.encode(message))
  }

  sendRaw(data: Uint8Array | string): void {
    this.#ws.send(data)
  }

  join(peerId: string): void {
    this.send({ type: 'join', senderId: peerId, peerMetadata: {}, supportedProtocolVersions: ['1'] })
  }

  /** Resolves with the first received message (past or future) that matches. */
  async next(match: (m: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
    for (;;) {
      const found = this.received.find(match)
      if (found) return found
      await new Promise<void>((resolve) => this.#waiters.push(resolve))
    }
  }

  close(): void {
    this.#ws.close()
  }
}
