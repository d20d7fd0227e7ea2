import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DeviceCluster, type DeviceProcess } from './helpers/device-process.js'
import { startRelayWithClinic, type RelayWithClinic } from './helpers/relay-device.js'
import type { RelayProcess } from './helpers/relay-process.js'

type Err = { error?: { name: string; message: string } }

/** Seeded generator (mulberry32): the same hostile bodies on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
const randomBytes = (next: () => number, n: number): Uint8Array =>
  Uint8Array.from({ length: n }, () => Math.floor(next() * 256))

/** Bodies every JSON route must refuse with a named 4xx: random bytes, JSON of the wrong shape, wrong field types. */
function hostileBodies(seed: number): [string, string | Uint8Array][] {
  const next = rng(seed)
  const out: [string, string | Uint8Array][] = []
  for (let i = 0; i < 6; i++)
    out.push([`random bytes #${i}`, randomBytes(next, 1 + Math.floor(next() * 400))])
  out.push(['NUL bytes', new Uint8Array(64)])
  out.push([
    'invalid UTF-8 inside a string',
    Uint8Array.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]),
  ])
  for (const v of ['[]', '[{"given":"A"}]', '42', '"text"', 'null', 'true', '{"__proto__":{"admin":true}}'])
    out.push([`JSON ${v}`, v])
  const wrong = [42, 'x'.repeat(5000), [], {}, null, true, -1, 1e308, { $ne: null }]
  for (const k of [
    'given',
    'family',
    'birthDate',
    'sex',
    'patientId',
    'reason',
    'notes',
    'vitals',
    'item',
    'batch',
    'quantity',
    'expiry',
    'mesh',
    'user',
    'password',
    'role',
    'name',
  ]) {
    out.push([`${k} of a wrong type`, JSON.stringify({ [k]: wrong[Math.floor(next() * wrong.length)] })])
  }
  out.push(['deeply nested', `${'['.repeat(5000)}${']'.repeat(5000)}`])
  return out
}

