import { ImmutableString, isImmutableString } from '@automerge/automerge'

/**
 * A packed value of an index shard (a summary, or a chart's open visits). `index/2` shards hold each as an Automerge
 * scalar (`ImmutableString`: one op); `index/1` shards, made before, as text (one op per character, ~50 a summary:
 * 10,000 summaries were ~500,000 ops to write, sync and load). Readers take both (`packedOf`); a writer keeps the form
 * of the shard it writes (`packedFor`), so devices of one clinic agree on it whatever their version.
 */
export type PackedValue = string | ImmutableString

/** Index shard layout whose packed values are scalars (clinics made since); `index/1` holds them as text. */
export const INDEX_LAYOUT = 'index/2'
export type IndexLayout = 'index/1' | typeof INDEX_LAYOUT

/** The string a packed value holds, whichever its form (undefined: absent, or not a packed value). */
export function packedOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value
  if (isImmutableString(value)) return value.val
  return undefined
}

/** `packed` in the form a shard of `layout` stores it. */
export function packedFor(layout: string | undefined, packed: string): PackedValue {
  return layout === INDEX_LAYOUT ? new ImmutableString(packed) : packed
}
