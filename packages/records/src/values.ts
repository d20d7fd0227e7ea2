import { ImmutableString, isImmutableString } from '@automerge/automerge'
import type { DeviceId, UserId } from '@clinic-mesh/contracts'
import type { Actor, Imm, PackedActor } from './types.js'
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

/** Ids never hold white space (`newId`, user and device ids): the packed actor's separator. */
const ACTOR_ID = /^[^\s]{1,200}$/

/** The actor as stored, and the write time (actor.at or the device clock). Validates the actor. */
export function stamp(actor: Actor): { by: PackedActor; at: Imm } {
  checkActor(actor)
  return { by: packActor(actor), at: imm(actor.at ?? new Date().toISOString()) }
}

/** An actor packed as one scalar (`user device`): what `stamp` writes. Throws on an id that cannot be packed. */
export function packActor(actor: Pick<Actor, 'user' | 'device'>): PackedActor {
  if (!ACTOR_ID.test(actor.user) || !ACTOR_ID.test(actor.device))
    throw new InvalidRecordError('actor ids must be 1-200 characters without white space')
  return imm(`${actor.user} ${actor.device}`)
}

/**
 * The user and device of a recorded actor, in either stored form (packed `user device` from schema 3, or the
 * `{user, device}` map before it; ImmutableStrings or plain strings, as `plain` leaves them); undefined when the
 * value is neither (absent, malformed, or forged with an empty part).
 */
export function actorOf(ref: unknown): { user: UserId; device: DeviceId } | undefined {
  if (ref === undefined || ref === null) return undefined
  if (typeof ref === 'string' || isImmutableString(ref)) {
    const [user, device, ...rest] = str(ref as string).split(' ')
    if (rest.length > 0 || !user || !device || !ACTOR_ID.test(user) || !ACTOR_ID.test(device))
      return undefined
    return { user: user as UserId, device: device as DeviceId }
  }
  if (typeof ref !== 'object') return undefined
  const { user, device } = ref as { user?: unknown; device?: unknown }
  const u = typeof user === 'string' || isImmutableString(user) ? str(user as string) : ''
  const d = typeof device === 'string' || isImmutableString(device) ? str(device as string) : ''
  return u && d ? { user: u as UserId, device: d as DeviceId } : undefined
}

/** The user of a recorded actor (either form), '' when there is none. */
export function userOf(ref: unknown): UserId | '' {
  return actorOf(ref)?.user ?? ''
}
