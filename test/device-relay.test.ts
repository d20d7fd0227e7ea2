import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DeviceCluster, pollDevice, type DeviceProcess } from './helpers/device-process.js'
import { RelayProcess } from './helpers/relay-process.js'

interface Status {
  relay: { connected: boolean; lastSyncAt: string | null }
  pending: { ops: number }
}

describe('a device node linked to the relay', () => {
  let relay: RelayProcess
  let relayDir: string
  let cluster: DeviceCluster
  let node: DeviceProcess
  const status = async (): Promise<Status> => (await node.api<Status>('GET', '/api/status')).body

  beforeAll(async () => {
    relayDir = await mkdtemp(join(tmpdir(), 'device-relay-'))
    relay = await RelayProcess.start(relayDir)
    cluster = await DeviceCluster.start(['pharmacy'], { relay: `ws://127.0.0.1:${relay.port}` })
    node = cluster.devices[0]!
    await node.ready()
  })

  afterAll(async () => {
    await cluster?.stop()
    await relay?.stop('SIGKILL')
    await rm(relayDir, { recursive: true, force: true })
  })

  it('reports the link truthfully and gets its operations decided by the relay', async () => {
    const linked = await pollDevice(
      async () => ((await status()).relay.connected ? status() : undefined),
      'relay connected',
    )
    expect(linked.relay.lastSyncAt).not.toBeNull()
    const r = await node.api('POST', '/api/stock/receipts', {
      id: 'grn-r1',
      item: 'itm_para',
      batch: 'P-1',
      expiry: '2031-03-31',
      quantity: 50,
      unitCost: 3,
      supplier: 'CMST',
      grn: 'G-1',
    })
    expect(r.status).toBe(201)
    // the relay decides the op (settled or a conflict): the device's pending count drops back to zero
    await pollDevice(async () => (await status()).pending.ops === 0, 'op decided by the relay')
    const stock = await node.api<{ settledAt: string | null }>('GET', '/api/stock')
    expect(stock.body.settledAt).not.toBeNull()

    await node.api('POST', '/api/network', { relay: false })
    expect((await status()).relay.connected).toBe(false)
    await node.api('POST', '/api/network', { relay: true })
    await pollDevice(async () => (await status()).relay.connected, 'relay reconnected')

    await relay.stop('SIGTERM')
    await pollDevice(async () => !(await status()).relay.connected, 'relay loss reported')
  })
})
