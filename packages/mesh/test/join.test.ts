import { describe, expect, it } from 'vitest'
import {
  createJoinCode,
  generateAdminKey,
  JoinAdmin,
  JoinClient,
  Membership,
  normalizeJoinCode,
} from '@clinic-mesh/mesh'

const clinic = 'clinic-a'

function errorName(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (err) {
    return (err as Error).name
  }
  return undefined
}

describe('offline join with a short code', () => {
  const admin = generateAdminKey()
  const clinicSecret = crypto.getRandomValues(new Uint8Array(32))
  const device = { devicePeerId: '12D3KooWNewTablet', deviceName: 'New tablet' }

  it('formats codes as XXXX-XXXX in Crockford base32 and normalises what people type', () => {
    const { code, expiresAt } = createJoinCode({ now: 1000, ttlMs: 60_000 })
    expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/)
    expect(expiresAt).toBe(61_000)
    expect(normalizeJoinCode(' ab1o-il2z ')).toBe('AB10112Z')
    expect(errorName(() => normalizeJoinCode('ABC'))).toBe('JoinError')
  })

  it('a tablet that knows the code gets the clinic bundle and a valid enrolment', () => {
    const joinCode = createJoinCode()
    const side = new JoinAdmin({ joinCode, clinic, clinicSecret, adminSecretKey: admin.secretKey })
    const tablet = new JoinClient(joinCode.code.toLowerCase(), device)
    const hello = tablet.hello()
    const { enrolment, welcome } = side.welcome(hello.sid, tablet.request(side.offer(hello)))
    const bundle = tablet.finish(welcome)
    expect(bundle.clinic).toBe(clinic)
    expect(bundle.clinicSecret).toEqual(clinicSecret)
    expect(bundle.enrolment).toEqual(enrolment)
    const m = new Membership({
      clinic,
      adminPublicKeys: bundle.adminPublicKeys,
      enrolments: [bundle.enrolment],
    })
    expect(m.allows(device.devicePeerId)).toBe(true)
    expect(m.deviceName(device.devicePeerId)).toBe('New tablet')
    // a code serves one tablet
    expect(errorName(() => side.offer(new JoinClient(joinCode.code, device).hello()))).toBe('JoinError')
  })

  it('a wrong code is detected on both sides and the code burns after 3 wrong attempts', () => {
    const joinCode = createJoinCode()
    const side = new JoinAdmin({
      joinCode,
      clinic,
      clinicSecret,
      adminSecretKey: admin.secretKey,
      maxAttempts: 3,
    })
    for (let i = 0; i < 3; i++) {
      const guesser = new JoinClient('0000-0000', device)
      const hello = guesser.hello()
      const request = guesser.request(side.offer(hello))
      expect(errorName(() => side.welcome(hello.sid, request))).toBe('JoinError')
    }
    const honest = new JoinClient(joinCode.code, device)
    expect(errorName(() => side.offer(honest.hello()))).toBe('JoinError')
  })

  it('an expired code is refused, and a tampered welcome does not open', () => {
    const joinCode = createJoinCode({ now: 0, ttlMs: 10 })
    const side = new JoinAdmin({ joinCode, clinic, clinicSecret, adminSecretKey: admin.secretKey })
    expect(errorName(() => side.offer(new JoinClient(joinCode.code, device).hello(), 11))).toBe('JoinError')

    const fresh = createJoinCode()
    const side2 = new JoinAdmin({ joinCode: fresh, clinic, clinicSecret, adminSecretKey: admin.secretKey })
    const tablet = new JoinClient(fresh.code, device)
    const hello = tablet.hello()
    const { welcome } = side2.welcome(hello.sid, tablet.request(side2.offer(hello)))
    const sealed = Uint8Array.from(welcome.sealed)
    sealed[20] = sealed[20]! ^ 1
    expect(errorName(() => tablet.finish({ ...welcome, sealed }))).toBe('JoinError')
  })
})
