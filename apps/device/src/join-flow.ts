import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { networkInterfaces } from 'node:os'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import {
  InvalidInputError,
  JoinOfferAnswerSchema,
  JoinOfferMessageSchema,
  JoinWelcomeAnswerSchema,
  JoinWelcomeMessageSchema,
  parseWith,
  type JoinOffer,
  type Schema,
  type Output,
} from '@clinic-mesh/contracts'
import { JoinAdmin, JoinClient, JoinError, createJoinCode, type Enrolment } from '@clinic-mesh/mesh'
import { writeJsonAtomic, type ClinicFile } from './clinic-file.js'
import { ConfigError } from './errors.js'
import type { IdentitySealer } from './identity-seal.js'
import { ForbiddenOriginError, errorReply, readJson, sendJson } from './http-util.js'
import { joinOfferLimiter } from './rate-limit.js'
import { log } from './log.js'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
/** Bytes of a hex value (the clinic file's keys; join messages are checked by their contract schemas first). */
function bytes(v: unknown, what: string): Uint8Array {
  if (typeof v !== 'string' || !/^(?:[0-9a-f]{2}){1,4096}$/.test(v))
    throw new InvalidInputError(`${what} must be hex`)
  return Uint8Array.from(Buffer.from(v, 'hex'))
}

/** `POST /api/join-codes`'s reply (@clinic-mesh/contracts): `url` is where the new tablet sends its half (`clinic-mesh device ... --join URL --join-code CODE`). */
export type { JoinOffer } from '@clinic-mesh/contracts'

export interface JoinHostInit {
  /** The clinic with its secret and the admin key (from the admin's unlocked session), in memory only. */
  clinic: ClinicFile & { clinicSecret: string; adminSecretKey: string }
  /** Address the one-time join endpoint listens on (the LAN; tests use 127.0.0.1). */
  host: string
  ttlMs?: number
  /** Records the new tablet's enrolment in the clinic's membership document. */
  enrol: (e: Enrolment) => Promise<void>
  /** The clinic's current enrolments (signed by the admin key): the new tablet admits these peers from its first start. */
  members: Enrolment[]
}

/**
 * Admin device side of field enrolment with no internet: a one-time code shown on the admin's screen, and a small
 * HTTP endpoint on the LAN for as long as the code lives. The code authenticates both sides (PAKE in
 * `@clinic-mesh/mesh`): a device that does not know it learns nothing, and three wrong tries burn it. The endpoint
 * closes after one successful join or at expiry.
 */
/**
 * The address a new tablet can dial: the listen host itself, or for a wildcard (0.0.0.0) this machine's first
 * LAN IPv4 address (loopback only when it has no other), so the join command the admin reads out is usable as is.
 */
export function reachableHost(host: string): string {
  if (host !== '0.0.0.0') return host
  const all = Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined)
  return all.find((a) => a.family === 'IPv4' && !a.internal)?.address ?? '127.0.0.1'
}

export async function hostJoin(init: JoinHostInit): Promise<JoinOffer> {
  const { clinic } = init
  if (!clinic.adminSecretKey) throw new ConfigError('this device does not hold the clinic admin key')
  const code = createJoinCode({ ttlMs: init.ttlMs ?? 10 * 60_000 })
  const admin = new JoinAdmin({
    joinCode: code,
    clinic: clinic.clinic,
    clinicSecret: bytes(clinic.clinicSecret, 'clinic secret'),
    adminSecretKey: bytes(clinic.adminSecretKey, 'admin key'),
    adminPublicKeys: clinic.adminPublicKeys.map((k) => bytes(k, 'admin public key')),
    extra: {
      name: clinic.name,
      site: clinic.site,
      mdnsTag: clinic.mdnsTag,
      members: JSON.stringify(init.members),
      ...(clinic.directoryUrl ? { directoryUrl: clinic.directoryUrl } : {}),
    },
  })
  let server: Server | undefined = undefined
  const offers = joinOfferLimiter()
  const close = (): void => {
    server?.close()
    server?.closeAllConnections()
  }
  server = createServer((req, res) => {
    void (async () => {
      try {
        if (req.headers.origin !== undefined)
          throw new ForbiddenOriginError('the join endpoint is for devices, not web pages')
        const body = await readJson(req)
        if (req.url === '/join/offer' && req.method === 'POST') {
          offers.take(req.socket.remoteAddress)
          const m = parseWith(JoinOfferMessageSchema, body, 'join offer')
          const { y } = admin.offer({ sid: bytes(m.sid, 'sid'), y: bytes(m.y, 'y') })
          return sendJson(res, 200, { y: hex(y) })
        }
        if (req.url === '/join/welcome' && req.method === 'POST') {
          const m = parseWith(JoinWelcomeMessageSchema, body, 'join welcome')
          const { enrolment, welcome } = admin.welcome(bytes(m.sid, 'sid'), {
            confirm: bytes(m.confirm, 'confirm'),
            sealed: bytes(m.sealed, 'sealed'),
          })
          await init.enrol(enrolment)
          log('device-joined', { peerId: enrolment.devicePeerId })
          sendJson(res, 200, { confirm: hex(welcome.confirm), sealed: hex(welcome.sealed) })
          return setImmediate(close)
        }
        sendJson(res, 404, { error: { name: 'RouteNotFoundError', message: 'no such join route' } })
      } catch (err) {
        const status = err instanceof JoinError ? 400 : errorReply(err).status
        sendJson(
          res,
          status,
          errorReply(
            err instanceof JoinError
              ? Object.assign(new InvalidInputError(err.message), { name: 'JoinError' })
              : err,
          ).body,
        )
      }
    })()
  })
  await new Promise<void>((resolve) => server.listen(0, init.host, resolve))
  setTimeout(close, code.expiresAt - Date.now()).unref()
  const { port } = server.address() as AddressInfo
  return {
    code: code.code,
    expiresAt: new Date(code.expiresAt).toISOString(),
    url: `http://${reachableHost(init.host)}:${port}`,
  }
}

