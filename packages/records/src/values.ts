import { ImmutableString, isImmutableString } from '@automerge/automerge'
import type { Actor, ActorRef, Imm } from './types.js'
import { InvalidRecordError } from './errors.js'

/** Wraps a string as an Automerge scalar (whole-value semantics, one op). */
export function imm<T extends string>(value: T): Imm<T> {
  return new ImmutableString(value) as Imm<T>
}

/** Reads a string field whether it is stored as a scalar (`ImmutableString`) or as text. */
export function str<T extends string = string>(value: Imm<T> | T | undefined | null): T | '' {
  if (value === undefined || value === null) return ''
  if (typeof value === 'string') return value
  if (isImmutableString(value)) return value.val
  return String(value) as T
}

/** A stored value as plain JSON-ish data (ImmutableStrings unwrapped), for markers and comparisons. */
export function plain(value: unknown): unknown {
  if (isImmutableString(value)) return value.val
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return value.map(plain)
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = plain(v)
  return out
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/

export function checkActor(actor: Actor): void {
  if (
    !actor ||
    typeof actor.user !== 'string' ||
    !actor.user ||
    typeof actor.device !== 'string' ||
    !actor.device
  ) {
    throw new InvalidRecordError('actor needs a user and a device')
  }
  if (actor.at !== undefined) checkTimestamp(actor.at, 'actor.at')
}

export function checkTimestamp(value: string, field: string): void {
  if (typeof value !== 'string' || !ISO.test(value) || Number.isNaN(Date.parse(value))) {
    throw new InvalidRecordError(`${field} must be an ISO-8601 timestamp, got ${JSON.stringify(value)}`)
  }
}

/** The actor as stored, and the write time (actor.at or the device clock). Validates the actor. */
export function stamp(actor: Actor): { by: ActorRef; at: Imm } {
  checkActor(actor)
  return {
    by: { user: imm(actor.user), device: imm(actor.device) },
    at: imm(actor.at ?? new Date().toISOString()),
  }
}
