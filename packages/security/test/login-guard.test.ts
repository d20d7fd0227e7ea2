import type { UserId } from '@clinic-mesh/contracts'
import { LoginGuard, MemoryAttemptStore, type UserRegister, createUser, logout } from '@clinic-mesh/security'
import { beforeAll, describe, expect, it } from 'vitest'
import { TEST_SCRYPT } from './helpers.js'

const NURSE = 'u_nurse' as UserId
const CLIN = 'u_clin' as UserId
const register: UserRegister = { users: {} }

beforeAll(async () => {
  register.users[NURSE] = await createUser({
    userId: NURSE,
    name: 'Grace',
    role: 'nurse',
    password: 'morning-shift-1',
    scrypt: TEST_SCRYPT,
  })
  register.users[CLIN] = await createUser({
    userId: CLIN,
    name: 'Peter',
    role: 'clinician',
    password: 'night-shift-22',
    scrypt: TEST_SCRYPT,
  })
})

function setup(): { guard: LoginGuard; clock: { t: number }; store: MemoryAttemptStore } {
  const clock = { t: Date.UTC(2026, 0, 5, 8, 0, 0) }
  const store = new MemoryAttemptStore()
  return { guard: new LoginGuard({ store, now: () => clock.t }), clock, store }
}

describe('LoginGuard (offline login)', () => {
  it('logs a user in offline with role and unlocked signing key; logout wipes the key', async () => {
    const { guard } = setup()
    const s = await guard.login(register, NURSE, 'morning-shift-1')
    expect(s).toMatchObject({ user: NURSE, name: 'Grace', role: 'nurse' })
    expect(s.signingKey.some((b) => b !== 0)).toBe(true)
    logout(s)
    expect(s.signingKey.every((b) => b === 0)).toBe(true)
  })

  it('shift change: one user out, the next in, on the same device with no network', async () => {
    const { guard } = setup()
    const day = await guard.login(register, NURSE, 'morning-shift-1')
    const night = await guard.changeShift(day, register, CLIN, 'night-shift-22')
    expect(night.role).toBe('clinician')
    expect(day.signingKey.every((b) => b === 0)).toBe(true)
  })

  it('a user tried before their record reached this register is not locked out for it once it arrives', async () => {
    const { guard, clock } = setup()
    const NEW = 'u_new' as UserId
    const early: UserRegister = { users: { [NURSE]: register.users[NURSE]! } }
    for (let i = 0; i < 5; i++) {
      await expect(guard.login(early, NEW, 'first-day-333')).rejects.toMatchObject({
        name: 'InvalidPasswordError',
      })
      clock.t += 60_000 // past each back-off
    }
    // still unknown here: locked like any name
    await expect(guard.login(early, NEW, 'first-day-333')).rejects.toMatchObject({
      name: 'AccountLockedError',
    })
    const later: UserRegister = {
      users: {
        ...early.users,
        [NEW]: await createUser({
          userId: NEW,
          name: 'Ama',
          role: 'registration',
          password: 'first-day-333',
          scrypt: TEST_SCRYPT,
        }),
      },
    }
    expect((await guard.login(later, NEW, 'first-day-333')).name).toBe('Ama')
    // failures of a user who is in the register still count
    for (let i = 0; i < 5; i++) {
      await expect(guard.login(later, NEW, 'wrong-pass-1')).rejects.toMatchObject({
        name: 'InvalidPasswordError',
      })
      clock.t += 60_000
    }
    await expect(guard.login(later, NEW, 'first-day-333')).rejects.toMatchObject({
      name: 'AccountLockedError',
    })
  })

  it('unknown user and wrong password look the same', async () => {
    const { guard } = setup()
    await expect(guard.login(register, 'u_ghost' as UserId, 'whatever-123')).rejects.toMatchObject({
      name: 'InvalidPasswordError',
    })
    await expect(guard.login(register, NURSE, 'whatever-123')).rejects.toMatchObject({
      name: 'InvalidPasswordError',
    })
  })

  it('backs off 1, 2, 4, 8 s, then locks for 15 minutes; the right password is not even checked meanwhile', async () => {
    const { guard, clock } = setup()
    const start = clock.t
    for (const wait of [1_000, 2_000, 4_000, 8_000]) {
      await expect(guard.login(register, NURSE, 'bad-guess-000')).rejects.toMatchObject({
        name: 'InvalidPasswordError',
      })
      await expect(guard.login(register, NURSE, 'morning-shift-1')).rejects.toMatchObject({
        name: 'AccountLockedError',
        lockout: false,
      })
      clock.t += wait
    }
    await expect(guard.login(register, NURSE, 'bad-guess-000')).rejects.toMatchObject({
      name: 'InvalidPasswordError',
    })
    const locked = guard.login(register, NURSE, 'morning-shift-1')
    await expect(locked).rejects.toMatchObject({
      name: 'AccountLockedError',
      lockout: true,
      until: clock.t + 15 * 60_000,
    })
    clock.t += 15 * 60_000 - 1
    await expect(guard.login(register, NURSE, 'morning-shift-1')).rejects.toMatchObject({
      name: 'AccountLockedError',
    })
    clock.t += 1
    expect((await guard.login(register, NURSE, 'morning-shift-1')).user).toBe(NURSE)
    expect(clock.t - start).toBe(15_000 + 15 * 60_000)
    expect(await guard.status(NURSE)).toBeUndefined()
  })

  it('parallel guesses are serialised: of ten at once one is checked, nine hit the back-off', async () => {
    const { guard, store } = setup()
    const guesses = Array.from({ length: 10 }, (_, i) =>
      guard.login(register, NURSE, `parallel-guess-${i}`).catch((e: Error) => e.name),
    )
    const names = await Promise.all(guesses)
    expect(names.filter((n) => n === 'InvalidPasswordError')).toHaveLength(1)
    expect(names.filter((n) => n === 'AccountLockedError')).toHaveLength(9)
    expect(store.records.get(NURSE)?.failures).toBe(1)
  })

  it('lockout state survives a restart through the injected store', async () => {
    const { guard, clock, store } = setup()
    for (let i = 0; i < 5; i++) {
      await expect(guard.login(register, CLIN, 'nope-nope-nope')).rejects.toMatchObject({
        name: 'InvalidPasswordError',
      })
      clock.t += 60_000
    }
    const restarted = new LoginGuard({ store, now: () => clock.t })
    await expect(restarted.login(register, CLIN, 'night-shift-22')).rejects.toMatchObject({
      name: 'AccountLockedError',
      lockout: true,
    })
  })

  it('a disabled user cannot log in even with the right password', async () => {
    const { guard } = setup()
    const rec = register.users[NURSE]
    if (!rec) throw new Error('missing user')
    const reg: UserRegister = { users: { [NURSE]: { ...rec, status: 'disabled' } } }
    await expect(guard.login(reg, NURSE, 'morning-shift-1')).rejects.toMatchObject({
      name: 'ForbiddenError',
      reason: 'user-disabled',
    })
  })
})
