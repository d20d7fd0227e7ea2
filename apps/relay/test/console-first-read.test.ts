import { createHash, randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Repo } from '@automerge/automerge-repo'
import { Relay } from '@clinic-mesh/relay'
import { startPostgresCluster, type PostgresCluster } from '@clinic-mesh/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { firstDeviceAt } from '../../../test/helpers/first-device.js'

// Relay instances over one PostgreSQL open only the clinics they serve. The reviewer console's first read of a clinic
// registered at another instance used to answer 404 (UnknownClinicError) while this instance opened it. Now it opens
// the clinic and answers once it is open (a bounded wait), or 503 ClinicOpeningError with Retry-After when the wait
// runs out; 404 stays for a clinic nobody registered.

const TOKEN = randomBytes(16).toString('hex')
let cluster: PostgresCluster
const relays: Relay[] = []
const repos: Repo[] = []

beforeAll(async () => {
  process.env.RELAY_OPERATOR_TOKEN_SHA256 = createHash('sha256').update(TOKEN).digest('hex')
  cluster = await startPostgresCluster()
})
afterAll(async () => {
  for (const r of repos.splice(0)) await r.shutdown()
  for (const r of relays.splice(0)) await r.stop()
  await cluster?.stop()
})

async function instance(openWaitMs?: number): Promise<Relay> {
  const r = await Relay.start({
    postgres: cluster.url,
    port: 0,
    logger: () => {},
    leaseMs: 1000,
    ...(openWaitMs !== undefined ? { openWaitMs } : {}),
  })
  relays.push(r)
  return r
}

/** A clinic's first device, registered at `relay` and connected there. */
async function registerAt(relay: Relay, clinic: string): Promise<void> {
  repos.push(await firstDeviceAt(relay.port, clinic))
}

function inventoryAt(relay: Relay, clinic: string): Promise<Response> {
  return fetch(`http://127.0.0.1:${relay.port}/api/inventory?clinic=${clinic}`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  })
}

describe("the console's first read of a clinic another instance serves", () => {
  it('opens the clinic and answers, never 404 for a registered clinic', async () => {
    const a = await instance()
    const b = await instance()
    await registerAt(a, 'clinic-read-1')
    expect(
      b.watchers().map((w) => w.clinic),
      'not open on B before the read',
    ).not.toContain('clinic-read-1')
    const res = await inventoryAt(b, 'clinic-read-1')
    expect(res.status).toBe(200)
    expect(((await res.json()) as { clinic: string }).clinic).toBe('clinic-read-1')

    const unknown = await inventoryAt(b, 'clinic-nobody')
    expect(unknown.status).toBe(404)
    expect(((await unknown.json()) as { error: { name: string } }).error.name).toBe('UnknownClinicError')
  })

  it('answers 503 ClinicOpeningError with Retry-After while the clinic opens, then the clinic', async () => {
    const a = relays[0]!
    const c = await instance(1) // a wait far shorter than an open
    await registerAt(a, 'clinic-read-2')
    const res = await inventoryAt(c, 'clinic-read-2')
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toBe('1')
    expect(((await res.json()) as { error: { name: string } }).error.name).toBe('ClinicOpeningError')
    // asked again as Retry-After says, the clinic has opened meanwhile
    let again = 503
    for (let i = 0; i < 20 && again === 503; i++) {
      await sleep(500)
      again = (await inventoryAt(c, 'clinic-read-2')).status
    }
    expect(again).toBe(200)
  })
})
