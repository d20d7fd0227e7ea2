import { request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DeviceCluster, pollDevice, testPassword, type DeviceProcess } from './helpers/device-process.js'

interface ErrorReply {
  error: { name: string; message: string }
}
interface LoginReply {
  token: string
  user: { id: string; name: string; role: string }
}
interface AuditReply {
  touches: { user: string; device: string; at: string; action: string }[]
  chains: { device: string; ok: boolean; entries: number }[]
}

const nurse = { name: 'Grace Phiri', role: 'nurse' }
const clinician = { name: 'Dr Mwale', role: 'clinician' }
const supervisor = { name: 'Esther Banda', role: 'supervisor' }

/** A WebSocket upgrade of /sync with or without a cookie: the HTTP status the node answers (101 = accepted). */
function upgradeStatus(d: DeviceProcess, cookie?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port: d.port,
      path: '/sync',
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        ...(cookie ? { cookie } : {}),
      },
    })
    req.on('upgrade', (res, socket) => {
      socket.destroy()
      resolve(res.statusCode ?? 0)
    })
    req.on('response', (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('error', reject)
    req.end()
  })
}

const login = (d: DeviceProcess, user: string, password: string) =>
  d.api<LoginReply & ErrorReply>('POST', '/api/login', { user, password }, { as: null })

