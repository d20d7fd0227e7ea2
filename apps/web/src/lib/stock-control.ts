import {
  RegisterReplySchema,
  StockOperationReplySchema,
  type AdjustmentRequestSchema,
  type CountRequestSchema,
  type Input,
  type RegisterReply,
} from '@clinic-mesh/contracts'
import { api, ApiError } from './api.js'

/** An adjustment as the pharmacy enters it: a request without its id (docs/api.md, `POST /api/stock/adjustments`). */
export type AdjustmentInput = Omit<Input<typeof AdjustmentRequestSchema>, 'id'>

/**
 * Records one lot's count (`POST /api/stock/counts`): the node writes what its books say beside it; a controlled
 * drug that differs becomes a critical conflict at the central office that a supervisor must approve.
 */
export async function recordCount(item: string, batch: string, counted: number): Promise<void> {
  await api('POST', '/api/stock/counts', StockOperationReplySchema, {
    id: `op_${crypto.randomUUID()}`,
    item,
    batch,
    counted,
  } satisfies Input<typeof CountRequestSchema>)
}

/**
 * Requests a stock adjustment. With `approver`, a supervisor standing by typed their password: the node signs their
 * approval, which the central office verifies; without, it waits for a supervisor at the central office.
 */
export async function requestAdjustment(input: AdjustmentInput): Promise<void> {
  await api('POST', '/api/stock/adjustments', StockOperationReplySchema, {
    ...input,
    id: `op_${crypto.randomUUID()}`,
  } satisfies Input<typeof AdjustmentRequestSchema>)
}

/** One item's register at this tablet's site. */
export function loadRegister(item: string): Promise<RegisterReply> {
  return api('GET', `/api/stock/register?item=${encodeURIComponent(item)}`, RegisterReplySchema)
}

/** A refusal in the words of the person at the tablet. */
export function refusal(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.name === 'SigningKeyLockedError')
      return 'Sign in again: this tablet restarted since you signed in.'
    if (err.name === 'DeviceUnreachableError')
      return 'Not recorded: this tablet’s clinic service is not answering. Try again in a moment.'
    if (err.name === 'InvalidPasswordError')
      return 'Not recorded: the supervisor’s name or password is wrong.'
    if (err.name === 'AccountLockedError') return `Not recorded: ${err.message}`
  }
  return err instanceof Error ? `Not recorded: ${err.message}` : 'Not recorded.'
}

/** What a register line's status means, for the table. */
export const STATUS_WORDS: Readonly<Record<RegisterReply['entries'][number]['status'], string>> = {
  settled: 'confirmed',
  tentative: 'not confirmed yet',
  conflict: 'held for review',
  resolved: 'reviewed',
}

/** What a register line is, for the table. */
export const KIND_WORDS: Readonly<Record<RegisterReply['entries'][number]['kind'], string>> = {
  receive: 'Received',
  dispense: 'Dispensed',
  return: 'Returned',
  'transfer-out': 'Sent to another site',
  'transfer-in': 'Received from another site',
  count: 'Count',
  'adjustment-request': 'Adjustment',
}