function members(json: string | undefined): Enrolment[] {
  try {
    const v = JSON.parse(json ?? '[]') as unknown
    return Array.isArray(v) ? (v as Enrolment[]) : []
  } catch {
    return []
  }
}

/**
 * New tablet side: runs the join against the admin device's endpoint and writes DIR/clinic.json (no admin key,
 * this device's enrolment only, the clinic secret sealed under this device's identity key unless it runs with
 * --plain-storage), so the normal start continues as for any enrolled device.
 */
export async function joinClinic(
  dataDir: string,
  url: string,
  code: string,
  device: { peerId: string; name: string },
  sealer?: IdentitySealer,
): Promise<string> {
  const file = join(dataDir, 'clinic.json')
  if (existsSync(file)) return file
  const client = new JoinClient(code, { devicePeerId: device.peerId, deviceName: device.name })
  const post = async <S extends Schema>(
    path: string,
    body: Record<string, string>,
    reply: S,
  ): Promise<Output<S>> => {
    let res: Response
    try {
      res = await fetch(`${url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      })
    } catch (err) {
      throw new ConfigError(`cannot reach the admin device at ${url}: ${(err as Error).message}`)
    }
    const json = (await res.json()) as { error?: { name?: string; message?: string } } | undefined
    if (!res.ok) throw new JoinError(json?.error?.message ?? `join failed with HTTP ${res.status}`)
    return parseWith(reply, json, "the admin device's join answer")
  }
  const hello = client.hello()
  const offer = await post('/join/offer', { sid: hex(hello.sid), y: hex(hello.y) }, JoinOfferAnswerSchema)
  const request = client.request({ y: bytes(offer.y, 'y') })
  const welcome = await post(
    '/join/welcome',
    { sid: hex(hello.sid), confirm: hex(request.confirm), sealed: hex(request.sealed) },
    JoinWelcomeAnswerSchema,
  )
  const bundle = client.finish({
    confirm: bytes(welcome.confirm, 'confirm'),
    sealed: bytes(welcome.sealed, 'sealed'),
  })
  const e = bundle.extra
  if (!e.name || !e.site || !e.mdnsTag)
    throw new JoinError('the admin device sent an incomplete clinic description')
  const clinic: ClinicFile = {
    kind: 'clinic-mesh/clinic/1',
    clinic: bundle.clinic,
    name: e.name,
    site: e.site,
    ...(sealer
      ? { clinicSecretSealed: await sealer.seal('clinicSecret', bundle.clinicSecret) }
      : { clinicSecret: hex(bundle.clinicSecret) }),
    adminPublicKeys: bundle.adminPublicKeys.map(hex),
    mdnsTag: e.mdnsTag,
    // its own enrolment and the members it may talk to (each verified by its gater against the admin keys)
    enrolments: [
      bundle.enrolment,
      ...members(e.members).filter((m) => m.devicePeerId !== bundle.enrolment.devicePeerId),
    ],
    ...(e.directoryUrl ? { directoryUrl: e.directoryUrl } : {}),
  }
  await writeJsonAtomic(file, clinic)
  return file
}
