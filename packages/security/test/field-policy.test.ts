import * as A from '@automerge/automerge'
import { ROLES, type Role } from '@clinic-mesh/contracts'
import { describe, expect, it } from 'vitest'
import {
  DOC_KINDS,
  READ_POLICY,
  actorWriteProblem,
  checkWrites,
  decideWrite,
  mayRead,
  resolveChanges,
  type DocKind,
} from '../src/index.js'

const E = ['charts', 'pt_1', 'encounters', 'en_1']
const w = (path: (string | number)[], overwrite = false, value?: unknown) => ({
  path,
  overwrite,
  ...(value !== undefined ? { value } : {}),
})
const allowed = (role: Role, kind: DocKind, path: (string | number)[], overwrite = false, value?: unknown) =>
  decideWrite(role, kind, w(path, overwrite, value), 'web-me').allowed

describe('field policy: who writes which field of a chart from a browser', () => {
  it('gives each section of a visit to its role, and nothing else', () => {
    const cases: [string[], Role[]][] = [
      [
        [...E, 'registration', 'reason'],
        ['registration', 'nurse', 'clinician'],
      ],
      [
        [...E, 'registration', 'queue'],
        ['registration', 'nurse', 'clinician', 'pharmacist'],
      ],
      [
        [...E, 'triage', 'vitals', 'v1', 'values', 'pulseBpm'],
        ['nurse', 'clinician'],
      ],
      [
        [...E, 'clinician', 'notes'],
        ['nurse', 'clinician'],
      ],
      [[...E, 'clinician', 'diagnoses', 'dx1', 'text'], ['clinician']],
      [[...E, 'orders', 'o1', 'text'], ['clinician']],
      [[...E, 'pharmacy', 'status'], ['pharmacist']],
      // what was handed out is the node's record of a dispense it checked (issue 15): no browser writes it
      [[...E, 'pharmacy', 'dispensed', 'd1', 'prescriptionHash'], []],
      [['charts', 'pt_1', 'prescriptions', 'rx1', 'items', 'i1', 'dose'], ['clinician']],
      [
        ['charts', 'pt_1', 'mar', 'm1', 'dose'],
        ['nurse', 'clinician'],
      ],
      [
        ['charts', 'pt_1', 'patient', 'name', 'given'],
        ['registration', 'nurse', 'clinician'],
      ],
      [
        ['charts', 'pt_1', 'patient', 'allergies', 'a1', 'substance'],
        ['nurse', 'clinician'],
      ],
    ]
    for (const [path, roles] of cases) {
      const who = ROLES.filter((r) => allowed(r, 'chart-bucket', path))
      expect(who, path.join('.')).toEqual(ROLES.filter((r) => roles.includes(r)))
    }
  })

  it('leaves signatures and signed status to the node, keeps MAR append-only, and refuses unknown fields', () => {
    expect(
      allowed('clinician', 'chart-bucket', ['charts', 'pt_1', 'prescriptions', 'rx1', 'signed', 'signature']),
    ).toBe(false)
    expect(
      allowed(
        'clinician',
        'chart-bucket',
        ['charts', 'pt_1', 'prescriptions', 'rx1', 'status'],
        true,
        'signed',
      ),
    ).toBe(false)
    expect(
      allowed(
        'clinician',
        'chart-bucket',
        ['charts', 'pt_1', 'prescriptions', 'rx1', 'status'],
        false,
        'draft',
      ),
    ).toBe(true)
    expect(allowed('nurse', 'chart-bucket', ['charts', 'pt_1', 'mar', 'm1', 'dose'], false)).toBe(true)
    expect(allowed('nurse', 'chart-bucket', ['charts', 'pt_1', 'mar', 'm1', 'dose'], true)).toBe(false)
    expect(allowed('registration', 'chart-bucket', ['charts', 'pt_1'], true)).toBe(false) // deleting a chart
    expect(allowed('clinician', 'chart-bucket', ['schema'])).toBe(false)
    expect(allowed('clinician', 'chart-bucket', ['charts', 'pt_1', 'secret'])).toBe(false)
  })

  it('lets a browser write only its own entry of the records root, and nothing of the node-only documents', () => {
    expect(decideWrite('nurse', 'records-root', w(['bootstrapped', 'web-me']), 'web-me').allowed).toBe(true)
    expect(decideWrite('nurse', 'records-root', w(['bootstrapped', 'dev_other']), 'web-me').allowed).toBe(
      false,
    )
    expect(decideWrite('nurse', 'records-root', w(['chartBuckets', 0]), 'web-me').allowed).toBe(false)
    for (const kind of [
      'directory',
      'index-shard',
      'today',
      'ledger-log',
      'settled-inventory',
      'conflict-queue',
      'membership',
      'users',
      'audit',
    ] as const) {
      for (const role of ROLES) expect(allowed(role, kind, ['anything']), `${role} ${kind}`).toBe(false)
    }
  })

  it('never sends the user register, membership, audit trail or ledger to a browser; charts only to clinical roles', () => {
    for (const role of ROLES) {
      for (const kind of [
        'users',
        'membership',
        'audit',
        'ledger-log',
        'settled-inventory',
        'conflict-queue',
      ] as const)
        expect(mayRead(role, kind)).toBe(false)
    }
    expect(mayRead('admin', 'chart-bucket')).toBe(false)
    expect(mayRead('nurse', 'chart-bucket')).toBe(true)
    expect(Object.keys(READ_POLICY).sort()).toEqual([...DOC_KINDS].sort())
  })
})

