import type { Chart, Imm, PatientLink } from '@clinic-mesh/records'

/**
 * A stored record as plain JSON: every `Imm` scalar unwrapped to its string (what records `plain()` returns and what
 * the device API's `GET /api/patients/:id` answers). The mappers read this shape, so they work on a chart read from a
 * document (after `plain(chart)`) and on one received over HTTP alike.
 */
export type Plain<T> =
  T extends Imm<infer S>
    ? S
    : T extends string | number | boolean | null | undefined
      ? T
      : T extends readonly (infer E)[]
        ? Plain<E>[]
        : { [K in keyof T]: Plain<T[K]> }

export type PlainChart = Plain<Chart>
export type PlainLink = Plain<PatientLink>
