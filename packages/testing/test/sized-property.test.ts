import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { assertSized } from '@clinic-mesh/testing'

describe('assertSized: a property sized to the machine', () => {
  it('runs up to maxRuns when there is time', async () => {
    const r = await assertSized(
      fc.property(fc.nat(), (n) => n >= 0),
      { seed: 1, maxRuns: 300, minRuns: 10, budgetMs: 10_000 },
    )
    expect(r).toEqual({ runs: 300, interrupted: false })
  })

  it('fails with the counterexample when the property is false', async () => {
    await expect(
      assertSized(
        fc.property(fc.nat(), (n) => n < 50),
        { seed: 1, maxRuns: 500, minRuns: 1, budgetMs: 10_000 },
      ),
    ).rejects.toThrow(/Counterexample/)
  })

  it('says the machine is too slow when fewer than minRuns fit in the budget', async () => {
    const slow = fc.asyncProperty(fc.nat(), async () => {
      await new Promise((resolve) => setTimeout(resolve, 30))
    })
    await expect(
      assertSized(slow, { seed: 1, maxRuns: 100, minRuns: 50, budgetMs: 100 }),
    ).rejects.toMatchObject({ name: 'PropertyTooSlowError' })
  })
})
