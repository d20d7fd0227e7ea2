import { createServer, connect, type Server, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { Repo, type PeerId } from '@automerge/automerge-repo'
import { WebSocketClientAdapter } from '@automerge/automerge-repo-network-websocket'

/**
 * A stock automerge-repo client (`Repo` + `WebSocketClientAdapter`, none of the project's client code) signed in as
 * one user of a device node: what a signed-in browser session, or an attacker holding its cookie, can do over
 * `/sync`. The stock adapter cannot send a header, so a loopback forwarder plays the browser's cookie jar: it adds
 * `Authorization: Bearer <token>` to the upgrade request (with the node's own `Host`) and pipes the bytes both ways.
 */
export interface StockClient {
  repo: Repo
  peerId: string
  /**
   * Stops accepting the adapter's reconnects (they are refused: `ECONNREFUSED`, which the stock adapter retries
   * quietly). For a test about to have the node close this session: the stock adapter would otherwise reconnect
   * with the ended session and throw on the node's `401`.
   */
  stopReconnects: () => Promise<void>
  close: () => Promise<void>
}

export async function stockClient(
  nodePort: number,
  token: string,
  peerId = `web-${Math.random().toString(36).slice(2, 10)}`,
): Promise<StockClient> {
  const sockets = new Set<Socket>()
  const proxy: Server = createServer((client) => {
    sockets.add(client)
    const upstream = connect(nodePort, '127.0.0.1')
    sockets.add(upstream)
    let head = Buffer.alloc(0)
    const onData = (d: Buffer): void => {
      head = Buffer.concat([head, d])
      const end = head.indexOf('\r\n\r\n')
      if (end < 0) return
      client.off('data', onData)
      // the node's Host allow-list wants its own port: the request names the node, not this forwarder
      const request = head
        .subarray(0, end)
        .toString('latin1')
        .replace(/\r\nhost:[^\r]*/i, `\r\nHost: 127.0.0.1:${nodePort}`)
      upstream.write(
        Buffer.concat([
          Buffer.from(`${request}\r\nAuthorization: Bearer ${token}`, 'latin1'),
          head.subarray(end),
        ]),
      )
      client.pipe(upstream)
    }
    client.on('data', onData)
    upstream.pipe(client)
    const end = (): void => {
      client.destroy()
      upstream.destroy()
    }
    client.on('error', end)
    upstream.on('error', end)
    client.on('close', end)
    upstream.on('close', end)
  })
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r))
  const port = (proxy.address() as AddressInfo).port
  let listening = true
  const stopReconnects = (): Promise<void> => {
    if (listening) proxy.close() // refuses new connections now; the open ones stay
    listening = false
    return Promise.resolve()
  }
  const repo = new Repo({
    network: [new WebSocketClientAdapter(`ws://127.0.0.1:${port}/sync`, 500)],
    peerId: peerId as PeerId,
    sharePolicy: () => Promise.resolve(true),
  })
  return {
    repo,
    peerId,
    stopReconnects,
    close: async () => {
      await stopReconnects()
      try {
        await repo.shutdown()
      } catch {
        // the stock adapter asserts it has a socket when it disconnects: not so between two reconnects
      }
      for (const s of sockets) s.destroy()
    },
  }
}
