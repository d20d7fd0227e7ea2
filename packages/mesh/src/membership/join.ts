import { createCipheriv, createDecipheriv, timingSafeEqual } from 'node:crypto'
import { bytesToHex } from '@noble/hashes/utils.js'
import { randomBytes, utf8ToBytes } from '@noble/hashes/utils.js'
import { ed25519 } from '@noble/curves/ed25519.js'
import { JoinError } from '../errors.js'
import { JoinPakeClient, joinPakeRespond } from './join-code.js'
import type { JoinCode, JoinHello, JoinKeys } from './join-code.js'
import { signEnrolment, verifyEnrolment } from './records.js'
import type { Enrolment } from './records.js'

/** What a new tablet receives: everything it needs to enter the clinic's mesh. */
export interface JoinBundle {
  clinic: string
  clinicSecret: Uint8Array
  adminPublicKeys: Uint8Array[]
  enrolment: Enrolment
  /** What else the admin device hands over (clinic name, site, discovery tag, directory URL), sealed the same way. */
  extra: Record<string, string>
}

export interface JoinRequest {
  confirm: Uint8Array
  sealed: Uint8Array
}

export interface JoinWelcome {
  confirm: Uint8Array
  sealed: Uint8Array
}

function seal(key: Uint8Array, plain: Uint8Array): Uint8Array {
  const iv = randomBytes(12)
  const c = createCipheriv('aes-256-gcm', key, iv)
  const body = Buffer.concat([c.update(plain), c.final()])
  return new Uint8Array(Buffer.concat([iv, body, c.getAuthTag()]))
}

function open(key: Uint8Array, sealed: Uint8Array): Uint8Array {
  if (sealed.byteLength < 28) throw new JoinError('sealed payload too short')
  try {
    const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12))
    d.setAuthTag(sealed.subarray(sealed.byteLength - 16))
    return new Uint8Array(Buffer.concat([d.update(sealed.subarray(12, sealed.byteLength - 16)), d.final()]))
  } catch {
    throw new JoinError('sealed payload does not authenticate')
  }
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && timingSafeEqual(a, b)
}

const json = (x: unknown): Uint8Array => utf8ToBytes(JSON.stringify(x))
const parse = (b: Uint8Array): unknown => JSON.parse(new TextDecoder().decode(b)) as unknown

export interface JoinAdminInit {
  joinCode: JoinCode
  clinic: string
  clinicSecret: Uint8Array
  adminSecretKey: Uint8Array
  /** every admin key of the clinic (the bundle carries them); defaults to this admin's key */
  adminPublicKeys?: Uint8Array[]
  maxAttempts?: number
  /** Strings sealed into the bundle beside the keys (see JoinBundle.extra). */
  extra?: Record<string, string>
}

/** Admin device side of a join: answers hellos, checks the new tablet's confirmation, signs its enrolment. */
export class JoinAdmin {
  readonly #init: JoinAdminInit
  readonly #pending = new Map<string, JoinKeys>()
  #failures = 0
  #used = false

  constructor(init: JoinAdminInit) {
    this.#init = init
  }

  #usable(now: number): void {
    if (this.#used) throw new JoinError('join code already used')
    if (now > this.#init.joinCode.expiresAt) throw new JoinError('join code expired')
    if (this.#failures >= (this.#init.maxAttempts ?? 3))
      throw new JoinError('join code burnt after too many wrong attempts')
  }

  offer(hello: JoinHello, now = Date.now()): { y: Uint8Array } {
    this.#usable(now)
    const { y, keys } = joinPakeRespond(this.#init.joinCode.code, hello)
    this.#pending.set(bytesToHex(hello.sid), keys)
    return { y }
  }

  /** Verifies the tablet knew the code, then signs its enrolment. Returns the enrolment to store + the reply. */
  welcome(
    sid: Uint8Array,
    request: JoinRequest,
    now = Date.now(),
  ): { enrolment: Enrolment; welcome: JoinWelcome } {
    this.#usable(now)
    const keys = this.#pending.get(bytesToHex(sid))
    this.#pending.delete(bytesToHex(sid))
    if (keys === undefined) throw new JoinError('unknown join session')
    if (!same(keys.confirmJoiner, request.confirm)) {
      this.#failures++
      throw new JoinError('wrong join code')
    }
    const asked = parse(open(keys.toAdmin, request.sealed)) as {
      devicePeerId?: unknown
      deviceName?: unknown
    }
    if (typeof asked.devicePeerId !== 'string' || typeof asked.deviceName !== 'string')
      throw new JoinError('malformed join request')
    const { clinic, clinicSecret, adminSecretKey } = this.#init
    const enrolment = signEnrolment(
      { clinic, devicePeerId: asked.devicePeerId, deviceName: asked.deviceName, enrolledAt: new Date(now) },
      adminSecretKey,
    )
    const admins = this.#init.adminPublicKeys ?? [ed25519.getPublicKey(adminSecretKey)]
    const bundle = {
      clinic,
      clinicSecret: bytesToHex(clinicSecret),
      adminPublicKeys: admins.map((k) => bytesToHex(k)),
      enrolment,
      extra: this.#init.extra ?? {},
    }
    this.#used = true
    return { enrolment, welcome: { confirm: keys.confirmAdmin, sealed: seal(keys.toJoiner, json(bundle)) } }
  }
}

/** New tablet side of a join. */
export class JoinClient {
  readonly #pake: JoinPakeClient
  readonly #device: { devicePeerId: string; deviceName: string }
  #keys: JoinKeys | undefined

  constructor(code: string, device: { devicePeerId: string; deviceName: string }) {
    this.#pake = new JoinPakeClient(code)
    this.#device = device
  }

  hello(): JoinHello {
    return this.#pake.hello()
  }

  request(offer: { y: Uint8Array }): JoinRequest {
    this.#keys = this.#pake.keys(offer.y)
    return { confirm: this.#keys.confirmJoiner, sealed: seal(this.#keys.toAdmin, json(this.#device)) }
  }

  /** Checks the admin knew the code too, opens the bundle and verifies the enrolment names this device. */
  finish(welcome: JoinWelcome): JoinBundle {
    const keys = this.#keys
    if (keys === undefined) throw new JoinError('finish() before request()')
    if (!same(keys.confirmAdmin, welcome.confirm))
      throw new JoinError('admin device did not prove the join code')
    const raw = parse(open(keys.toJoiner, welcome.sealed)) as {
      clinic: string
      clinicSecret: string
      adminPublicKeys: string[]
      enrolment: Enrolment
      extra?: Record<string, string>
    }
    verifyEnrolment(raw.enrolment, raw.clinic, raw.adminPublicKeys)
    if (raw.enrolment.devicePeerId !== this.#device.devicePeerId)
      throw new JoinError('enrolment names another device')
    const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'))
    const extra: Record<string, string> = {}
    for (const [k, v] of Object.entries(raw.extra ?? {})) if (typeof v === 'string') extra[k] = v
    return {
      clinic: raw.clinic,
      clinicSecret: hex(raw.clinicSecret),
      adminPublicKeys: raw.adminPublicKeys.map(hex),
      enrolment: raw.enrolment,
      extra,
    }
  }
}
