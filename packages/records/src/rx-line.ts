import { RX_LINE_FIELDS, RxLineSchema, type RxLine, type RxLineInput } from '@clinic-mesh/contracts'
import { InvalidRecordError } from './errors.js'
import type { RxItem } from './types.js'
import { parse } from './validate.js'
import { imm, plain, str } from './values.js'

/** A prescription line as a helper takes it: a coded formulary item with dose, route, frequency, duration and quantity. */
export type RxItemInput = RxLineInput

/** The fields a line stores as whole-value strings (`quantity` is a number, the rest `Imm`). */
export const RX_TEXT_FIELDS = [
  'itemId',
  'drug',
  'dose',
  'route',
  'frequency',
  'duration',
  'instructions',
] as const
export type RxTextField = (typeof RX_TEXT_FIELDS)[number]

/** Checks a line against the contract (`RxLineSchema`): every invalid field named in one `InvalidRecordError`. */
export function parseRxLine(input: unknown, field = 'item'): RxLine {
  return parse(RxLineSchema, input, field)
}

/** A checked line as stored in the chart. */
export function toRxItem(input: unknown): RxItem {
  const line = parseRxLine(input)
  const item: RxItem = {
    itemId: imm(line.itemId),
    drug: imm(line.drug),
    dose: imm(line.dose),
    route: imm(line.route),
    frequency: imm(line.frequency),
    duration: imm(line.duration),
    quantity: line.quantity,
  }
  if (line.instructions !== undefined) item.instructions = imm(line.instructions)
  return item
}

/** A stored line as plain data (what the contract checks). */
export function rxLineOf(item: RxItem): Partial<RxLine> {
  const out: Record<string, unknown> = {}
  for (const f of RX_LINE_FIELDS) {
    const v = plain(item[f])
    if (v !== undefined) out[f] = v
  }
  return out
}

/** A line written before prescriptions were coded (free-text drug, no quantity): readable and dispensable by hand only. */
export function isCodedLine(item: RxItem): boolean {
  return item.itemId !== undefined && typeof item.quantity === 'number'
}

/**
 * Why a stored line would not be accepted as written today (an uncoded or malformed line), or undefined when it is a
 * valid coded line. The device node refuses a browser's write that leaves such a line in a prescription.
 */
export function rxLineProblem(item: unknown): string | undefined {
  if (item === null || typeof item !== 'object') return 'is not a prescription line'
  try {
    parseRxLine(plain(item))
    return undefined
  } catch (err) {
    if (err instanceof InvalidRecordError) return err.message
    throw err
  }
}

/** A line's text for labels and the chart: `amoxicillin 250 mg capsule — 500 mg oral 3 times a day for 5 days`. */
export function describeRxLine(item: RxItem): string {
  return `${str(item.drug)} — ${str(item.dose)} ${str(item.route)} ${str(item.frequency)} for ${str(item.duration)}`
}