describe('resolveChanges: every operation of an incoming change, with its path', () => {
  const base = (): A.Doc<{ charts: Record<string, { notes: string; dx: Record<string, unknown> }> }> =>
    A.from({ charts: { pt_1: { notes: 'ab', dx: {} } } })

  it('finds a write hidden beside an allowed one, in objects the change creates and in older ones', () => {
    const doc = base()
    const changed = A.change(A.clone(doc), (d) => {
      A.splice(d, ['charts', 'pt_1', 'notes'], 1, 0, 'X')
      ;(d.charts.pt_1 as { dx: Record<string, unknown> }).dx.d1 = { text: 'forged', nested: { deep: 1 } }
    })
    const r = resolveChanges(doc, A.getChanges(doc, changed))
    expect(r.ok).toBe(true)
    if (!r.ok) return
    const paths = r.changes.flatMap((c) => c.writes.map((x) => x.path.join('.')))
    expect(paths).toContain('charts.pt_1.notes')
    expect(paths).toContain('charts.pt_1.dx.d1')
    expect(paths).toContain('charts.pt_1.dx.d1.nested.deep')
    // every text character of the new string is an op on its own path
    expect(paths.filter((p) => p === 'charts.pt_1.dx.d1.text').length).toBeGreaterThan(0)
  })

  it('skips changes the receiver already holds and reads runs of changes sent as one document chunk', () => {
    let a = base()
    let b = A.clone(a)
    let sa = A.initSyncState()
    let sb = A.initSyncState()
    for (let i = 0; i < 4; i++) {
      let m: Uint8Array | null
      ;[sa, m] = A.generateSyncMessage(a, sa)
      if (m) [b, sb] = A.receiveSyncMessage(b, sb, m)
      ;[sb, m] = A.generateSyncMessage(b, sb)
      if (m) [a, sa] = A.receiveSyncMessage(a, sa, m)
    }
    for (let k = 0; k < 5; k++) a = A.change(a, (d) => A.splice(d, ['charts', 'pt_1', 'notes'], 0, 0, 'x'))
    const [, msg] = A.generateSyncMessage(a, sa)
    const r = resolveChanges(b, A.decodeSyncMessage(msg as Uint8Array).changes)
    expect(r.ok).toBe(true)
    if (r.ok) expect(r.changes.length).toBe(5) // the five new ones, not the changes b holds
  })

  it("refuses a whole batch when one write is outside the role (a clerk's diagnosis beside a queue move)", () => {
    const doc = A.from({
      charts: {
        pt_1: { encounters: { en_1: { registration: { queue: 'waiting' }, clinician: { diagnoses: {} } } } },
      },
    })
    const changed = A.change(A.clone(doc), (d) => {
      const enc = (
        d.charts.pt_1 as {
          encounters: Record<
            string,
            { registration: { queue: string }; clinician: { diagnoses: Record<string, unknown> } }
          >
        }
      ).encounters.en_1!
      enc.registration.queue = 'triage'
      enc.clinician.diagnoses.dx = { text: 'x' }
    })
    const r = resolveChanges(doc, A.getChanges(doc, changed))
    if (!r.ok) throw new Error(r.message)
    expect(checkWrites('registration', 'chart-bucket', 'web-me', r.changes).ok).toBe(false)
    expect(checkWrites('clinician', 'chart-bucket', 'web-me', r.changes).ok).toBe(true)
  })
})

