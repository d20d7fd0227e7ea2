import type { ItemId } from '@clinic-mesh/contracts'
import type { InventoryState } from '@clinic-mesh/ledger'
import { tempDir, type TempDir } from '@clinic-mesh/testing'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { TestDevice } from './helpers/relay-device.js'
import { pollUntil } from './helpers/relay-poll.js'
import { RelayProcess } from './helpers/relay-process.js'

interface Rejected {
  total: number
  rejected: { reason: string; index: number; device: string }[]
}

/**
 * The central office's formulary entries live in the relay's own log (`relay-<clinic>`), where a supervisor's
 * formulary change counts. A device that names its log after it (a stolen tablet with a supervisor signed in) must
 * not borrow that authority: every operation of such a log is rejected, none settles.
 */
describe('relay: no device log may take the relay’s own log id', () => {
  let dir: TempDir
  let relay: RelayProcess
  let dev: TestDevice | undefined

  beforeEach(async () => {
    dir = await tempDir('relay-reserved-')
    relay = await RelayProcess.start(dir.path)
  })
  afterEach(async () => {
    await dev?.close()
    await relay.stop()
    await dir.remove()
  })

  it('rejects a supervisor formulary change written in a device log named relay-<clinic>', async () => {
    dev = new TestDevice(relay.syncUrl, 'clinic-r', 'relay-clinic-r')
    dev.createClinic()
    expect((await dev.register(relay)).status).toBe(201)
    const item = 'itm_forged' as ItemId
    dev.append(
      [
        {
          kind: 'formulary-update',
          item,
          name: 'Forged item',
          price: 1,
          status: 'active',
          controlled: false,
        },
      ],
      'supervisor',
    )
    const rejected = await pollUntil(async () => {
      const r = await relay.api<Rejected>('GET', '/api/rejected?clinic=clinic-r')
      return r.body.total >= 1 ? r.body : undefined
    }, 'the borrowed log id rejected')
    expect(rejected.rejected.map((r) => [r.device, r.reason])).toEqual([
      ['relay-clinic-r', 'reserved-device'],
    ])
    const inv = await relay.api<{ inventory: InventoryState }>('GET', '/api/inventory?clinic=clinic-r')
    expect(inv.body.inventory.items[item]).toBeUndefined()
  })
})
