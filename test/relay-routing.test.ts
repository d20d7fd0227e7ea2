import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startPostgresCluster, tempDir, type PostgresCluster, type TempDir } from '@clinic-mesh/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DeviceProcess, pollDevice } from './helpers/device-process.js'
import { RelayProcess } from './helpers/relay-process.js'
import { paracetamolReceipt, type LinkStatus as Status } from './helpers/relay-link-fixtures.js'

// Two relay instances over one PostgreSQL, each advertising its URL (`--public-url auto`). A clinic's first device
// registers at A, which takes the clinic's lease. A second device given B first is redirected by B to A (its clinic's
// settler) and its operations settle there; B never opens the clinic for it. A forged redirect to a URL outside a
// device's own relay list is refused (RelayRedirectError, logged) and the device stays on its list. When A is killed
// (SIGKILL) the devices come back to B, which takes the clinic over and settles their operations.

interface RelayStatus {
  clinics: { clinic: string; settler?: boolean; opsDecided: number }[]
}

const receipt = (n: number) => paracetamolReceipt('r', n)

const listen = async (server: Server): Promise<number> => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as AddressInfo).port
}

describe('devices routed to the instance that settles their clinic', () => {
  let pg: PostgresCluster
  const dirs: TempDir[] = []
  const relays: RelayProcess[] = []
  const nodes: DeviceProcess[] = []
  let root: string
  // a stranger's server a forged redirect points at: it must never see a device
  const thief = createServer((_req, res) => res.end())
  let thiefHits = 0
  // a front that answers like B (its API is B's, proxied) but redirects every /sync to the stranger
  const forger = createServer()
  let urlA: string
  let urlB: string
  let urlF: string

  const status = async (node: DeviceProcess): Promise<Status> =>
    (await node.api<Status>('GET', '/api/status')).body
  const linkedTo = (node: DeviceProcess, url: string, what: string, ms = 30_000): Promise<Status> =>
    pollDevice(
      async () => {
        const s = await status(node)
        return s.relay.connected && s.relay.url === url ? s : undefined
      },
      what,
      ms,
    )
  const settled = (node: DeviceProcess, what: string): Promise<boolean> =>
    pollDevice(async () => (await status(node)).pending.ops === 0, what, 30_000)
  const clinicsAt = async (r: RelayProcess): Promise<RelayStatus['clinics']> =>
    (await r.api<RelayStatus>('GET', '/api/status')).body.clinics

  beforeAll(async () => {
    pg = await startPostgresCluster()
    for (let i = 0; i < 2; i++) {
      const dir = await tempDir('relay-routing-')
      dirs.push(dir)
      relays.push(
        await RelayProcess.start(dir.path, 0, [
          '--postgres',
          pg.url,
          '--lease-ms',
          '1000',
          '--public-url',
          'auto',
        ]),
      )
    }
    const [a, b] = relays as [RelayProcess, RelayProcess]
    urlA = `ws://127.0.0.1:${a.port}`
    urlB = `ws://127.0.0.1:${b.port}`
    thief.on('upgrade', (_req, socket) => {
      thiefHits++
      socket.destroy()
    })
    thief.on('request', () => thiefHits++)
    const thiefPort = await listen(thief)
    forger.on('request', (req, res) => {
      const headers = { ...req.headers, host: `127.0.0.1:${b.port}` }
      const up = request(
        { host: '127.0.0.1', port: b.port, path: req.url, method: req.method, headers },
        (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers)
          r.pipe(res)
        },
      )
      up.on('error', () => res.destroy())
      req.pipe(up)
    })
    forger.on('upgrade', (_req, socket) => {
      socket.end(`HTTP/1.1 307 Temporary Redirect\r\nlocation: ws://127.0.0.1:${thiefPort}/sync\r\n\r\n`)
    })
    urlF = `ws://127.0.0.1:${await listen(forger)}`
    root = await mkdtemp(join(tmpdir(), 'relay-routing-'))
  })

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop('SIGKILL')))
    for (const r of relays) await r.stop('SIGKILL')
    thief.close()
    forger.close()
    for (const d of dirs) await d.remove()
    if (root) await rm(root, { recursive: true, force: true })
    await pg?.stop()
  })

  const device = async (name: string, relay: string, first = false): Promise<DeviceProcess> => {
    const node = await DeviceProcess.start({
      dataDir: join(root, name),
      name,
      clinicFile: join(root, 'clinic.json'),
      relay,
      ...(first ? { initClinic: 'Test Clinic' } : {}),
    })
    nodes.push(node)
    await node.ready()
    return node
  }

  it('sends a device given B first to A, which settles its clinic, and settles its operations there', async () => {
    const [a, b] = relays as [RelayProcess, RelayProcess]
    const first = await device('pharmacy', `${urlA},${urlB}`, true)
    await linkedTo(first, urlA, 'first device linked to A')
    const clinic = await pollDevice(
      async () => (await clinicsAt(a)).find((c) => c.settler === true)?.clinic,
      'A settles the clinic',
    )

    const second = await device('store', `${urlB},${urlA}`)
    const linked = await linkedTo(second, urlA, 'the device given B first linked to A')
    expect(linked.relay.lastError).toBeNull()
    expect(b.stderr.some((l) => l.includes('"sync-redirected"') && l.includes(clinic))).toBe(true)
    expect((await second.api('POST', '/api/stock/receipts', receipt(1))).status).toBe(201)
    await settled(second, 'the routed device’s operation settled')
    // B registered the device but never opened the clinic for it: it syncs at A
    expect((await clinicsAt(b)).map((c) => c.clinic)).not.toContain(clinic)
    // a reviewer's read at B still works (B opens the clinic for it and shows A's last checkpoint)
    const inv = await pollDevice(async () => {
      const r = await b.api<{ decidedOps: number }>('GET', `/api/inventory?clinic=${clinic}`)
      return r.status === 200 && r.body.decidedOps >= 1 ? r.body : undefined
    }, 'inventory read at B')
    expect(inv.decidedOps).toBeGreaterThanOrEqual(1)
  })

  it('refuses a redirect to a URL outside the device’s own relay list and stays on its list', async () => {
    const node = await device('ward', `${urlF},${urlA}`)
    await linkedTo(node, urlA, 'linked to A after refusing the forged redirect')
    expect(thiefHits).toBe(0)
    const refused = node.stderr.find((l) => l.includes('"relay-redirect-refused"'))
    expect(refused).toBeDefined()
    expect(JSON.parse(refused!) as { error: string }).toMatchObject({ error: 'RelayRedirectError' })
    expect((await node.api('POST', '/api/stock/receipts', receipt(2))).status).toBe(201)
    await settled(node, 'operation settled at A')
    // its list has only the forger and A: it stops here, before A is killed
    await node.stop('SIGKILL')
    nodes.splice(nodes.indexOf(node), 1)
  })

  it('after A is killed the devices come back to B, which takes the clinic over and settles', async () => {
    const [a, b] = relays as [RelayProcess, RelayProcess]
    const [first, second] = nodes as [DeviceProcess, DeviceProcess]
    expect(await a.stop('SIGKILL')).toBeNull()
    await linkedTo(first, urlB, 'first device on B')
    await linkedTo(second, urlB, 'second device on B')
    expect((await first.api('POST', '/api/stock/receipts', receipt(3))).status).toBe(201)
    expect((await second.api('POST', '/api/stock/receipts', receipt(4))).status).toBe(201)
    await settled(first, 'first device’s operation settled through B')
    await settled(second, 'second device’s operation settled through B')
    const here = await clinicsAt(b)
    expect(here.filter((c) => c.settler === true).length).toBe(1)
  })
})
