import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DeviceCluster, type DeviceProcess } from './helpers/device-process.js'

interface OpReply {
  operation: { id: string; seq: number; hash: string; prev: string | null }
  duplicate: boolean
}
interface StockReply {
  lines: { item: string; batch: string; settled: number; tentative: number }[]
}
interface ErrorReply {
  error: { name: string; message: string }
}

const receipt = (id: string, quantity: number) => ({
  id,
  item: 'itm_amox',
  batch: 'AMX-1',
  expiry: '2030-01-31',
  quantity,
  unitCost: 40,
  supplier: 'CMST',
  grn: `GRN-${id}`,
})

describe('one device node: SIGKILL after acknowledged writes, then bad input', () => {
  let cluster: DeviceCluster
  let node: DeviceProcess

  beforeAll(async () => {
    cluster = await DeviceCluster.start(['pharmacy'])
    node = cluster.devices[0]!
    await node.ready()
  })

  afterAll(async () => {
    await node?.stop('SIGKILL')
    await cluster?.stop()
  })

  it('keeps every acknowledged write across a SIGKILL, and the ledger chain continues', async () => {
    const patient = await node.api<{ id: string }>('POST', '/api/patients', {
      given: 'Chikondi',
      family: 'Banda',
      birthDate: '2001-07-07',
      sex: 'female',
    })
    expect(patient.status).toBe(201)
    const first = await node.api<OpReply>('POST', '/api/stock/receipts', receipt('grn-1', 100))
    expect(first.status).toBe(201)
    expect(await node.stop('SIGKILL')).toBeNull() // killed right after the acknowledgement

    node = await node.restart()
    await node.ready()
    const chart = await node.api<{ chart: { patient: { name: { family: string } } } }>(
      'GET',
      `/api/patients/${patient.body.id}`,
    )
    expect(chart.status).toBe(200)
    expect(chart.body.chart.patient.name.family).toBe('Banda')
    const stock = await node.api<StockReply>('GET', '/api/stock')
    expect(stock.body.lines).toEqual([
      expect.objectContaining({ item: 'itm_amox', batch: 'AMX-1', settled: 0, tentative: 100 }),
    ])

    // the same idempotency key and content: the recorded op, not a second one; other content: refused
    const again = await node.api<OpReply>('POST', '/api/stock/receipts', receipt('grn-1', 100))
    expect(again.status).toBe(200)
    expect(again.body.operation.hash).toBe(first.body.operation.hash)
    const clash = await node.api<ErrorReply>('POST', '/api/stock/receipts', receipt('grn-1', 99))
    expect(clash.status).toBe(409)
    expect(clash.body.error.name).toBe('IdempotencyConflictError')

    const second = await node.api<OpReply>('POST', '/api/stock/receipts', receipt('grn-2', 20))
    expect(second.body.operation.seq).toBe(2)
    expect(second.body.operation.prev).toBe(first.body.operation.hash)
    const dispense = await node.api<OpReply>('POST', '/api/stock/dispenses', {
      id: 'disp-1',
      item: 'itm_amox',
      batch: 'AMX-1',
      quantity: 30,
      patient: patient.body.id,
      prescription: 'rx_1',
      prescriptionHash: 'h1',
      priceSeen: 50,
      stockSeen: 120,
    })
    expect(dispense.status).toBe(201)
    const after = await node.api<StockReply>('GET', '/api/stock')
    expect(after.body.lines[0]?.tentative).toBe(90)
  })

  it('answers malformed, mistyped and oversized requests with named 4xx errors and keeps serving', async () => {
    const cases: [string, string, string | Uint8Array, number, string][] = [
      ['POST', '/api/patients', '{"given": "A",', 400, 'MalformedJsonError'],
      ['POST', '/api/patients', '', 400, 'MalformedJsonError'],
      ['POST', '/api/patients', '[1,2]', 400, 'InvalidInputError'],
      [
        'POST',
        '/api/patients',
        JSON.stringify({ given: 5, family: 'X', birthDate: '2000-01-01', sex: 'male' }),
        400,
        'InvalidInputError',
      ],
      [
        'POST',
        '/api/patients',
        JSON.stringify({ given: 'A', family: 'B', birthDate: 'yesterday', sex: 'male' }),
        400,
        'InvalidRecordError',
      ],
      [
        'POST',
        '/api/stock/dispenses',
        JSON.stringify({ id: 'd-x', item: 'itm_amox', batch: 'AMX-1', quantity: 'ten' }),
        400,
        'InvalidInputError',
      ],
      [
        'POST',
        '/api/stock/receipts',
        JSON.stringify({ ...receipt('grn-3', 5), expiry: 7 }),
        400,
        'InvalidInputError',
      ],
      ['POST', '/api/network', JSON.stringify({ mesh: 'off' }), 400, 'InvalidInputError'],
      [
        'PATCH',
        '/api/encounters/enc_nope',
        JSON.stringify({ patientId: 'pt_nope', notes: 'x' }),
        404,
        'UnknownPatientError',
      ],
      ['GET', '/api/patients/pt_nope', '', 404, 'UnknownPatientError'],
      ['POST', '/api/patients', new Uint8Array(2 * 1024 * 1024).fill(32), 413, 'PayloadTooLargeError'],
      ['DELETE', '/api/patients', '', 404, 'RouteNotFoundError'],
    ]
    for (const [method, path, raw, status, name] of cases) {
      const r = await node.api<ErrorReply>(
        method,
        path,
        undefined,
        method === 'GET' || method === 'DELETE' ? {} : { raw },
      )
      expect({ method, path, status: r.status, name: r.body.error?.name }).toEqual({
        method,
        path,
        status,
        name,
      })
    }
    const nurse = await node.api<ErrorReply>('POST', '/api/stock/receipts', receipt('grn-4', 5), {
      as: { name: 'Nurse Test', role: 'nurse' },
    })
    expect([nurse.status, nurse.body.error.name]).toEqual([403, 'ForbiddenError'])
    const anonymous = await node.api<ErrorReply>('POST', '/api/stock/receipts', receipt('grn-4', 5), {
      as: null,
    })
    expect([anonymous.status, anonymous.body.error.name]).toEqual([401, 'UnauthenticatedError'])
    const status = await node.api<{ device: { name: string } }>('GET', '/api/status')
    expect(status.status).toBe(200)
    expect(node.exited).toBe(false)
    expect(node.stderr.join('\n')).not.toMatch(/Chikondi|Banda/)
  })
})