describe('hostile HTTP input to a real device node', () => {
  let cluster: DeviceCluster
  let node: DeviceProcess
  let patient: string
  // every name the device may answer hostile input with (a stable contract; a new name is a deliberate change)
  const NAMES = new Set([
    'MalformedJsonError',
    'InvalidInputError',
    'InvalidRecordError',
    'InvalidOperationError',
    'UnknownPatientError',
    'UnknownRecordError',
    'RouteNotFoundError',
    'PayloadTooLargeError',
    'InvalidPasswordError',
    'ForbiddenError',
    'UserExistsError',
  ])

  beforeAll(async () => {
    cluster = await DeviceCluster.start(['hostile'])
    node = cluster.devices[0]!
    await node.ready()
    const r = await node.api<{ id: string }>(
      'POST',
      '/api/patients',
      { given: 'Kondwani', family: 'Phiri', birthDate: '1990-05-05', sex: 'male' },
      { as: { name: 'reg', role: 'registration' } },
    )
    expect(r.status).toBe(201)
    patient = r.body.id
  })
  afterAll(async () => {
    await cluster?.stop()
  })

  // (POST /api/patients/:pid/prescriptions/:rxId/sign is left out: with no settled knowledge base the policy refuses the signer
  // with 403 ForbiddenError before any body is read)
  const routes: [string, string][] = [
    ['POST', '/api/patients'],
    ['POST', '/api/encounters'],
    ['PATCH', '/api/encounters/enc_x'],
    ['POST', '/api/stock/receipts'],
    ['POST', '/api/stock/dispenses'],
    ['POST', '/api/network'],
    ['POST', '/api/login'],
    ['POST', '/api/users'],
    ['POST', '/api/password'],
    ['POST', '/api/devices/revoke'],
    ['POST', '/api/stock/formulary'],
  ]

  /** A session that may call the route, so the body (not the role check) decides the answer. */
  const roleFor = (path: string): { name: string; role: string } | null =>
    path === '/api/login'
      ? null
      : ['/api/users', '/api/devices/revoke', '/api/stock/formulary'].includes(path)
        ? { name: 'admin', role: 'admin' }
        : path.startsWith('/api/stock')
          ? { name: 'pharm', role: 'pharmacist' }
          : { name: 'co', role: 'clinician' }

  it('answers every hostile body on every JSON route with a named 4xx and keeps serving', async () => {
    const seen = new Map<string, number>()
    const bad: string[] = []
    const accepted: string[] = []
    for (const [method, path] of routes) {
      for (const [what, raw] of hostileBodies(path.length * 7919)) {
        const r = await node.api<Err>(method, path, undefined, { raw, as: roleFor(path) })
        const name = r.body.error?.name ?? `(no error, ${r.status})`
        if (r.status < 300 && path === '/api/network')
          accepted.push(what) // an object without mesh/relay changes nothing
        else if (!(
          r.status >= 400 &&
          r.status < 500 &&
          NAMES.has(name) &&
          typeof r.body.error?.message === 'string'
        ))
          bad.push(`${method} ${path} ${what}: ${r.status} ${name}`)
        seen.set(name, (seen.get(name) ?? 0) + 1)
      }
    }
    console.warn(
      'device: hostile bodies answered',
      Object.fromEntries(seen),
      'no-op accepted by /api/network:',
      accepted.length,
    )
    expect(bad).toEqual([])
    expect(node.exited).toBe(false)
  })

  it('refuses oversized bodies with PayloadTooLargeError 413', async () => {
    const big = new Uint8Array(3 * 1024 * 1024).fill(0x20)
    for (const [method, path] of routes) {
      const r = await node.api<Err>(method, path, undefined, { raw: big, as: roleFor(path) })
      expect([path, r.status, r.body.error?.name]).toEqual([path, 413, 'PayloadTooLargeError'])
    }
  })

  it('answers bad percent-encoding and odd paths with named 4xx, never a 500', async () => {
    const as = { name: 'co', role: 'clinician' }
    const cases: [string, string, number, string][] = [
      ['GET', '/api/patients/%E0%A4%A', 400, 'InvalidInputError'],
      ['GET', '/api/patients/%ZZ/duplicates', 400, 'InvalidInputError'],
      ['PATCH', '/api/encounters/%C0%AF', 400, 'InvalidInputError'],
      ['GET', '/api/patients/%00', 404, 'UnknownPatientError'],
      ['GET', `/api/patients/${'a'.repeat(4000)}`, 404, 'UnknownPatientError'],
      ['GET', '/api/patients/..%2F..%2Fdevice.json', 404, 'UnknownPatientError'],
      ['GET', '/api/..%2F..%2Fdevice.json', 404, 'RouteNotFoundError'],
      ['DELETE', '/api/patients', 404, 'RouteNotFoundError'],
      ['PUT', '/api/stock', 404, 'RouteNotFoundError'],
    ]
    for (const [method, path, status, name] of cases) {
      const r = await node.api<Err>(
        method,
        path,
        undefined,
        method === 'PATCH' ? { raw: '{"patientId":"x"}', as } : { as },
      )
      expect({ method, path, status: r.status, name: r.body.error?.name }).toEqual({
        method,
        path,
        status,
        name,
      })
    }
    // the static file server never leaves the web root (encoded slashes survive URL normalisation)
    for (const path of ['/..%2F..%2F..%2F..%2Fetc%2Fpasswd', '/%2e%2e%2f%2e%2e%2fdevice.json', '/%E0%A4%A']) {
      const res = await fetch(`http://127.0.0.1:${node.port}${path}`)
      const text = await res.text()
      expect({ path, leak: /root:|clinicSecret|PRIVATE/.test(text) }).toEqual({ path, leak: false })
    }
    // search with garbage in the query string is just a search
    const q = await node.api<{ patients: unknown[] }>('GET', '/api/patients?q=%E0%A4%A&limit=-5', undefined, {
      as,
    })
    expect(q.status).toBe(200)
  })

  it('is still alive and the earlier data intact after all of it', async () => {
    const status = await node.api<{ device: { name: string } }>('GET', '/api/status')
    expect(status.status).toBe(200)
    const chart = await node.api<{ chart: { patient: { name: { family: string } } } }>(
      'GET',
      `/api/patients/${patient}`,
      undefined,
      { as: { name: 'co', role: 'clinician' } },
    )
    expect(chart.body.chart.patient.name.family).toBe('Phiri')
    const fresh = await node.api(
      'POST',
      '/api/patients',
      { given: 'Later', family: 'Valid', birthDate: '2000-01-01', sex: 'female' },
      { as: { name: 'reg', role: 'registration' } },
    )
    expect(fresh.status).toBe(201)
    expect(node.exited).toBe(false)
    expect(node.stderr.join('\n')).not.toMatch(
      /uncaught-exception|unhandled-rejection|"status":500|request-failed/,
    )
  })
})

