import { tempDir, type TempDir } from '@clinic-mesh/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DeviceCluster, pollDevice, testPassword, type DeviceProcess } from './helpers/device-process.js'
import { RelayProcess, type ApiReply } from './helpers/relay-process.js'

/**
 * Issue 15 #1: the central office keeps the formulary at the relay. A real relay process and one clinic (one device
 * process) whose register holds a supervisor, a reviewer, a pharmacist and a nurse; raw HTTP against the relay.
 */
interface Item {
  item: string
  name: string
  price: number
  status: string
  controlled: boolean
}
interface Err {
  error: { name: string; message: string }
}
interface StockReply {
  items: Record<string, { name: string; price: number; status: string } | undefined>
}

const errName = (r: ApiReply<unknown>): string | undefined => (r.body as Partial<Err>).error?.name

describe('relay formulary API: read by the clinic reviewers, changed only by a supervisor', () => {
  let dir: TempDir
  let relay: RelayProcess
  let cluster: DeviceCluster
  let node: DeviceProcess
  let clinic: string
  const tokens: Record<string, string> = {}

  beforeAll(async () => {
    dir = await tempDir('relay-formulary-')
    relay = await RelayProcess.start(dir.path)
    cluster = await DeviceCluster.start(['desk'], { relay: relay.syncUrl.replace(/\/sync$/, '') })
    node = cluster.devices[0]!
    await node.ready()
    clinic = (await node.api<{ clinic: { id: string } }>('GET', '/api/status')).body.clinic.id
    const users = { supervisor: 'supervisor', rev: 'reviewer', pharm: 'pharmacist', nurse: 'nurse' }
    await Promise.all(Object.entries(users).map(([name, role]) => node.token({ name, role })))
    for (const name of ['supervisor', 'rev', 'pharm']) {
      const r = await pollDevice(
        async () => {
          const x = await relay.login(clinic, name, testPassword(name))
          return x.status === 503 || (x.status === 401 && name !== 'supervisor') ? undefined : x
        },
        `${name} known at the relay`,
        30_000,
      )
      expect(r.status).toBe(200)
      tokens[name] = r.body.token
    }
  }, 120_000)

  afterAll(async () => {
    await cluster?.stop()
    await relay?.stop('SIGKILL')
    await dir?.remove()
  })

  const post = (token: string | null, body: Record<string, unknown>): Promise<ApiReply<{ item: Item }>> =>
    relay.api<{ item: Item }>('POST', '/api/formulary', body, undefined, token)
  const entry = {
    item: 'itm_cotrim-480',
    name: 'Sulfamethoxazole + trimethoprim 400 mg + 80 mg tablet',
    price: 2,
  }

  it('refuses a change from a reviewer, a pharmacist, the operator token and anyone not signed in', async () => {
    for (const name of ['rev', 'pharm']) {
      const r = await post(tokens[name]!, entry)
      expect(r.status).toBe(403)
      expect(errName(r)).toBe('ForbiddenError')
    }
    expect((await post(relay.operatorToken, { ...entry, clinic })).status).toBe(403)
    expect((await post(null, entry)).status).toBe(401)
    // a nurse does not sign in at the relay at all
    expect((await relay.login(clinic, 'nurse', testPassword('nurse'))).status).toBe(403)
    const list = await relay.api<{ items: Item[] }>('GET', '/api/formulary', undefined, undefined, tokens.rev)
    expect(list.body.items.find((i) => i.item === entry.item)).toBeUndefined()
  })

  it('lets a supervisor add, reprice and withdraw an item; the clinic reads it and its devices receive it', async () => {
    const bad = await post(tokens.supervisor!, { ...entry, price: -1 })
    expect(bad.status).toBe(400)
    expect(errName(bad)).toBe('InvalidInputError')

    const added = await post(tokens.supervisor!, entry)
    expect(added.status).toBe(201)
    expect(added.body.item).toEqual({ ...entry, status: 'active', controlled: false })
    const repriced = await post(tokens.supervisor!, { ...entry, price: 3 })
    expect(repriced.status).toBe(201)
    expect(repriced.body.item.price).toBe(3)

    const list = await relay.api<{ clinic: string; items: Item[] }>(
      'GET',
      '/api/formulary',
      undefined,
      undefined,
      tokens.rev,
    )
    expect(list.status).toBe(200)
    expect(list.body.clinic).toBe(clinic)
    expect(list.body.items.find((i) => i.item === entry.item)).toMatchObject({ price: 3, status: 'active' })
    // the settled inventory the relay signs and publishes carries it to the clinic's tablets
    await pollDevice(
      async () => (await node.api<StockReply>('GET', '/api/stock')).body.items[entry.item]?.price === 3,
      'the repriced item on the device',
      30_000,
    )

    const withdrawn = await post(tokens.supervisor!, { ...entry, price: 3, status: 'withdrawn' })
    expect(withdrawn.status).toBe(201)
    expect(withdrawn.body.item.status).toBe('withdrawn')
    await pollDevice(
      async () =>
        (await node.api<StockReply>('GET', '/api/stock')).body.items[entry.item]?.status === 'withdrawn',
      'the withdrawal on the device',
      30_000,
    )
  })
})