describe('field policy: archived visits (issue 17 #3, history window)', () => {
  it('no browser writes an archive document, an archived stub, or deletes a visit', () => {
    for (const role of ROLES) {
      expect(allowed(role, 'archive', ['visits', 'en_1'])).toBe(false)
      expect(allowed(role, 'archive', ['visits', 'en_1', 'encounter', 'status'], true)).toBe(false)
      expect(mayRead(role, 'archive')).toBe(false)
      expect(allowed(role, 'chart-bucket', ['charts', 'pt_1', 'archived', 'en_1'])).toBe(false)
      expect(allowed(role, 'chart-bucket', ['charts', 'pt_1', 'archived', 'en_1', 'year'])).toBe(false)
      expect(allowed(role, 'chart-bucket', E, true)).toBe(false) // deleting (or replacing) a visit
    }
  })
})

describe('field policy: actors a browser records (collection schema 3, packed `user device`)', () => {
  const doc = (): A.Doc<{ charts: Record<string, { patient: { allergies: Record<string, unknown> } }> }> =>
    A.from({ charts: { pt_1: { patient: { allergies: {} } } } })
  /** The actor problems of the writes of a browser change that adds allergy a1 recorded by `by`, as `user`. */
  const problems = (by: unknown, user = 'usr_grace') => {
    const before = doc()
    const after = A.change(A.clone(before), (d) => {
      d.charts.pt_1!.patient.allergies.a1 = { substance: new A.ImmutableString('latex'), recordedBy: by }
    })
    const r = resolveChanges(before, A.getChanges(before, after))
    if (!r.ok) throw new Error(r.message)
    return r.changes.flatMap((c) => c.writes.map((x) => actorWriteProblem(x, user))).filter(Boolean)
  }

  it("accepts the signed-in user's name (packed, or the map of schema 2) and refuses another user's or a malformed one", () => {
    expect(problems(new A.ImmutableString('usr_grace dev_tab1'))).toEqual([])
    expect(problems(new A.ImmutableString('usr_admin dev_tab1'))).toEqual([
      'charts.pt_1.patient.allergies.a1.recordedBy names usr_admin, not the signed-in user',
    ])
    expect(problems(new A.ImmutableString('usr_grace'))[0]).toMatch(/is not an actor 'user device'/)
    expect(problems(new A.ImmutableString('usr_grace dev_tab1 usr_admin'))[0]).toMatch(/is not an actor/)
    expect(problems(5)[0]).toMatch(/is not an actor/)
    // the map of schema 2, from a page loaded before the upgrade: taken when it names the signed-in user
    const map = (u: string) => ({ user: new A.ImmutableString(u), device: new A.ImmutableString('dev_tab1') })
    expect(problems(map('usr_grace'))).toEqual([])
    expect(problems(map('usr_admin'))).toEqual([
      'charts.pt_1.patient.allergies.a1.recordedBy.user names usr_admin, not the signed-in user',
    ])
    expect(problems({ ...map('usr_grace'), role: 'admin' })[0]).toMatch(/a user and a device, nothing else/)
  })

  it('leaves MAR entries to the MAR check, and paths without an actor alone', () => {
    const mar = { path: ['charts', 'pt_1', 'mar', 'm1', 'by'], overwrite: false, value: 'usr_x dev_y' }
    expect(actorWriteProblem(mar, 'usr_grace')).toBeUndefined()
    expect(actorWriteProblem(w([...E, 'registration', 'queue'], true, 'triage'), 'usr_grace')).toBeUndefined()
    expect(actorWriteProblem(w([...E, 'registration', 'by'], true, 'usr_x dev_y'), 'usr_grace')).toMatch(
      /names usr_x/,
    )
  })
})
