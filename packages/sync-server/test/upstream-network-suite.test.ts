// the full entry point loads Automerge's wasm (the suite's repos need it; the adapter itself imports only /slim)
import '@automerge/automerge-repo'
import type { NetworkAdapterInterface } from '@automerge/automerge-repo'
import { runNetworkAdapterTests } from '@automerge/automerge-repo/helpers/tests/network-adapter-tests.js'
import { WebSocketClientAdapter } from '@automerge/automerge-repo-network-websocket'
import { describe } from 'vitest'
import { allowAll } from '@clinic-mesh/sync-server'
import { startServer } from './server-fixture.js'

/** The stock client retries this often after its socket closed (the suite's reconnect test waits for one retry). */
const CLIENT_RETRY_MS = 300

/**
 * automerge-repo's own network adapter acceptance suite, unmodified: our guarded server adapter (permissive policy)
 * with two stock WebSocket clients, on a random port. Run twice, so that the server is the suite's first peer in
 * one run (the peer it disconnects and reconnects) and a client in the other.
 */
function setup(serverFirst: boolean) {
  return async () => {
    const server = await startServer({ policy: allowAll }, () => undefined)
    const clients = [
      new WebSocketClientAdapter(server.url, CLIENT_RETRY_MS),
      new WebSocketClientAdapter(server.url, CLIENT_RETRY_MS),
    ] as const
    const adapters: [NetworkAdapterInterface, NetworkAdapterInterface, NetworkAdapterInterface] = serverFirst
      ? [server.adapter, clients[0], clients[1]]
      : [clients[0], server.adapter, clients[1]]
    const teardown = (): void => {
      for (const c of clients) {
        if (c.socket) c.disconnect() // a client the test never connected has no socket
      }
      void server.close()
    }
    return { adapters, teardown }
  }
}

describe('GuardedSyncServer', () => {
  runNetworkAdapterTests(setup(true), 'GuardedSyncServer first, stock WebSocket clients')
  runNetworkAdapterTests(setup(false), 'stock WebSocket client first, GuardedSyncServer second')
})
