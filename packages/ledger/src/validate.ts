import { OPERATION_SCHEMAS, type OperationShape } from '@clinic-mesh/contracts'
import * as v from 'valibot'
import { hashOperation } from './canonical.js'
import { InvalidOperationError } from './errors.js'
import type { Operation } from './operation.js'

// the ledger's Operation type and the contract schema (@clinic-mesh/contracts ledger-ops.ts) describe the same shape
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
const sameShape: Same<Operation, OperationShape> = true
void sameShape

const isObj = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x)

/**
 * Check an untrusted operation (from a peer, a sync batch, storage): shape, types and ranges against the contract
 * schema (@clinic-mesh/contracts `OPERATION_SCHEMAS`), then the chain fields and the hash over its canonical encoding.
 * Returns it typed, or throws `InvalidOperationError` naming the (top-level) field: reason `bad-field` for a field of
 * the wrong type or range, `unknown-field` for a field the kind does not have.
 */
export function validateOperation(input: unknown): Operation {
  if (!isObj(input)) throw new InvalidOperationError('not-an-object', 'operation must be an object')
  const schema =
    typeof input.kind === 'string' && Object.hasOwn(OPERATION_SCHEMAS, input.kind)
      ? OPERATION_SCHEMAS[input.kind as keyof typeof OPERATION_SCHEMAS]
      : undefined
  if (!schema)
    throw new InvalidOperationError('unknown-kind', `unknown operation kind ${String(input.kind)}`, 'kind')
  const r = v.safeParse(schema, input)
  if (!r.success) {
    const top = (i: v.BaseIssue<unknown>): string => {
      const key: unknown = i.path?.[0]?.key
      return typeof key === 'string' ? key : ''
    }
    const unexpected = (i: v.BaseIssue<unknown>): boolean =>
      i.type === 'strict_object' && i.path?.length === 1 && i.input !== undefined
    const bad = r.issues.find((i) => !unexpected(i))
    if (bad) throw new InvalidOperationError('bad-field', `invalid ${top(bad)}: ${bad.message}`, top(bad))
    const extra = top(r.issues[0])
    throw new InvalidOperationError('unknown-field', `unexpected field ${extra}`, extra)
  }
  const op = input as unknown as Operation // the schema has no transforms: the input is the output, as hashed
  if ((op.seq === 1) !== (op.prev === null)) {
    throw new InvalidOperationError('bad-chain', 'prev must be null exactly for seq 1', 'prev')
  }
  if (op.hlc.node !== op.device)
    throw new InvalidOperationError('bad-field', 'hlc.node must be the device', 'hlc')
  if (hashOperation(op) !== op.hash)
    throw new InvalidOperationError('hash-mismatch', 'hash does not match content', 'hash')
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
