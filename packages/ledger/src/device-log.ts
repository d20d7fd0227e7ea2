import type { DeviceId, LocationId, OperationId, Role, UserId } from '@clinic-mesh/contracts'
import { newId } from '@clinic-mesh/contracts'
import { hashOperation } from './canonical.js'
import { InvalidOperationError } from './errors.js'
import type { Hlc } from './hlc.js'
import { HybridClock } from './hlc.js'
import type { Operation, OperationBody, UnsignedOperation } from './operation.js'
import { OPERATION_VERSION } from './operation.js'

const HEADER_KEYS = ['v', 'id', 'device', 'user', 'role', 'site', 'hlc', 'seq', 'prev', 'hash'] as const

/** Who is acting on the device right now (changes at shift change). */
export interface Session {
  readonly user: UserId
  readonly role: Role
  readonly site: LocationId
}

/** Where a device's chain stands; persist it to resume after a restart. */
export interface ChainHead {
  readonly seq: number
  readonly prev: string | null
  readonly hlc: Hlc | null
}

export interface DeviceLogInit {
  readonly device: DeviceId
  readonly session: Session
  readonly now?: () => number
  readonly resume?: ChainHead
}

/**
 * Builds the operations of one device: each gets the next sequence number, the hash of the previous operation
 * (a hash chain a relay can check for gaps, forks and tampering) and a hybrid logical clock timestamp.
 */
export class DeviceLog {
  readonly device: DeviceId
  #session: Session
  #seq: number
  #prev: string | null
  readonly #clock: HybridClock

  constructor(init: DeviceLogInit) {
    this.device = init.device
    this.#session = init.session
    this.#seq = init.resume?.seq ?? 0
    this.#prev = init.resume?.prev ?? null
    this.#clock = new HybridClock(init.device, init.now, init.resume?.hlc ?? undefined)
  }

  /** Shift change: later operations are attributed to the new user. */
  setSession(session: Session): void {
    this.#session = session
  }

  get session(): Session {
    return this.#session
  }

  /** Let the clock see a peer's timestamp so our next operation orders after what we have seen. */
  observe(hlc: Hlc): void {
    this.#clock.observe(hlc)
  }

  head(): ChainHead {
    return { seq: this.#seq, prev: this.#prev, hlc: this.#seq === 0 ? null : this.#clock.last() }
  }

  /** Build, hash and chain the next operation. `id` is the idempotency id (random by default). */
  append(body: OperationBody, id: OperationId = newId<OperationId>('op')): Operation {
    for (const k of HEADER_KEYS) {
      if (k in body) throw new InvalidOperationError('bad-field', `body may not set header field ${k}`, k)
    }
    const seq = this.#seq + 1
    const unsigned = {
      ...body,
      v: OPERATION_VERSION,
      id,
      device: this.device,
      user: this.#session.user,
      role: this.#session.role,
      site: this.#session.site,
      hlc: this.#clock.tick(),
      seq,
      prev: this.#prev,
    } as UnsignedOperation
    for (const [k, v] of Object.entries(unsigned)) {
      if (v === undefined) throw new InvalidOperationError('bad-field', `field ${k} is undefined`, k)
    }
    const hash = hashOperation(unsigned)
    this.#seq = seq
    this.#prev = hash
    return { ...unsigned, hash }
  }
}
