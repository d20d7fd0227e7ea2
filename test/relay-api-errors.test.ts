import type { BatchId, ItemId } from '@clinic-mesh/contracts'
import { tempDir, type TempDir } from '@clinic-mesh/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TestDevice, qty } from './helpers/relay-device.js'
import { pollUntil } from './helpers/relay-poll.js'
import { RelayProcess } from './helpers/relay-process.js'

type Err = { error: { name: string; message: string } }

describe('relay API rejects bad input with named errors and keeps serving', () => {
  let dir: TempDir
  let relay: RelayProcess
  let dev: TestDevice

  beforeAll(async () => {
    dir = await tempDir('relay-api-')
    relay = await RelayProcess.start(dir.path)
    dev = new TestDevice(relay.syncUrl, 'clinic-e', 'tab-1')
    dev.createClinic()
    expect((await dev.register(relay)).status).toBe(201)
  })
  afterAll(async () => {
    await dev.close()
    await relay.stop()
    await dir.remove()
  })

  const cases: [string, string, string, unknown, string | undefined, number, string][] = [
    ['malformed JSON', 'POST', '/api/clinics', undefined, '{"clinic": ', 400, 'MalformedJsonError'],
    ['empty body', 'POST', '/api/clinics', undefined, '', 400, 'MalformedJsonError'],
    ['array body', 'POST', '/api/clinics', [1, 2], undefined, 400, 'InvalidInputError'],
    [
      'clinic of wrong type',
      'POST',
      '/api/clinics',
      { clinic: 42, directoryUrl: 'automerge:x' },
      undefined,
      400,
      'InvalidInputError',
    ],
    [
      'path-like clinic id',
      'POST',
      '/api/clinics',
      { clinic: '../etc', directoryUrl: 'automerge:2sL5dFFxBFvAfPjWe1hwZuUfnCRx' },
      undefined,
      400,
      'InvalidInputError',
    ],
    [
      'not an automerge url',
      'POST',
      '/api/clinics',
      { clinic: 'c1', directoryUrl: 'http://x' },
      undefined,
      400,
      'InvalidInputError',
    ],
    [
      'unknown clinic',
      'GET',
      '/api/inventory?clinic=nowhere',
      undefined,
      undefined,
      404,
      'UnknownClinicError',
    ],
    ['missing clinic', 'GET', '/api/inventory', undefined, undefined, 400, 'InvalidInputError'],
    [
      'bad status filter',
      'GET',
      '/api/conflicts?status=maybe',
      undefined,
      undefined,
      400,
      'InvalidInputError',
    ],
    ['unknown route', 'GET', '/api/nothing', undefined, undefined, 404, 'RouteNotFoundError'],
    [
      'unknown conflict',
      'POST',
      '/api/conflicts/c_nope/resolution',
      { clinic: 'clinic-e', decision: { action: 'cancel' }, note: '', user: 'u', role: 'pharmacist' },
      undefined,
      404,
      'UnknownConflictError',
    ],
    [
      'unknown role',
      'POST',
      '/api/conflicts/c_nope/resolution',
      { clinic: 'clinic-e', decision: { action: 'cancel' }, user: 'u', role: 'janitor' },
      undefined,
      400,
      'InvalidInputError',
    ],
    [
      'decision not an object',
      'POST',
      '/api/conflicts/c_nope/resolution',
      { clinic: 'clinic-e', decision: 'cancel', user: 'u', role: 'pharmacist' },
      undefined,
      400,
      'InvalidInputError',
    ],
    [
      'resolution for unknown clinic',
      'POST',
      '/api/conflicts/c_nope/resolution',
      { clinic: 'zzz', decision: { action: 'cancel' }, user: 'u', role: 'pharmacist' },
      undefined,
      404,
      'UnknownClinicError',
    ],
  ]

  it.each(cases)('%s', async (_what, method, path, body, raw, status, name) => {
    const res = await relay.api<Err>(method, path, body, raw)
    expect(res.status).toBe(status)
    expect(res.body.error.name).toBe(name)
    expect(typeof res.body.error.message).toBe('string')
  })

  it('records invalid operations in a log as rejected (with reason) and keeps settling the valid ones', async () => {
    dev.append(
      [
        {
          kind: 'formulary-update',
          item: 'x' as ItemId,
          name: 'X',
          price: 1,
          status: 'active',
          controlled: false,
        },
      ],
      'admin',
    )
    dev.appendRaw({ kind: 'dispense', quantity: 'lots' })
    const [good] = dev.append([
      {
        kind: 'receive',
        item: 'x' as ItemId,
        batch: 'B1' as BatchId,
        expiry: '2099-01-01',
        quantity: 5,
        unitCost: 1,
        supplier: 's',
        grn: 'g',
      },
    ])
    dev.appendRaw({ ...good, id: 'op_tampered', quantity: 500 })
    const inv = await dev.settled((d, s) => qty(s, 'B1') === 5 && d.watermarks['tab-1'] === 2)
    expect(inv.decidedOps).toBe(2)
    const rejected = await pollUntil(async () => {
      const r = await relay.api<{ total: number; rejected: { reason: string; index: number }[] }>(
        'GET',
        '/api/rejected?clinic=clinic-e',
      )
      return r.body.total === 2 ? r.body : undefined
    }, 'two rejected operations')
    expect(rejected.rejected.map((r) => [r.index, r.reason])).toEqual([
      [1, 'bad-field'],
      [3, 'hash-mismatch'],
    ])
    const status = await relay.api<{ clinics: { opsRejected: number }[] }>('GET', '/api/status')
    expect(status.status).toBe(200)
    expect(status.body.clinics[0]?.opsRejected).toBe(2)
    expect(relay.exited).toBe(false)
  })
})
