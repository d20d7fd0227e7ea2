import { describe, expect, it } from 'vitest'
import { runSeed } from '@clinic-mesh/sim'

const SEEDS = Array.from({ length: 30 }, (_, i) => i + 1)
const STEPS = 250

describe('clinic simulation', () => {
  it('holds every invariant on a fixed set of seeds (convergence, exactly-once settlement, conservation, no lost acknowledged write)', () => {
    const failures: string[] = []
    let ops = 0
    let resolved = 0
    let crashes = 0
    for (const seed of SEEDS) {
      const res = runSeed(seed, { steps: STEPS })
      ops += res.stats.ops
      resolved += res.stats.resolved
      crashes += res.stats.crashes
      if (!res.ok)
        failures.push(
          `seed ${seed}: ${res.violations
            .slice(0, 3)
            .map((v) => `${v.kind} ${v.detail}`)
            .join('; ')} (npm run sim -- --seed ${seed} --steps ${STEPS})`,
        )
    }
    expect(failures).toEqual([])
    // The workload really exercised the ledger, the review queue and crash recovery.
    expect(ops).toBeGreaterThan(SEEDS.length * 10)
    expect(resolved).toBeGreaterThan(SEEDS.length)
    expect(crashes).toBeGreaterThan(SEEDS.length * 3)
  })

  it('replays a seed identically', () => {
    const a = runSeed(11, { steps: 150 })
    const b = runSeed(11, { steps: 150 })
    expect(b.fingerprint).toBe(a.fingerprint)
    expect(b.stats).toEqual(a.stats)
    expect(runSeed(12, { steps: 150 }).fingerprint).not.toBe(a.fingerprint)
  })

  it('reports a replica holding a write no other replica has as divergence', () => {
    const res = runSeed(3, { steps: 150, fault: 'diverge-replica' })
    expect(res.ok).toBe(false)
    expect(res.violations.map((v) => v.kind)).toContain('divergence')
  })

  it('reports acknowledged writes lost by storage that acknowledges before persisting', () => {
    for (const seed of [1, 3, 4]) {
      const res = runSeed(seed, { steps: 200, fault: 'ack-without-persist' })
      expect(res.ok).toBe(false)
      expect(res.violations.some((v) => v.kind === 'lost-ack' || v.kind === 'ledger-integrity')).toBe(true)
    }
  })
})
