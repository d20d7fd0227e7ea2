import { InstanceRoutes, LeaseOwnership, createRelaySchema, isPublicUrl } from '@clinic-mesh/relay'
import { PostgresStorageAdapter } from '@clinic-mesh/storage-postgres'
import { type PostgresCluster, startPostgresCluster } from '@clinic-mesh/testing'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

// Where an instance sends a clinic's devices (/sync redirect): the public URL of the instance holding the clinic's
// lease, only while that owner is alive (lease not expired past the live grace, fresh heartbeat, a database
// connection open) and only if it advertised a URL. A killed owner (its connections gone) is never redirected to,
// even before its lease expires: the devices are served where they are and the lease is taken over.

const LEASE_MS = 5000

let cluster: PostgresCluster
let admin: pg.Pool
const pools: pg.Pool[] = []
const poolOf = (name: string): pg.Pool => {
  const p = new pg.Pool({ connectionString: cluster.url, application_name: name, idleTimeoutMillis: 0 })
  pools.push(p)
  return p
}

beforeAll(async () => {
  cluster = await startPostgresCluster()
  admin = new pg.Pool({ connectionString: cluster.url })
  await new PostgresStorageAdapter({ pool: admin }).init()
  await createRelaySchema(admin)
  for (const c of ['c1', 'c2', 'c3'])
    await admin.query("INSERT INTO relay_clinics (clinic, entry) VALUES ($1, '{}')", [c])
})
afterAll(async () => {
  for (const p of pools) await p.end().catch(() => {})
  await admin?.end()
  await cluster?.stop()
})

describe('InstanceRoutes', () => {
  it('names a live owner’s public URL, never this instance’s own, an owner without a URL or a killed one', async () => {
    const a = new LeaseOwnership(poolOf('inst-a'), { owner: 'inst-a', leaseMs: LEASE_MS })
    a.publicUrl = 'wss://relay-a.example:8443'
    await a.heartbeat()
    const quiet = new LeaseOwnership(poolOf('inst-q'), { owner: 'inst-q', leaseMs: LEASE_MS })
    await quiet.heartbeat() // no --public-url
    expect(await a.acquire('c1')).not.toBeNull()
    expect(await quiet.acquire('c2')).not.toBeNull()

    const fromB = new InstanceRoutes(poolOf('inst-b'), 'inst-b', 10 * LEASE_MS)
    const fromA = new InstanceRoutes(poolOf('inst-a2'), 'inst-a', 10 * LEASE_MS)
    expect(await fromB.ownerUrl('c1')).toBe('wss://relay-a.example:8443')
    expect(await fromA.ownerUrl('c1')).toBeUndefined() // its own clinic: serve it
    expect(await fromB.ownerUrl('c2')).toBeUndefined() // no URL advertised: serve it here
    expect(await fromB.ownerUrl('c3')).toBeUndefined() // nobody holds it: take it here
    expect([...(await fromB.ownerUrls(['c1', 'c2', 'c3']))]).toEqual([['c1', 'wss://relay-a.example:8443']])

    // A's connections close (a kill): its lease is still unexpired, but nobody is sent to it
    await pools[0]!.end()
    await pools[3]!.end() // inst-a2 carried A's name too
    // a closed connection's server process exits a moment after the client (no event tells when: ask until it has)
    const gone = Date.now() + 15_000
    const live = async (): Promise<number> =>
      (
        await admin.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'inst-a'",
        )
      ).rows[0]!.n
    while ((await live()) > 0 && Date.now() < gone) await new Promise((r) => setTimeout(r, 20))
    expect(await fromB.ownerUrl('c1')).toBeUndefined()
  })

  it('accepts only plain ws(s)/http(s) URLs as public URLs (nothing that splits a header)', () => {
    expect(isPublicUrl('wss://relay1.example:8443')).toBe(true)
    expect(isPublicUrl('ws://127.0.0.1:4001')).toBe(true)
    for (const bad of [
      'ftp://x',
      'wss://u:p@x',
      'wss://x/\r\nlocation: ws://evil',
      'wss://x?y=1',
      'not a url',
    ])
      expect(isPublicUrl(bad), bad).toBe(false)
  })
})