describe('hostile HTTP input to a real relay', () => {
  let env: RelayWithClinic | undefined
  let relay: RelayProcess
  const NAMES = new Set([
    'MalformedJsonError',
    'InvalidInputError',
    'UnknownClinicError',
    'UnknownConflictError',
    'RouteNotFoundError',
    'PayloadTooLargeError',
    'RegistrationConflictError',
  ])

  beforeAll(async () => {
    env = await startRelayWithClinic('hostile-relay-', 'clinic-x', 'tab-x')
    ;({ relay } = env)
  })
  afterAll(async () => {
    await env?.stop()
  })

  const raw = async (
    method: string,
    path: string,
    body?: string | Uint8Array,
  ): Promise<{ status: number; body: Err }> => {
    // as the relay's operator: the hostile input reaches the routes behind sign-in
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${relay.operatorToken}` }
    const res = await fetch(`http://127.0.0.1:${relay.port}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body }),
    })
    return { status: res.status, body: (await res.json()) as Err }
  }

  it('answers hostile bodies, oversized bodies and bad percent-encoding with named 4xx and keeps serving', async () => {
    const routes: [string, string][] = [
      ['POST', '/api/clinics'],
      ['POST', '/api/conflicts/c_x/resolution'],
    ]
    const seen = new Map<string, number>()
    const bad: string[] = []
    for (const [method, path] of routes) {
      for (const [what, body] of hostileBodies(path.length * 104729)) {
        const r = await raw(method, path, body)
        const name = r.body.error?.name ?? `(no error, ${r.status})`
        if (!(r.status >= 400 && r.status < 500 && NAMES.has(name)))
          bad.push(`${method} ${path} ${what}: ${r.status} ${name}`)
        seen.set(name, (seen.get(name) ?? 0) + 1)
      }
      const big = await raw(method, path, new Uint8Array(2 * 1024 * 1024).fill(0x20))
      expect([path, big.status, big.body.error?.name]).toEqual([path, 413, 'PayloadTooLargeError'])
    }
    expect(bad).toEqual([])
    console.warn('relay: hostile bodies answered', Object.fromEntries(seen))
    const paths: [string, string, number, string][] = [
      ['POST', '/api/conflicts/%E0%A4%A/resolution', 400, 'InvalidInputError'],
      ['GET', '/api/inventory?clinic=%E0%A4%A', 400, 'InvalidInputError'],
      ['GET', '/api/inventory?clinic=..%2F..%2Fclinics', 400, 'InvalidInputError'],
      ['GET', '/api/rejected?clinic=', 400, 'InvalidInputError'],
      ['GET', '/api/conflicts?clinic=nope&status=open', 404, 'UnknownClinicError'],
      ['DELETE', '/api/clinics', 404, 'RouteNotFoundError'],
    ]
    for (const [method, path, status, name] of paths) {
      const r = await raw(
        method,
        path,
        method === 'POST'
          ? '{"clinic":"clinic-x","decision":{"action":"cancel"},"user":"u","role":"pharmacist"}'
          : undefined,
      )
      expect({ path, status: r.status, name: r.body.error?.name }).toEqual({ path, status, name })
    }
    // alive, and the clinic registered before is still there
    const status = await relay.api<{ clinics: { clinic: string }[] }>('GET', '/api/status')
    expect(status.body.clinics.map((c) => c.clinic)).toEqual(['clinic-x'])
    expect((await relay.api('GET', '/api/inventory?clinic=clinic-x')).status).toBe(200)
    expect(relay.exited).toBe(false)
    expect(relay.stderr.join('\n')).not.toMatch(/uncaught-exception|unhandled-rejection|api-error/)
  })
})