describe('users, login, roles and audit on real device nodes', () => {
  let cluster: DeviceCluster
  let a: DeviceProcess, b: DeviceProcess

  beforeAll(async () => {
    // no back-off delay between failed logins in this test (the lockout after 5 failures stays)
    cluster = await DeviceCluster.start(['desk', 'ward'], { env: { CLINIC_MESH_LOGIN_DELAY_MS: '0' } })
    ;[a, b] = cluster.devices as [DeviceProcess, DeviceProcess]
    await Promise.all(cluster.devices.map((d) => d.ready()))
  })

  afterAll(async () => {
    await cluster?.stop()
  })

  it('refuses every clinical route and the browser socket without a session', async () => {
    for (const [method, path] of [
      ['GET', '/api/patients?q=a'],
      ['POST', '/api/patients'],
      ['GET', '/api/stock'],
      ['POST', '/api/stock/dispenses'],
      ['GET', '/api/users'],
      ['GET', '/api/audit?patient=x'],
    ]) {
      const r = await a.api<ErrorReply>(method!, path!, method === 'GET' ? undefined : {}, { as: null })
      expect({ path, status: r.status, name: r.body.error?.name }).toEqual({
        path,
        status: 401,
        name: 'UnauthenticatedError',
      })
    }
    expect(await upgradeStatus(a)).toBe(401)
    expect(await upgradeStatus(a, 'cm_session=forged-token')).toBe(401)
    const session = await login(a, 'admin', 'test-admin-password')
    expect(session.status).toBe(200)
    expect(await upgradeStatus(a, `cm_session=${session.body.token}`)).toBe(101)
    // status stays open: the tablet shows which device it is before anyone signs in (no patient data in it)
    expect((await a.api('GET', '/api/status', undefined, { as: null })).status).toBe(200)
  })

  it('enforces roles: only admins create users, nurses do not dispense, pharmacists do not register patients', async () => {
    const byNurse = await a.api<ErrorReply>(
      'POST',
      '/api/users',
      { name: 'Mallory', role: 'admin', password: 'mallory-pw-1' },
      { as: nurse },
    )
    expect([byNurse.status, byNurse.body.error.name]).toEqual([403, 'ForbiddenError'])
    const dispense = await a.api<ErrorReply>(
      'POST',
      '/api/stock/dispenses',
      { id: 'd-1', item: 'itm_x', batch: null, quantity: 1 },
      { as: nurse },
    )
    expect([dispense.status, dispense.body.error.name]).toEqual([403, 'ForbiddenError'])
    const register = await a.api<ErrorReply>(
      'POST',
      '/api/patients',
      { given: 'Lusungu', family: 'Nyirenda', birthDate: '1999-02-02', sex: 'female' },
      { as: { name: 'Peter', role: 'pharmacist' } },
    )
    expect([register.status, register.body.error.name]).toEqual([403, 'ForbiddenError'])
    const users = await a.api<{ users: { id: string; role: string }[] }>('GET', '/api/users', undefined, {
      as: { name: 'admin', role: 'admin' },
    })
    expect(users.body.users).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id: 'usr_grace-phiri', role: 'nurse' }),
        expect.objectContaining({ id: 'usr_peter', role: 'pharmacist' }),
      ]),
    )
    expect(JSON.stringify(users.body)).not.toMatch(/passwordHash|wrappedSigningKey|salt/)
  })

  it('backs off and locks a user after five wrong passwords, without locking anyone else', async () => {
    await a.token({ name: 'Tamara', role: 'registration' })
    const names: string[] = []
    for (let i = 0; i < 5; i++) names.push((await login(a, 'Tamara', `wrong-password-${i}`)).body.error.name)
    expect(names).toEqual(Array(5).fill('InvalidPasswordError'))
    const locked = await login(a, 'Tamara', testPassword('Tamara'))
    expect([locked.status, locked.body.error.name]).toEqual([423, 'AccountLockedError'])
    expect((await login(a, 'admin', 'test-admin-password')).status).toBe(200)
  })

  it('a user created on one tablet signs in on another with the mesh switched off; a session survives a restart and ends at logout', async () => {
    await a.token(clinician)
    // the register reaches the ward tablet over the mesh; then the ward goes offline
    await pollDevice(
      async () => (await login(b, clinician.name, testPassword(clinician.name))).status === 200,
      'clinician can log in on the ward tablet',
    )
    await b.api('POST', '/api/network', { mesh: false, relay: false }, { as: clinician })
    const offline = await login(b, clinician.name, testPassword(clinician.name))
    expect(offline.status).toBe(200)
    expect(offline.body.user).toEqual({ id: 'usr_dr-mwale', name: 'Dr Mwale', role: 'clinician' })
    const wrong = await login(b, clinician.name, 'not-the-password')
    expect([wrong.status, wrong.body.error.name]).toEqual([401, 'InvalidPasswordError'])

    const token = offline.body.token
    const bearer = { authorization: `Bearer ${token}` }
    await b.stop()
    b = await b.restart()
    cluster.devices[1] = b
    await b.ready()
    expect((await b.api('GET', '/api/session', undefined, { as: null, headers: bearer })).status).toBe(200)
    expect((await b.api('POST', '/api/logout', undefined, { as: null, headers: bearer })).status).toBe(200)
    const after = await b.api<ErrorReply>('GET', '/api/session', undefined, { as: null, headers: bearer })
    expect([after.status, after.body.error.name]).toEqual([401, 'UnauthenticatedError'])
    await b.api('POST', '/api/network', { mesh: true, relay: true }, { as: clinician })
  })

  it('answers who read or changed a chart, when and from which device; nurses may not read the trail', async () => {
    const reg = await a.api<{ id: string; encounterId: string }>(
      'POST',
      '/api/patients',
      { given: 'Chisomo', family: 'Tembo', birthDate: '1988-08-08', sex: 'male', reason: 'fever' },
      { as: clinician },
    )
    expect(reg.status).toBe(201)
    const id = reg.body.id
    await pollDevice(
      async () => (await b.api('GET', `/api/patients/${id}`, undefined, { as: nurse })).status === 200,
      'ward reads the chart',
    )
    const vitals = await b.api(
      'PATCH',
      `/api/encounters/${reg.body.encounterId}`,
      { patientId: id, vitals: { temperatureC: 38.4 } },
      { as: nurse },
    )
    expect(vitals.status).toBe(200)

    const trail = await pollDevice(async () => {
      const r = await a.api<AuditReply>('GET', `/api/audit?patient=${id}`, undefined, { as: supervisor })
      return r.body.touches?.some((t) => t.user === 'usr_grace-phiri' && t.action === 'change')
        ? r.body
        : undefined
    }, 'the ward’s entries reach the desk')
    const seen = trail.touches.map((t) => `${t.user} ${t.action}`)
    expect(seen).toEqual(
      expect.arrayContaining(['usr_dr-mwale change', 'usr_grace-phiri read', 'usr_grace-phiri change']),
    )
    expect(new Set(trail.touches.map((t) => t.device)).size).toBe(2)
    expect(trail.chains.every((c) => c.ok)).toBe(true)
    const denied = await a.api<ErrorReply>('GET', `/api/audit?patient=${id}`, undefined, { as: nurse })
    expect([denied.status, denied.body.error.name]).toEqual([403, 'ForbiddenError'])
  })

  it('an admin disables a user who left: their session ends on both tablets and they cannot sign in; re-enabled, they can', async () => {
    const leaver = { name: 'Chikondi Leaver', role: 'registration' }
    const token = await a.token(leaver)
    await pollDevice(
      async () => (await login(b, leaver.name, testPassword(leaver.name))).status === 200,
      'the user reached the ward tablet',
    )
    const onB = (await login(b, leaver.name, testPassword(leaver.name))).body.token
    const admin = { name: 'admin', role: 'admin' }
    const self = await a.api<ErrorReply>(
      'PATCH',
      '/api/users/usr_admin',
      { status: 'disabled' },
      { as: admin },
    )
    expect([self.status, self.body.error.name]).toEqual([400, 'InvalidInputError'])
    const byNurse = await a.api<ErrorReply>(
      'PATCH',
      '/api/users/usr_chikondi-leaver',
      { status: 'disabled' },
      { as: nurse },
    )
    expect([byNurse.status, byNurse.body.error.name]).toEqual([403, 'ForbiddenError'])
    const off = await a.api<{ user: { status: string } }>(
      'PATCH',
      '/api/users/usr_chikondi-leaver',
      { status: 'disabled' },
      { as: admin },
    )
    expect([off.status, off.body.user.status]).toEqual([200, 'disabled'])
    const session = (d: DeviceProcess, t: string | undefined) =>
      d.api('GET', '/api/session', undefined, { as: null, headers: { authorization: `Bearer ${t}` } })
    expect((await session(a, token)).status).toBe(401)
    await pollDevice(
      async () => (await session(b, onB)).status === 401,
      'the session on the ward tablet ends too',
    )
    const refused = await login(b, leaver.name, testPassword(leaver.name))
    expect([refused.status, refused.body.error.name]).toEqual([403, 'ForbiddenError'])
    const on = await a.api<{ user: { status: string } }>(
      'PATCH',
      '/api/users/usr_chikondi-leaver',
      { status: 'active' },
      { as: admin },
    )
    expect(on.body.user.status).toBe('active')
    expect((await login(a, leaver.name, testPassword(leaver.name))).status).toBe(200)
    const unknown = await a.api<ErrorReply>(
      'PATCH',
      '/api/users/usr_nobody',
      { status: 'disabled' },
      { as: admin },
    )
    expect([unknown.status, unknown.body.error.name]).toEqual([404, 'UnknownUserError'])
  })

  it('a user changes their own password: the old one stops working on both tablets, their signing key stays the same', async () => {
    const me = { name: 'Owen Phiri', role: 'pharmacist' }
    const token = await a.token(me)
    const change = (body: unknown) =>
      a.api<ErrorReply>('POST', '/api/password', body, {
        as: null,
        headers: { authorization: `Bearer ${token}` },
      })
    const wrong = await change({ oldPassword: 'not-my-password', newPassword: 'fresh-password-1' })
    expect([wrong.status, wrong.body.error.name]).toEqual([401, 'InvalidPasswordError'])
    const short = await change({ oldPassword: testPassword(me.name), newPassword: 'short' })
    expect([short.status, short.body.error.name]).toEqual([400, 'InvalidInputError'])
    expect(
      (await change({ oldPassword: testPassword(me.name), newPassword: 'fresh-password-1' })).status,
    ).toBe(200)
    expect((await login(a, me.name, 'fresh-password-1')).status).toBe(200)
    expect((await login(a, me.name, testPassword(me.name))).status).toBe(401)
    // the changed record reaches the other tablet and is believed there (still endorsed, signed by the user's own key)
    await pollDevice(
      async () => (await login(b, me.name, 'fresh-password-1')).status === 200,
      'the new password works on the ward tablet',
    )
    const users = await a.api<{ users: { id: string }[]; unendorsed: string[] }>(
      'GET',
      '/api/users',
      undefined,
      { as: { name: 'admin', role: 'admin' } },
    )
    expect(users.body.unendorsed).toEqual([])
    expect(users.body.users.map((u) => u.id)).toContain('usr_owen-phiri')
  })
})
