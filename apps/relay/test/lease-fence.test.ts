import { setTimeout as sleep } from 'node:timers/promises'
import {
  FENCED_CHUNK,
  LeaseOwnership,
  PostgresSettlementStore,
  emptyMeta,
  type Checkpoint,
} from '@clinic-mesh/relay'
import { describe, expect, it } from 'vitest'
import { relayDatabase } from './relay-database.js'

// Two relay instances, A and B, on one database. A settles clinic-f, then pauses (no lease renewal, as a process
// stopped by the OS or a long GC pause would); its lease expires, B takes the clinic over at the next epoch. When A
// wakes up and writes its checkpoint and published document, the fence in the write's transaction refuses it: the
// database keeps B's checkpoint and B's document. Without the fence check A's write would land.

const CLINIC = 'clinic-f'
const DOC = 'fenced-doc-id'

const db = relayDatabase([CLINIC])

function checkpoint(settledOps: number): Checkpoint {
  return { meta: { ...emptyMeta(), settledOps }, engine: new Uint8Array([settledOps]) }
}

/** Until the clinic's lease has expired on the database's clock. */
async function leaseExpiry(): Promise<void> {
  const { rows } = await db.pool.query<{ ms: number }>(
    `SELECT GREATEST(0, EXTRACT(EPOCH FROM (expires_at - clock_timestamp())) * 1000)::float8 AS ms
     FROM relay_leases WHERE clinic = $1`,
    [CLINIC],
  )
  await sleep(Math.ceil(rows[0]!.ms) + 5)
}

describe('lease fencing', () => {
  it("refuses a paused old owner's checkpoint and published document once another instance took over", async () => {
    const a = new LeaseOwnership(db.pool, { owner: 'A', leaseMs: 300 })
    const b = new LeaseOwnership(db.pool, { owner: 'B', leaseMs: 300 })
    const storeA = new PostgresSettlementStore(db.pool, (c) => a.fenceOf(c), 'A')
    const storeB = new PostgresSettlementStore(db.pool, (c) => b.fenceOf(c), 'B')

    expect(await a.acquire(CLINIC)).toEqual({ owner: 'A', epoch: 1 })
    expect(await b.acquire(CLINIC), 'a live lease is not taken').toBeNull()
    await storeA.save(CLINIC, checkpoint(1), [{ documentId: DOC, bytes: new Uint8Array([0xa1]) }])

    await leaseExpiry() // A is paused: it does not renew
    expect(await b.acquire(CLINIC)).toEqual({ owner: 'B', epoch: 2 })
    await storeB.save(CLINIC, checkpoint(2), [{ documentId: DOC, bytes: new Uint8Array([0xb2]) }])

    // A wakes up, still believing it holds epoch 1
    expect(a.fenceOf(CLINIC)).toEqual({ owner: 'A', epoch: 1 })
    await expect(
      storeA.save(CLINIC, checkpoint(3), [{ documentId: DOC, bytes: new Uint8Array([0xa3]) }]),
    ).rejects.toMatchObject({ name: 'LeaseLostError', clinic: CLINIC })

    expect((await storeB.load(CLINIC))?.meta.settledOps).toBe(2)
    const chunk = await db.pool.query<{ data: Buffer }>(
      'SELECT data FROM automerge_chunks WHERE key = $1::text[]',
      [[DOC, 'snapshot', FENCED_CHUNK]],
    )
    expect([...chunk.rows[0]!.data]).toEqual([0xb2])
    const row = await db.pool.query<{ epoch: string }>(
      'SELECT epoch FROM relay_checkpoints WHERE clinic = $1',
      [CLINIC],
    )
    expect(row.rows[0]!.epoch).toBe('2')

    // A's next lease beat tells it the clinic is gone; B keeps renewing
    const lost: string[] = []
    await new Promise<void>((resolve) => {
      a.start({
        lost: (c) => {
          lost.push(c)
          resolve()
        },
        orphaned: () => {},
      })
    })
    await a.stop()
    expect(lost).toEqual([CLINIC])
  })

  it('gives every takeover a higher epoch, also after a clean release', async () => {
    const clinic = 'clinic-g'
    await db.pool.query("INSERT INTO relay_clinics (clinic, entry) VALUES ($1, '{}')", [clinic])
    const a = new LeaseOwnership(db.pool, { owner: 'A2', leaseMs: 5000 })
    const b = new LeaseOwnership(db.pool, { owner: 'B2', leaseMs: 5000 })
    expect((await a.acquire(clinic))?.epoch).toBe(1)
    await a.release(clinic)
    expect(a.fenceOf(clinic)).toBeUndefined()
    expect((await b.acquire(clinic))?.epoch).toBe(2)
    expect(await a.acquire(clinic)).toBeNull()
  })

  it('keeps a lease its owner renews, also one taken while a renewal was on its way', async () => {
    const clinics = ['clinic-r1', 'clinic-r2']
    for (const c of clinics)
      await db.pool.query("INSERT INTO relay_clinics (clinic, entry) VALUES ($1, '{}')", [c])
    const a = new LeaseOwnership(db.pool, { owner: 'A3', leaseMs: 200 })
    const b = new LeaseOwnership(db.pool, { owner: 'B3', leaseMs: 200 })
    const lost: string[] = []
    expect(await a.acquire(clinics[0]!)).not.toBeNull()
    a.start({ lost: (c) => lost.push(c), orphaned: () => {} })
    // acquired between beats, while one is under way or not: never reported lost
    for (let i = 0; i < 8; i++) {
      await sleep(37)
      if (i === 3) expect(await a.acquire(clinics[1]!)).not.toBeNull()
    }
    await sleep(600) // three lease lengths
    for (const c of clinics) expect(await b.acquire(c), `${c} still held`).toBeNull()
    await a.stop()
    expect(lost).toEqual([])
  })
})
