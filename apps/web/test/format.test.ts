import { describe, expect, it } from 'vitest'
import { plainFieldMessage } from '../src/lib/field-labels.js'
import { lastConfirmed, lockedUntil, when } from '../src/lib/format.js'

describe('the words the tablet shows', () => {
  const now = new Date('2026-12-05T10:00:00Z')

  it('says "not yet" for the last confirmation before the first settlement, never 1970', () => {
    expect(lastConfirmed(undefined, now)).toBe('not yet')
    expect(lastConfirmed('1970-01-01T00:00:00.000Z', now)).toBe('not yet')
    expect(lastConfirmed('2026-12-05T09:30:00Z', now)).toBe(when('2026-12-05T09:30:00Z', now))
    expect(lastConfirmed('2026-12-05T09:30:00Z', now)).not.toContain('1970')
  })

  it('gives a lockout in local time and minutes left, not the node\u2019s UTC timestamp', () => {
    const message = 'account locked until 2026-12-05T10:15:00.000Z'
    const words = lockedUntil(message, now)
    expect(words).toBe(`until ${when('2026-12-05T10:15:00.000Z', now)} (in 15 minutes)`)
    expect(words).not.toMatch(/\d{4}-\d\d-\d\dT|Z\b/)
    expect(lockedUntil('wait before trying again', now)).toBeUndefined()
  })

  it('names every invalid field in the clinic\u2019s words, not its code name', () => {
    const message =
      'vitals.temperatureC must be 30 or more (got 3.7); vitals.pulseBpm must be 300 or less; vitals.oddKey is not expected here'
    expect(plainFieldMessage(message)).toBe(
      'Temperature (°C) must be 30 or more (got 3.7); Pulse (beats/min) must be 300 or less; vitals.oddKey is not expected here',
    )
  })
})
