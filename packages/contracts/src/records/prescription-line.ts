import * as v from 'valibot'
import type { ItemId } from '../ids.js'
import { RecordText } from './inputs.js'

/** The most units one prescription line may ask the pharmacy to hand out. */
export const RX_LINE_MAX_QUANTITY = 10_000

/** A formulary item id as a prescription line names it (the ledger's `ItemId`). */
const ItemCode = v.pipe(
  v.string('must be a medicine chosen from the formulary'),
  v.trim(),
  v.minLength(1, 'must be a medicine chosen from the formulary'),
  v.maxLength(256, 'must be at most 256 characters'),
  v.regex(/^[A-Za-z0-9_.:-]+$/, 'must be a formulary item code'),
) as unknown as v.GenericSchema<string, ItemId>

/**
 * One line of a prescription (issue 15 item 2): a coded formulary item (its id and its name as the prescriber saw it),
 * how to take it, and how many units the pharmacy hands out. The records package applies it to every line written by
 * a helper; the device node applies it to every line a browser syncs in (apps/device sync gate), so an uncoded or
 * malformed line never lands on a node.
 */
export const RxLineSchema = v.strictObject(
  {
    itemId: ItemCode,
    /** the formulary name shown when prescribed (kept: the formulary may rename it later) */
    drug: RecordText(200),
    dose: RecordText(200),
    route: RecordText(100),
    frequency: RecordText(200),
    duration: RecordText(200),
    quantity: v.pipe(
      v.number('must be a number of units'),
      v.safeInteger('must be a whole number of units'),
      v.minValue(1, 'must be at least 1 unit'),
      v.maxValue(RX_LINE_MAX_QUANTITY, `must be at most ${RX_LINE_MAX_QUANTITY} units`),
    ),
    instructions: v.optional(RecordText(2000)),
  },
  'must be a prescription line',
)
export type RxLine = v.InferOutput<typeof RxLineSchema>
export type RxLineInput = v.InferInput<typeof RxLineSchema>

/** The fields of a line, in the order a signature's canonical content lists them. */
export const RX_LINE_FIELDS = [
  'itemId',
  'drug',
  'dose',
  'route',
  'frequency',
  'duration',
  'quantity',
  'instructions',
] as const satisfies readonly (keyof RxLine)[]
