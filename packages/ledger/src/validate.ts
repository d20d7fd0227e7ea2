import { isRole } from '@clinic-mesh/contracts'
import { hashOperation } from './canonical.js'
import { InvalidOperationError } from './errors.js'
import type { Operation } from './operation.js'
import { OPERATION_VERSION } from './operation.js'

type Rec = Record<string, unknown>
type Check = (v: unknown) => boolean

const str: Check = (v) => typeof v === 'string' && v.length > 0 && v.length <= 256
const text: Check = (v) => typeof v === 'string' && v.length <= 2000
const nullableStr: Check = (v) => v === null || str(v)
const posInt: Check = (v) => Number.isSafeInteger(v) && (v as number) > 0
const nonNegInt: Check = (v) => Number.isSafeInteger(v) && (v as number) >= 0
const nonZeroInt: Check = (v) => Number.isSafeInteger(v) && v !== 0
const hex64: Check = (v) => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v)
const isoDate: Check = (v) =>
  typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(Date.parse(`${v}T00:00:00Z`))
const oneOf =
  (...values: string[]): Check =>
  (v) =>
    typeof v === 'string' && values.includes(v)
const isObj = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v)
const approval: Check = (v) => v === null || (isObj(v) && str(v.user) && isRole(v.role))

const HEADER: Record<string, Check> = {
  v: (v) => v === OPERATION_VERSION,
  kind: str,
  id: str,
  device: str,
  user: str,
  role: isRole,
  site: str,
  hlc: (v) => isObj(v) && nonNegInt(v.wall) && nonNegInt(v.counter) && str(v.node),
  seq: posInt,
  prev: (v) => v === null || hex64(v),
  hash: hex64,
}

const decision: Check = (v) => {
  if (!isObj(v)) return false
  switch (v.action) {
    case 'switch-lot':
      return str(v.batch)
    case 'partial-dispense':
      return posInt(v.quantity)
    case 'cancel':
      return true
    case 'write-off':
      return str(v.batch) && posInt(v.quantity)
    case 'accept':
      return v.adjustment === null || (isObj(v.adjustment) && str(v.adjustment.batch) && nonZeroInt(v.adjustment.delta))
    default:
      return false
  }
}

const BODIES: Record<string, Record<string, Check>> = {
  receive: { item: str, batch: str, expiry: isoDate, quantity: posInt, unitCost: nonNegInt, supplier: str, grn: str },
  dispense: {
    item: str,
    batch: nullableStr,
    quantity: posInt,
    patient: str,
    prescription: str,
    prescriptionHash: str,
    priceSeen: nonNegInt,
    stockSeen: Number.isSafeInteger,
  },
  return: { item: str, batch: str, quantity: posInt, dispense: nullableStr, reason: text },
  'transfer-out': { item: str, batch: str, quantity: posInt, transfer: str, to: str },
  'transfer-in': { item: str, batch: str, quantity: posInt, transfer: str, from: str },
  count: { item: str, batch: str, counted: nonNegInt, stockSeen: Number.isSafeInteger },
  'adjustment-request': { item: str, batch: str, delta: nonZeroInt, reason: text, corrects: nullableStr, approval },
  'formulary-update': {
    item: str,
    name: text,
    price: nonNegInt,
    status: oneOf('active', 'withdrawn'),
    controlled: (v) => typeof v === 'boolean',
  },
  'prescription-status': { prescription: str, signedHash: str, status: oneOf('active', 'superseded', 'cancelled') },
  resolution: { conflict: str, decision, note: text, approval },
}

/**
 * Check an untrusted operation (from a peer, a sync batch, storage): shape, types, ranges, chain fields and the
 * hash over its canonical encoding. Returns it typed, or throws `InvalidOperationError` naming the field.
 */
export function validateOperation(input: unknown): Operation {
  if (!isObj(input)) throw new InvalidOperationError('not-an-object', 'operation must be an object')
  const body = typeof input.kind === 'string' ? BODIES[input.kind] : undefined
  if (!body) throw new InvalidOperationError('unknown-kind', `unknown operation kind ${String(input.kind)}`, 'kind')
  const schema = { ...HEADER, ...body }
  for (const [field, check] of Object.entries(schema)) {
    if (!check(input[field])) throw new InvalidOperationError('bad-field', `invalid ${field}`, field)
  }
  for (const key of Object.keys(input)) {
    if (!(key in schema)) throw new InvalidOperationError('unknown-field', `unexpected field ${key}`, key)
  }
  const seq = input.seq as number
  if ((seq === 1) !== (input.prev === null)) {
    throw new InvalidOperationError('bad-chain', 'prev must be null exactly for seq 1', 'prev')
  }
  const op = input as unknown as Operation
  if (op.hlc.node !== op.device) throw new InvalidOperationError('bad-field', 'hlc.node must be the device', 'hlc')
  if (hashOperation(op) !== op.hash) throw new InvalidOperationError('hash-mismatch', 'hash does not match content', 'hash')
  return op
}

export interface BatchValidation {
  readonly valid: Operation[]
  readonly invalid: { readonly index: number; readonly error: InvalidOperationError }[]
}

/** Validate a whole sync batch; every rejected entry is reported with its index (nothing is silently dropped). */
export function validateBatch(inputs: readonly unknown[]): BatchValidation {
  const valid: Operation[] = []
  const invalid: { index: number; error: InvalidOperationError }[] = []
  inputs.forEach((input, index) => {
    try {
      valid.push(validateOperation(input))
    } catch (err) {
      if (!(err instanceof InvalidOperationError)) throw err
      invalid.push({ index, error: err })
    }
  })
  return { valid, invalid }
}
