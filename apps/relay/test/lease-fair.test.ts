import { setTimeout as sleep } from 'node:timers/promises'
import { LeaseOwnership } from '@clinic-mesh/relay'
import { describe, expect, it } from 'vitest'
import { relayDatabase } from './relay-database.js'

// Fair lease placement: three live instances (a heartbeat each) and six clinics whose leases were just given up. An
// instance that already holds its fair share (ceil(6 / 3) + 1 = 3) leaves the other free clinics to the others for a
// lease's length; one nobody else takes it still takes after that (a clinic is never left without a settler).

const LEASE_MS = 400
const CLINICS = ['f1', 'f2', 'f3', 'f4', 'f5', 'f6']

const db = relayDatabase(CLINICS)

describe('fair lease placement', () => {
  it('takes no more than its share of freshly freed leases while other instances are live', async () => {
    // an instance that settled them all stopped cleanly: every lease is free, freed a moment ago
    const gone = new LeaseOwnership(db.pool, { owner: 'gone', leaseMs: LEASE_MS })
    for (const c of CLINICS) expect(await gone.acquire(c)).not.toBeNull()
    for (const c of CLINICS) await gone.release(c)

    const [a, b, c] = ['A', 'B', 'C'].map(
      (owner) => new LeaseOwnership(db.pool, { owner, leaseMs: LEASE_MS }),
    )
    // two beats each: the second sees all three live
    for (let beat = 0; beat < 2; beat++) for (const o of [a!, b!, c!]) await o.heartbeat()
    expect([a!.limit, b!.limit, c!.limit]).toEqual([3, 3, 3])

    const takenByA: string[] = []
    for (const clinic of CLINICS) if (await a!.acquire(clinic)) takenByA.push(clinic)
    expect(takenByA).toEqual(['f1', 'f2', 'f3'])
    expect(a!.held).toBe(3)

    // B, under its share, takes what A left
    expect(await b!.acquire('f4')).not.toBeNull()
    expect(await b!.acquire('f5')).not.toBeNull()

    // f6 is left to the others for a lease's length, then A takes it anyway
    expect(await a!.acquire('f6')).toBeNull()
    await sleep(LEASE_MS + 100)
    expect(await a!.acquire('f6')).not.toBeNull()
  })

  it('counts only live instances, and one that stopped cleanly at once', async () => {
    const x = new LeaseOwnership(db.pool, { owner: 'X', leaseMs: LEASE_MS })
    const y = new LeaseOwnership(db.pool, { owner: 'Y', leaseMs: LEASE_MS })
    await sleep(3 * LEASE_MS + 50) // the first case's instances are no longer live
    await x.heartbeat()
    y.start({ lost: () => {}, orphaned: () => {} })
    await y.heartbeat()
    await x.heartbeat()
    expect(x.limit).toBe(Math.ceil(CLINICS.length / 2) + 1)
    await y.stop()
    await x.heartbeat()
    expect(x.limit).toBe(CLINICS.length + 1)
  })
})
