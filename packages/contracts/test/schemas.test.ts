import {
  DispenseRequestSchema,
  InvalidInputError,
  OPERATION_SCHEMAS,
  StatusReplySchema,
  UpdateUserRequestSchema,
  VitalsSchema,
  parseWith,
} from '@clinic-mesh/contracts'
import { describe, expect, it } from 'vitest'

function refusal(fn: () => unknown): InvalidInputError {
  try {
    fn()
  } catch (err) {
    if (err instanceof InvalidInputError) return err
    throw err
  }
  throw new Error('expected InvalidInputError')
}

const dispense = {
  id: 'op_1',
  item: 'itm_amox',
  batch: 'AMX-1',
  quantity: 2,
  patient: 'pt_1',
  prescription: 'rx_1',
  prescriptionHash: 'h',
  priceSeen: 50,
  stockSeen: 10,
}

describe('parseWith', () => {
  it('returns the typed output and drops fields the contract does not name', () => {
    expect(parseWith(DispenseRequestSchema, { ...dispense, batch: null, label: 'for the label' })).toEqual({
      ...dispense,
      batch: null,
    })
  })

  it('names every invalid field in plain words, not only the first', () => {
    const err = refusal(() =>
      parseWith(
        DispenseRequestSchema,
        { ...dispense, quantity: 0, priceSeen: 'fifty', patient: undefined },
        'request body',
      ),
    )
    expect(err.name).toBe('InvalidInputError')
    expect(err.issues).toEqual([
      { path: 'quantity', message: 'must be 1 or more' },
      { path: 'patient', message: 'is required' },
      { path: 'priceSeen', message: 'must be a number' },
    ])
    expect(err.message).toBe(
      'request body: quantity must be 1 or more; patient is required; priceSeen must be a number',
    )
  })

  it('says what a whole-value rule wants', () => {
    expect(refusal(() => parseWith(UpdateUserRequestSchema, {})).issues).toEqual([
      { path: '', message: 'must give role and/or status' },
    ])
  })
})

describe('reply schemas', () => {
  const live = {
    device: { id: 'dev-a', name: 'Desk', peerId: '12D3KooW' },
    clinic: { id: 'c1', name: 'Clinic', directoryUrl: 'automerge:abc', ready: true },
    directoryUrl: 'automerge:abc',
    peers: [{ id: 'p', name: 'Ward', peerId: '12D3KooX', foundBy: 'mdns' }],
    network: { mesh: true, relay: true },
    mesh: {
      addresses: ['/ip4/169.254.3.7/tcp/4100/p2p/12D3KooW'],
      links: [{ name: 'wlan0', address: '169.254.3.7', ok: true, error: null }],
      multicastRoute: false,
      addressBook: 1,
      alone: null,
    },
    relay: {
      url: null,
      enabled: true,
      connected: false,
      reachable: false,
      lastSyncAt: null,
      lastError: null,
    },
    ledger: { pending: 0, head: 3 },
    pending: { ops: 0 },
    documents: 12,
  }

  it('reads a device status reply, live or revoked', () => {
    expect(parseWith(StatusReplySchema, live)).toMatchObject({ peers: [{ id: 'p', name: 'Ward' }] })
    expect(
      parseWith(StatusReplySchema, { device: live.device, revoked: true, clinic: { ready: false } }),
    ).toMatchObject({ revoked: true })
  })

  it('refuses a peer without how it was found, or a reason it does not know', () => {
    const peers = [{ id: 'p', name: 'Ward', peerId: '12D3KooX' }]
    expect(() => parseWith(StatusReplySchema, { ...live, peers })).toThrow(InvalidInputError)
    const mesh = { ...live.mesh, alone: 'cosmic-rays' }
    expect(() => parseWith(StatusReplySchema, { ...live, mesh })).toThrow(InvalidInputError)
  })

  it('fails loudly on a renamed field instead of guessing', () => {
    const { peers, ...rest } = live
    expect(() => parseWith(StatusReplySchema, { ...rest, meshPeers: peers })).toThrow(InvalidInputError)
  })
})

describe('ledger operation schemas', () => {
  const header = {
    v: 1,
    id: 'op_1',
    device: 'dev-a',
    user: 'u1',
    role: 'pharmacist',
    site: 's1',
    hlc: { wall: 1, counter: 0, node: 'dev-a' },
    seq: 1,
    prev: null,
    hash: 'a'.repeat(64),
  }
  const body = {
    kind: 'dispense',
    item: 'i',
    batch: null,
    quantity: 1,
    patient: 'p',
    prescription: 'rx',
    prescriptionHash: 'h',
    priceSeen: 0,
    stockSeen: -2,
  }

  it('accepts an operation and refuses an unexpected field (hashed content)', () => {
    expect(parseWith(OPERATION_SCHEMAS.dispense, { ...header, ...body })).toEqual({ ...header, ...body })
    expect(
      refusal(() => parseWith(OPERATION_SCHEMAS.dispense, { ...header, ...body, extra: 1 })).issues,
    ).toEqual([{ path: 'extra', message: 'is not expected here' }])
  })

  it('refuses a decision of another shape inside a resolution', () => {
    const resolution = {
      ...header,
      kind: 'resolution',
      conflict: 'c_1',
      decision: { action: 'write-off', batch: 'B' },
      note: '',
      approval: null,
    }
    expect(
      refusal(() => parseWith(OPERATION_SCHEMAS.resolution, resolution)).issues.map((i) => i.path),
    ).toEqual(['decision.quantity'])
  })
})

describe('vital signs', () => {
  it('keeps plausible values and names each implausible one', () => {
    expect(parseWith(VitalsSchema, { systolic: 120, diastolic: 80, spo2: 98 })).toEqual({
      systolic: 120,
      diastolic: 80,
      spo2: 98,
    })
    expect(refusal(() => parseWith(VitalsSchema, { temperatureC: 370, pulseBpm: 5 })).issues).toEqual([
      { path: 'temperatureC', message: 'is outside the plausible range 25–45' },
      { path: 'pulseBpm', message: 'is outside the plausible range 20–250' },
    ])
  })

  it('needs both blood pressure numbers, diastolic below systolic, and at least one sign', () => {
    expect(refusal(() => parseWith(VitalsSchema, { systolic: 120 })).issues[0]?.message).toBe(
      'blood pressure needs both systolic and diastolic',
    )
    expect(refusal(() => parseWith(VitalsSchema, { systolic: 80, diastolic: 90 })).issues[0]?.message).toBe(
      'diastolic must be below systolic',
    )
    expect(refusal(() => parseWith(VitalsSchema, {})).issues[0]?.message).toBe(
      'must contain at least one value',
    )
  })
})
