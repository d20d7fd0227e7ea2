import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { OpenGate } from '../src/lib/open-gate.js'

describe('a write asked for while the clinic opens', () => {
  beforeEach(() => void vi.useFakeTimers())
  afterEach(() => void vi.useRealTimers())

  it('waits for the open and then goes through, instead of being refused for being early', async () => {
    const gate = new OpenGate<string>()
    const write = gate.wait(30_000)
    await vi.advanceTimersByTimeAsync(5_000) // the tablet is still loading its copy
    gate.open('store')
    await expect(write).resolves.toBe('store')
    await expect(gate.wait(1)).resolves.toBe('store') // once open: at once
  })

  it('is refused with ClinicNotOpenError only when the open does not finish in time', async () => {
    const gate = new OpenGate<string>()
    const write = gate.wait(30_000)
    const refused = expect(write).rejects.toMatchObject({ name: 'ClinicNotOpenError' })
    await vi.advanceTimersByTimeAsync(30_000)
    await refused
    gate.open('store') // a late open does not resurrect the refused write, and later writes go through
    await expect(gate.wait(1)).resolves.toBe('store')
  })
})
