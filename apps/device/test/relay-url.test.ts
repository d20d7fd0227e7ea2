import { describe, expect, it } from 'vitest'
import { failoverOrder, relayUrls } from '../src/relay-url.js'

// When a relay instance dies, its devices move to the next URL in their list. With the list as given, every clinic
// routed to the dead instance moved to the same next instance (which opened all of them at once); failoverOrder keeps
// the first URL and orders the others by the clinic id, so a clinic's devices stay together and clinics spread.

const URLS = relayUrls('ws://127.0.0.1:4001,ws://127.0.0.1:4002,ws://127.0.0.1:4003,ws://127.0.0.1:4004')
const clinics = Array.from({ length: 300 }, (_, i) => `clinic-${String(i).padStart(4, '0')}`)

describe('failoverOrder', () => {
  it('keeps the first URL and every URL once, the same order for every device of a clinic', () => {
    for (const clinic of clinics.slice(0, 20)) {
      const order = failoverOrder(URLS, clinic)
      expect(order[0]).toBe(URLS[0])
      expect([...order].sort()).toEqual([...URLS].sort())
      expect(failoverOrder(URLS, clinic)).toEqual(order)
    }
    expect(failoverOrder(URLS.slice(0, 2), 'clinic-a')).toEqual(URLS.slice(0, 2))
    expect(failoverOrder(URLS.slice(0, 1), 'clinic-a')).toEqual(URLS.slice(0, 1))
  })

  it('spreads the clinics of a dead instance over all the others', () => {
    const next = new Map<string, number>()
    for (const clinic of clinics) {
      const second = failoverOrder(URLS, clinic)[1]!
      next.set(second, (next.get(second) ?? 0) + 1)
    }
    expect([...next.keys()].sort()).toEqual(URLS.slice(1).sort())
    // 300 clinics over 3 instances: each gets about 100, none more than half
    for (const n of next.values()) expect(n).toBeGreaterThan(60)
    for (const n of next.values()) expect(n).toBeLessThan(150)
  })

  it('spreads over two survivors of three instances, whichever instance a device lists first', () => {
    const three = URLS.slice(0, 3)
    for (let first = 0; first < 3; first++) {
      const list = [...three.slice(first), ...three.slice(0, first)]
      const seconds = new Set(clinics.map((c) => failoverOrder(list, c)[1]))
      expect(seconds.size).toBe(2)
    }
  })
})
