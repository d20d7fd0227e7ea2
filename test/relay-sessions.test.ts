import { tempDir, type TempDir } from '@clinic-mesh/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DeviceCluster, pollDevice, testPassword, type DeviceProcess } from './helpers/device-process.js'
import { RelayProcess, type ApiReply, type RelayLogin } from './helpers/relay-process.js'

/**
 * Issue "Hardened surfaces": relay reads need credentials. A real relay process and two clinics (one device process
 * each) whose registers both hold `usr_supervisor`; raw HTTP against the relay.
 */
interface Err {
  error: { name: string; message: string }
}
interface Conflict {
  id: string
  clinic: string
  kind: string
  status: string
  patient: string | null
  resolution: { by: string; role: string } | null
}
interface DeviceStatus {
  clinic: { id: string }
  relay: { connected: boolean }
}

const ITEM = 'itm_paracetamol'
const PRICE = 10
const admin = { name: 'admin', role: 'admin' }
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const errName = (r: ApiReply<unknown>): string | undefined => (r.body as Partial<Err>).error?.name

describe('relay sessions: every /api read needs a reviewer of that clinic (or the operator)', () => {
  let dir: TempDir
  let relay: RelayProcess
  let clusters: DeviceCluster[] = []
  const clinics: string[] = []

  /** A clinic with a supervisor, a reviewer and one price-changed conflict for patient `pt_<tag>`. */
  async function clinicWithConflict(node: DeviceProcess, tag: string): Promise<string> {
    await node.ready()
    await pollDevice(
      async () => (await node.api<DeviceStatus>('GET', '/api/status')).body.relay.connected,
      `${tag}: relay link up`,
      30_000,
    )
    const clinic = (await node.api<DeviceStatus>('GET', '/api/status')).body.clinic.id
    await Promise.all(
      ['supervisor', 'reviewer', 'nurse'].map((role) =>
        node.token({ name: role === 'reviewer' ? 'rev' : role, role }),
      ),
    )
    expect(
      (
        await node.api(
          'POST',
          '/api/stock/formulary',
          { id: `f-${tag}`, item: ITEM, name: 'Paracetamol 500 mg', price: PRICE },
          { as: admin },
        )
      ).status,
    ).toBe(201)
    const grn = {
      id: `grn-${tag}`,
      item: ITEM,
      batch: `PCM-${tag}`,
      expiry: '2031-01-31',
      quantity: 50,
      unitCost: 5,
      supplier: 'CMST',
      grn: `G-${tag}`,
    }
    expect((await node.api('POST', '/api/stock/receipts', grn)).status).toBe(201)
    const rx = {
      patient: `pt_${tag}`,
      prescription: `rx_${tag}`,
      prescriptionHash: `h-${tag}`,
      priceSeen: PRICE + 5,
      stockSeen: 50,
    }
    expect(
      (
        await node.api('POST', '/api/stock/dispenses', {
          id: `disp-${tag}`,
          item: ITEM,
          batch: `PCM-${tag}`,
          quantity: 2,
          ...rx,
        })
      ).status,
    ).toBe(201)
    return clinic
  }

  /** Sign in once the clinic's register has reached the relay (503 until then). */
  async function signIn(clinic: string, user: string, password: string): Promise<ApiReply<RelayLogin>> {
    return pollDevice(
      async () => {
        const r = await relay.login(clinic, user, password)
        return r.status === 503 ? undefined : r
      },
      `${user} of ${clinic} known at the relay`,
      30_000,
    )
  }

  beforeAll(async () => {
    dir = await tempDir('relay-sessions-')
    relay = await RelayProcess.start(dir.path)
    const url = relay.syncUrl.replace(/\/sync$/, '')
    clusters = await Promise.all([
      DeviceCluster.start(['desk-a'], { relay: url }),
      DeviceCluster.start(['desk-b'], { relay: url }),
    ])
    clinics.push(
      ...(await Promise.all(clusters.map((c, i) => clinicWithConflict(c.devices[0]!, i === 0 ? 'a' : 'b')))),
    )
    await pollDevice(
      async () => {
        const r = await relay.api<{ conflicts: Conflict[] }>('GET', '/api/conflicts?status=open')
        return clinics.every((k) => r.body.conflicts.some((c) => c.clinic === k)) || undefined
      },
      'a conflict in each clinic at the relay',
      30_000,
    )
  }, 120_000)

  afterAll(async () => {
    await Promise.all(clusters.map((c) => c.stop()))
    await relay?.stop('SIGKILL')
    await dir?.remove()
  })

  it('refuses reads without a token; a reviewer of clinic A reads and decides only for clinic A', async () => {
    const [a, b] = clinics as [string, string]
    for (const path of [
      '/api/conflicts',
      `/api/conflicts?clinic=${a}`,
      `/api/inventory?clinic=${a}`,
      `/api/rejected?clinic=${a}`,
    ]) {
      const r = await relay.api<Err>('GET', path, undefined, undefined, null)
      expect([path, r.status, r.body.error.name]).toEqual([path, 401, 'UnauthenticatedError'])
      const forged = await relay.api<Err>('GET', path, undefined, undefined, 'not-a-real-session-token-1234')
      expect([path, forged.status, forged.body.error.name]).toEqual([path, 401, 'UnauthenticatedError'])
    }
    const decide = await relay.api<Err>(
      'POST',
      '/api/conflicts/c_x/resolution',
      { clinic: a, decision: { action: 'cancel' } },
      undefined,
      null,
    )
    expect([decide.status, decide.body.error.name]).toEqual([401, 'UnauthenticatedError'])
    // without a token the status says only what a device pins: the relay's key, no clinic, device or user
    const open = await relay.api<Record<string, unknown>>('GET', '/api/status', undefined, undefined, null)
    expect(open.status).toBe(200)
    expect(Object.keys(open.body).sort()).toEqual(['relayKey', 'time'])
    expect(JSON.stringify(open.body)).not.toContain(a)

    const login = await signIn(a, 'rev', testPassword('rev'))
    expect(login.status).toBe(200)
    expect(login.body).toMatchObject({ clinic: a, user: { id: 'usr_rev', name: 'rev', role: 'reviewer' } })
    const hours = (Date.parse(login.body.expiresAt) - Date.now()) / 3_600_000
    expect(hours).toBeGreaterThan(11.9)
    expect(hours).toBeLessThanOrEqual(12)
    const token = login.body.token
    const as = <T>(method: string, path: string, body?: unknown): Promise<ApiReply<T>> =>
      relay.api<T>(method, path, body, undefined, token)

    const mine = await as<{ conflicts: Conflict[] }>('GET', '/api/conflicts')
    expect(mine.status).toBe(200)
    expect(mine.body.conflicts.length).toBeGreaterThan(0)
    expect(new Set(mine.body.conflicts.map((c) => c.clinic))).toEqual(new Set([a]))
    expect(JSON.stringify(mine.body)).not.toContain('pt_b')
    for (const path of [
      `/api/conflicts?clinic=${b}`,
      `/api/inventory?clinic=${b}`,
      `/api/rejected?clinic=${b}`,
    ]) {
      const r = await as<Err>('GET', path)
      expect([path, r.status, r.body.error.name]).toEqual([path, 403, 'ForbiddenError'])
    }
    expect((await as<{ clinic: string }>('GET', '/api/inventory')).body.clinic).toBe(a)
    expect((await as<{ clinic: string }>('GET', `/api/rejected?clinic=${a}`)).status).toBe(200)
    const status = await as<{ clinics: { clinic: string }[] }>('GET', '/api/status')
    expect(status.body.clinics.map((c) => c.clinic)).toEqual([a])

    // a decision: the reviewer is the session's user, whatever the body claims
    const theirs = (
      await relay.api<{ conflicts: Conflict[] }>('GET', `/api/conflicts?clinic=${b}&status=open`)
    ).body.conflicts[0]!
    const across = await as<Err>('POST', `/api/conflicts/${encodeURIComponent(theirs.id)}/resolution`, {
      clinic: b,
      decision: { action: 'accept', adjustment: null },
    })
    expect([across.status, across.body.error.name]).toEqual([403, 'ForbiddenError'])
    const own = mine.body.conflicts.find((c) => c.status === 'open')!
    const done = await as<{ outcome: string; conflict: Conflict }>(
      'POST',
      `/api/conflicts/${encodeURIComponent(own.id)}/resolution`,
      {
        decision: { action: 'accept', adjustment: null },
        note: 'price as charged',
        user: 'usr_supervisor',
        role: 'supervisor',
      },
    )
    expect(done.status).toBe(200)
    expect(done.body.conflict.resolution).toMatchObject({ by: 'usr_rev', role: 'reviewer' })

    // signed out: the token is dead
    expect((await as('POST', '/api/logout', {})).status).toBe(200)
    const after = await as<Err>('GET', '/api/conflicts')
    expect([after.status, after.body.error.name]).toEqual([401, 'UnauthenticatedError'])
    // a role that does not review (a nurse) cannot open a console session
    const nurse = await relay.login(a, 'nurse', testPassword('nurse'))
    expect([nurse.status, errName(nurse)]).toEqual([403, 'ForbiddenError'])
  })

  it('an unknown user costs the same scrypt run as a wrong password, with the same answer', async () => {
    const b = clinics[1]!
    await signIn(b, 'supervisor', testPassword('supervisor')) // the register is at the relay
    // the relay logs each refusal with its count of scrypt runs so far (known user or not)
    const runs = (): number[] =>
      relay.stderr
        .filter((l) => l.includes('"login-refused"'))
        .map((l) => JSON.parse(l) as { clinic: string; error: string; scryptRuns: number })
        // a 423 inside a back-off is logged too, and runs no scrypt: count the 401s
        .filter((l) => l.clinic === b && l.error === 'InvalidPasswordError')
        .map((l) => l.scryptRuns)
    const timed = async (user: string): Promise<{ ms: number; name: string | undefined; status: number }> => {
      const t = performance.now()
      const r = await relay.login(b, user, 'wrong-password-123')
      return { ms: performance.now() - t, name: errName(r), status: r.status }
    }
    const wrong: number[] = []
    const unknown: number[] = []
    // each name once (a second try within the back-off would answer 423 without any scrypt)
    for (const [known, nobody] of [
      ['rev', 'nobody-1'],
      ['test-pharmacist', 'nobody-2'],
      ['admin', 'nobody-3'],
      ['usr_rev', 'usr_nobody'],
      ['supervisor', '***'],
    ] as const) {
      // usr_rev is rev again: inside rev's back-off the relay answers 423 without scrypt; ask until it runs out
      const w = await pollDevice(async () => {
        const t = await timed(known)
        return t.status === 423 ? undefined : t
      }, `${known}: the back-off ran out`)
      const u = await timed(nobody)
      expect([w.status, w.name]).toEqual([401, 'InvalidPasswordError'])
      expect([u.status, u.name]).toEqual([401, 'InvalidPasswordError'])
      wrong.push(w.ms)
      unknown.push(u.ms)
    }
    // ten refusals, one after another: each one ran scrypt once (the unknown names too)
    const counted = await pollDevice(
      () => Promise.resolve(runs().length >= 10 ? runs() : undefined),
      'the refusals are logged',
    )
    expect(counted.map((n) => n - counted[0]!)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    const [mw, mu] = [median(wrong), median(unknown)]
    console.warn(
      `login timing: wrong password median ${mw.toFixed(1)} ms, unknown user median ${mu.toFixed(1)} ms`,
    )
    expect(mu).toBeGreaterThan(mw * 0.4)
    expect(mu).toBeLessThan(mw * 2.5)
  })

  it('five wrong passwords lock that user of that clinic only; the same user id of another clinic still signs in', async () => {
    const [a, b] = clinics as [string, string]
    await signIn(a, 'supervisor', testPassword('supervisor'))
    for (let i = 1; i <= 5; i++) {
      // back-off after each failure (1, 2, 4, 8 s): 423 until it runs out; then the wrong password counts again
      const r = await pollDevice(
        async () => {
          const x = await relay.login(a, 'usr_supervisor', `guess-${i}-wrong`)
          return x.status === 423 ? undefined : x
        },
        `wrong password ${i}`,
        20_000,
      )
      expect([r.status, errName(r)]).toEqual([401, 'InvalidPasswordError'])
    }
    const locked = await relay.login(a, 'supervisor', testPassword('supervisor'))
    expect([locked.status, errName(locked)]).toEqual([423, 'AccountLockedError'])
    expect((locked.body as unknown as Err).error.message).toMatch(/locked until/)
    // clinic B's usr_supervisor and clinic A's reviewer are not locked out
    const other = await relay.login(b, 'usr_supervisor', testPassword('supervisor'))
    expect([other.status, other.body.clinic, other.body.user?.id]).toEqual([200, b, 'usr_supervisor'])
    expect((await relay.login(a, 'rev', testPassword('rev'))).status).toBe(200)
  }, 60_000)
})
