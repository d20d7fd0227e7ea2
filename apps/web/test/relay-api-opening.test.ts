import { afterEach, describe, expect, it, vi } from 'vitest'
import { OPENING_RETRIES, RelayApiError, relayApi } from '../src/conflict-review/relay-api.js'

const opening = (): Response =>
  new Response(
    JSON.stringify({ error: { name: 'ClinicOpeningError', message: 'clinic c1 is opening here' } }),
    {
      status: 503,
      headers: { 'retry-after': '1' },
    },
  )
const inventory = (): Response =>
  new Response(
    JSON.stringify({
      clinic: 'c1',
      settledAt: '2026-12-05T10:00:00.000Z',
      decidedOps: 4,
      watermarks: { d1: 4 },
      inventory: { items: {}, batches: {}, stock: { amox: { 'site-1': 85 } } },
    }),
    { status: 200 },
  )

/** Runs `p` while moving the console's retry timers along. */
async function withTimers<T>(p: Promise<T>): Promise<T> {
  let done = false
  const settled = p.finally(() => (done = true))
  while (!done) await vi.advanceTimersByTimeAsync(1000)
  return settled
}

describe('the reviewer console and an instance still opening the clinic (relay over PostgreSQL)', () => {
  afterEach(() => {
    vi.useRealTimers()
    vi.unstubAllGlobals()
  })

  it('asks a read again after a 503 ClinicOpeningError, and shows the figures once open', async () => {
    vi.useFakeTimers()
    const fetch = vi
      .fn()
      .mockResolvedValueOnce(opening())
      .mockResolvedValueOnce(opening())
      .mockResolvedValue(inventory())
    vi.stubGlobal('fetch', fetch)
    const got = await withTimers(relayApi.inventory('c1'))
    expect(fetch).toHaveBeenCalledTimes(3)
    expect(got.inventory.stock['amox']?.['site-1']).toBe(85)
  })

  it('gives up with the typed error after its retries, and never repeats a write', async () => {
    vi.useFakeTimers()
    const fetch = vi.fn().mockImplementation(() => Promise.resolve(opening()))
    vi.stubGlobal('fetch', fetch)
    const err = await withTimers(relayApi.inventory('c1').catch((e: unknown) => e))
    expect(err).toBeInstanceOf(RelayApiError)
    expect((err as RelayApiError).name).toBe('ClinicOpeningError')
    expect(fetch).toHaveBeenCalledTimes(OPENING_RETRIES + 1)

    fetch.mockClear()
    const write = await withTimers(
      relayApi.updateFormulary({ clinic: 'c1' } as never).catch((e: unknown) => e),
    )
    expect((write as RelayApiError).name).toBe('ClinicOpeningError')
    expect(fetch).toHaveBeenCalledTimes(1)
  })
})
