import { startPostgresCluster, tempDir, type PostgresCluster, type TempDir } from '@clinic-mesh/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DeviceCluster, pollDevice, type DeviceProcess } from './helpers/device-process.js'
import { RelayProcess } from './helpers/relay-process.js'
import { paracetamolReceipt, type LinkStatus as Status } from './helpers/relay-link-fixtures.js'

// A device node given two relay instances (`--relay URL_A,URL_B`, one relay over a shared PostgreSQL): linked to A,
// it moves to B when A is killed, proves the same pinned relay key there, and B (which took A's clinics over)
// decides its next operation.

const receipt = (n: number) => paracetamolReceipt('f', n)

describe('a device linked to a list of relay instances', () => {
  let pg: PostgresCluster
  const dirs: TempDir[] = []
  const relays: RelayProcess[] = []
  let devices: DeviceCluster
  let node: DeviceProcess
  const status = async (): Promise<Status> => (await node.api<Status>('GET', '/api/status')).body

  beforeAll(async () => {
    pg = await startPostgresCluster()
    for (let i = 0; i < 2; i++) {
      const dir = await tempDir('relay-failover-')
      dirs.push(dir)
      relays.push(await RelayProcess.start(dir.path, 0, ['--postgres', pg.url, '--lease-ms', '1000']))
    }
    const urls = relays.map((r) => `ws://127.0.0.1:${r.port}`)
    devices = await DeviceCluster.start(['pharmacy'], { relay: urls.join(',') })
    node = devices.devices[0]!
    await node.ready()
  })

  afterAll(async () => {
    await devices?.stop()
    for (const r of relays) await r.stop('SIGKILL')
    for (const d of dirs) await d.remove()
    await pg?.stop()
  })

  it('fails over to the next instance when the one it uses is killed', async () => {
    const [a, b] = relays as [RelayProcess, RelayProcess]
    const linked = await pollDevice(
      async () => ((await status()).relay.connected ? status() : undefined),
      'linked',
    )
    expect(linked.relay.url).toBe(`ws://127.0.0.1:${a.port}`)
    expect((await node.api('POST', '/api/stock/receipts', receipt(1))).status).toBe(201)
    await pollDevice(async () => (await status()).pending.ops === 0, 'op decided through A')

    expect(await a.stop('SIGKILL')).toBeNull()
    const t0 = performance.now()
    const moved = await pollDevice(
      async () => {
        const s = await status()
        return s.relay.connected && s.relay.url === `ws://127.0.0.1:${b.port}` ? s : undefined
      },
      'linked to B',
      10_000,
    )
    process.stdout.write(`device failover A -> B: ${(performance.now() - t0).toFixed(0)} ms\n`)
    expect(moved.relay.lastError).toBeNull()
    expect((await node.api('POST', '/api/stock/receipts', receipt(2))).status).toBe(201)
    await pollDevice(async () => (await status()).pending.ops === 0, 'op decided through B')
  })
})
