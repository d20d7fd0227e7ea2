import type { BatchId, DeviceId, ItemId, UserId } from '@clinic-mesh/contracts'
import { DeviceLog, hashOperation, type Operation } from '@clinic-mesh/ledger'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  SITE,
  qty,
  startRelayWithClinic,
  type TestDevice,
  type RelayWithClinic,
} from './helpers/relay-device.js'
import { pollUntil } from './helpers/relay-poll.js'
import { RelayProcess } from './helpers/relay-process.js'

interface Rejected {
  total: number
  rejected: { reason: string; index: number; device: string }[]
}
interface Conflicts {
  conflicts: { kind: string; status: string; operation?: { id: string } }[]
}

/** Re-chains a forged operation so its own hash is right (an attacker who knows the hash function). */
function rehash(op: Operation): Operation {
  const { hash: _drop, ...unsigned } = op
  return { ...op, hash: hashOperation(unsigned) }
}

/**
 * An attacker who holds a clinic peer at the relay writes forged ledger operations into log documents: tampered
 * content, a broken chain, a replay, an idempotency id reused with other content, another device's op. Each is
 * rejected (GET /api/rejected) or raised as a conflict, never settled silently and never dropped — also after a
 * relay restart.
 */
describe('forged and replayed ledger operations reaching the relay', () => {
  let env: RelayWithClinic | undefined
  let relay: RelayProcess
  let dev: TestDevice
  const item = 'itm_morphine' as ItemId
  const batch = 'MOR-1' as BatchId

  beforeAll(async () => {
    env = await startRelayWithClinic('hostile-ledger-', 'clinic-h', 'tab-h')
    ;({ relay, dev } = env)
  })
  afterAll(async () => {
    await env?.stop()
  })

  it('rejects tampered content and foreign ops, conflicts forks and reused ids, ignores exact replays, and keeps all of it', async () => {
    dev.append(
      [
        {
          kind: 'formulary-update',
          item,
          name: 'Morphine 10 mg',
          price: 50,
          status: 'active',
          controlled: true,
        },
      ],
      'admin',
    )
    const [rx] = dev.append([
      {
        kind: 'receive',
        item,
        batch,
        expiry: '2099-01-01',
        quantity: 10,
        unitCost: 100,
        supplier: 'CMST',
        grn: 'G-1',
      },
    ])
    await dev.settled((d, s) => qty(s, batch) === 10 && d.watermarks['tab-h'] === 2)
    const op1 = rx!

    // 1. tampered content, old hash (index 2)
    dev.appendRaw({ ...op1, seq: 3, prev: op1.hash, id: 'op_tamper', quantity: 1000 })
    // 2. exact replay of op 1 (index 3): same id, same content, same hash
    dev.appendRaw({ ...op1 })
    // 3. forged op with a correct own hash but a prev that is not the accepted op 1 (index 4): a fork at seq 3
    const fork = rehash({ ...op1, id: 'op_fork', seq: 3, prev: 'f'.repeat(64), quantity: 7 } as Operation)
    dev.appendRaw(fork)
    // 4. the idempotency id of op 1 reused for other content, correctly chained after op 1 (index 5)
    const reuse = rehash({ ...op1, seq: 3, prev: op1.hash, quantity: 999 } as Operation)
    dev.appendRaw(reuse)
    // 5. another device's operation slipped into this log (index 6)
    const other = new DeviceLog({
      device: 'tab-other' as DeviceId,
      session: { user: 'u-other' as UserId, role: 'pharmacist', site: SITE },
    })
    const foreign = other.append({
      kind: 'receive',
      item,
      batch,
      expiry: '2099-01-01',
      quantity: 50,
      unitCost: 1,
      supplier: 'X',
      grn: 'G-9',
    })
    dev.appendRaw(foreign)

    const rejected = await pollUntil(async () => {
      const r = await relay.api<Rejected>('GET', '/api/rejected?clinic=clinic-h')
      return r.body.total >= 2 ? r.body : undefined
    }, 'forged operations rejected')
    expect(rejected.rejected.map((r) => [r.index, r.reason])).toEqual([
      [2, 'hash-mismatch'],
      [6, 'wrong-device'],
    ])
    const conflicts = await pollUntil(async () => {
      const r = await relay.api<Conflicts>('GET', '/api/conflicts?clinic=clinic-h')
      return r.body.conflicts.length >= 2 ? r.body : undefined
    }, 'fork and reused id raised as conflicts')
    expect(conflicts.conflicts.map((c) => c.kind).sort()).toEqual(['chain-fork', 'idempotency-mismatch'])
    expect(conflicts.conflicts.every((c) => c.status === 'open')).toBe(true)

    // nothing forged moved stock: still the 10 received, the replay counted once
    const inv = await relay.api<{ inventory: { stock: Record<string, Record<string, number>> } }>(
      'GET',
      '/api/inventory?clinic=clinic-h',
    )
    expect(JSON.stringify(inv.body.inventory)).toContain('"MOR-1":10')
    const before = await relay.api<{
      clinics: { opsRejected: number; conflictsOpen: number; opsSettled: number }[]
    }>('GET', '/api/status')
    expect(before.body.clinics[0]).toMatchObject({ opsRejected: 2, conflictsOpen: 2, opsSettled: 2 })

    // never lost: the same verdicts after a restart of the relay (checkpointed)
    expect(await relay.stop('SIGTERM')).toBe(0)
    relay = await RelayProcess.start(env!.dir.path)
    env!.relay = relay
    const after = await relay.api<{
      clinics: { opsRejected: number; conflictsOpen: number; opsSettled: number }[]
    }>('GET', '/api/status')
    expect(after.body.clinics[0]).toMatchObject({ opsRejected: 2, conflictsOpen: 2, opsSettled: 2 })
    const again = await relay.api<Rejected>('GET', '/api/rejected?clinic=clinic-h')
    expect(again.body.rejected.map((r) => r.reason)).toEqual(['hash-mismatch', 'wrong-device'])
  })
})
