import { readFile } from 'node:fs/promises'
import type { AutomergeUrl, DocHandle } from '@automerge/automerge-repo'
import type { ClinicId, DeviceId, DocUrl, LocationId, OperationId, UserId } from '@clinic-mesh/contracts'
import {
  DeviceLog,
  newLogDoc,
  periodOf,
  type AdjustmentApproval,
  type DeviceLogDoc,
  type Operation,
  type OperationBody,
  type RunSignature,
} from '@clinic-mesh/ledger'
import { signEnrolment } from '@clinic-mesh/mesh'
import { signAdjustmentApproval, signBatch, unlockSigningKey, type UserRegister } from '@clinic-mesh/security'
import { tempDir, type TempDir } from '@clinic-mesh/testing'
import { ed25519 } from '@noble/curves/ed25519.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DeviceCluster, pollDevice, testPassword, type DeviceProcess } from './helpers/device-process.js'
import { TestDevice } from './helpers/relay-device.js'
import { RelayProcess } from './helpers/relay-process.js'

/**
 * Issue 15 items 6 and 7 against real processes: a stock adjustment settles only with a supervisor's approval the relay
 * verifies (a signature by an active supervisor of the register, over this very request) or a supervisor's decision at
 * the reviewer console; a controlled-drug count that differs is a critical conflict a supervisor must approve.
 * "What if a stolen tablet sends this?": an enrolled rogue tablet writes correctly chained, run-signed requests with
 * forged, borrowed and replayed approvals.
 */

interface Status {
  device: { id: string; peerId: string }
  clinic: { id: string; directoryUrl: string }
}
interface Conflict {
  id: string
  kind: string
  status: string
  critical: boolean
  detail: string
  operation: { id: string }
  seen: { stock?: number; counted?: number }
}
interface Stock {
  lines: { site: string; batch: string; settled: number; tentative: number }[]
}
interface Recorded {
  operation: Operation & { status: string }
}
interface ClinicFile {
  clinic: string
  adminPublicKeys: string[]
  adminSecretKey: string
}

const ITEM = 'itm_morphine10'
const LOT = 'MO-1'
const supervisor = { name: 'test-supervisor', role: 'supervisor' }
const nurse = { name: 'test-nurse', role: 'nurse' }
const plain = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T

describe('stock control: supervisor approvals verified at the relay, controlled counts', () => {
  let dir: TempDir
  let relay: RelayProcess
  let cluster: DeviceCluster
  let node: DeviceProcess
  let status: Status
  let clinic: ClinicFile
  let site: LocationId
  let intruder: TestDevice
  let intruderSeq: DeviceLog | undefined
  let rogueLog: DocHandle<DeviceLogDoc> | undefined

  const settledQty = async (): Promise<number | undefined> =>
    (await node.api<Stock>('GET', '/api/stock')).body.lines.find((l) => l.batch === LOT)?.settled
  const conflictOf = (op: string): Promise<Conflict> =>
    pollDevice(
      async () =>
        (
          await relay.api<{ conflicts: Conflict[] }>('GET', `/api/conflicts?clinic=${status.clinic.id}`)
        ).body.conflicts.find((c) => c.operation.id === op),
      `a conflict for ${op}`,
    )
  const reviewer = async (name: string): Promise<string> => {
    const r = await relay.login(status.clinic.id, name, testPassword(name))
    expect(r.status).toBe(200)
    return r.body.token
  }
  const decide = (
    token: string,
    conflict: string,
    approval?: { user: string; role: string; password: string },
  ) =>
    relay.api<{ outcome?: string; error?: { name: string } }>(
      'POST',
      `/api/conflicts/${conflict}/resolution`,
      {
        decision: { action: 'accept', adjustment: null },
        note: 'checked',
        ...(approval ? { approval } : {}),
      },
      undefined,
      token,
    )

  async function userKey(name: string): Promise<{ id: UserId; key: Uint8Array }> {
    const register = await intruder.repo.find<UserRegister>(
      intruder.directory.doc().users as string as AutomergeUrl,
    )
    const id = `usr_${name}` as UserId
    const record = await pollDevice(
      () => Promise.resolve(register.doc().users[id]),
      `${name} in the register at the intruder`,
    )
    return { id, key: await unlockSigningKey(id, plain(record), testPassword(name)) }
  }

  /** The rogue tablet appends `bodies` to its own log (chained, run-signed by `user`'s stolen key and its device key). */
  function rogueAppend(
    user: { id: UserId; key: Uint8Array },
    bodies: { id: string; body: OperationBody }[],
  ): Operation[] {
    intruderSeq ??= new DeviceLog({
      device: 'intruder' as DeviceId,
      session: { user: user.id, role: 'pharmacist', site },
    })
    const log = intruderSeq
    log.setSession({ user: user.id, role: 'pharmacist', site })
    const ops = bodies.map((b) => log.append(b.body, b.id as OperationId))
    const { ops: _o, ...summary } = signBatch(ops, user.key, intruder.key.seed)
    const sig: RunSignature = { ...summary, v: 1, signer: intruder.key.peerId }
    const period = periodOf(Date.now())
    const fresh = rogueLog === undefined
    rogueLog ??= intruder.repo.create<DeviceLogDoc>(
      newLogDoc(clinic.clinic as ClinicId, 'intruder' as DeviceId, period),
    )
    rogueLog.change((d) => {
      for (const op of ops) d.ops.push(plain(op))
      d.signatures ??= {}
      d.signatures[String(sig.firstSeq)] = sig
    })
    const url = rogueLog.url as string as DocUrl
    if (fresh)
      intruder.directory.change((d) => {
        d.ledgerLogs.intruder = { [period]: url }
      })
    return ops
  }

  const request = (id: string, delta: number, approval: AdjustmentApproval | null, user: UserId) => ({
    id,
    body: {
      kind: 'adjustment-request' as const,
      item: ITEM as never,
      batch: LOT as never,
      delta,
      reason: 'ampoules broken',
      corrects: null,
      approval,
    },
    signed: {
      id,
      device: 'intruder',
      user,
      site,
      item: ITEM,
      batch: LOT,
      delta,
      reason: 'ampoules broken',
      corrects: null,
    },
  })

  beforeAll(async () => {
    dir = await tempDir('relay-stock-control-')
    relay = await RelayProcess.start(dir.path)
    cluster = await DeviceCluster.start(['pharmacy'], { relay: relay.syncUrl.replace(/\/sync$/, '') })
    node = cluster.devices[0]!
    await node.ready()
    status = (await node.api<Status>('GET', '/api/status')).body
    clinic = JSON.parse(await readFile(node.init.clinicFile ?? '', 'utf8')) as ClinicFile
    const formulary = { id: 'f-1', item: ITEM, name: 'Morphine 10 mg/ml', price: 90, controlled: true }
    expect(
      (await node.api('POST', '/api/stock/formulary', formulary, { as: { name: 'admin', role: 'admin' } }))
        .status,
    ).toBe(201)
    const grn = {
      id: 'grn-1',
      item: ITEM,
      batch: LOT,
      expiry: '2031-01-31',
      quantity: 100,
      unitCost: 50,
      supplier: 'CMST',
      grn: 'G-1',
    }
    const received = await node.api<Recorded>('POST', '/api/stock/receipts', grn)
    expect(received.status).toBe(201)
    site = received.body.operation.site
    await pollDevice(async () => (await settledQty()) === 100, 'the receipt settled')
    await node.token(supervisor)
    await node.token(nurse)
    await node.token({ name: 'test-supervisor2', role: 'supervisor' })
    // an enrolled tablet gone rogue (admin-signed enrolment: its device key is a signer the relay believes)
    const adminKey = Buffer.from(clinic.adminSecretKey, 'hex')
    intruder = new TestDevice(relay.syncUrl, clinic.clinic, 'intruder', {
      secretKey: adminKey,
      publicKey: Buffer.from(clinic.adminPublicKeys[0]!, 'hex'),
    })
    expect([200, 201]).toContain((await intruder.register(relay, status.clinic.directoryUrl)).status)
    await intruder.joinClinic(status.clinic.directoryUrl as AutomergeUrl)
    const enrolment = signEnrolment(
      { clinic: clinic.clinic, devicePeerId: intruder.key.peerId, deviceName: 'intruder' },
      adminKey,
    )
    const m = await intruder.repo.find<{ enrolments: Record<string, unknown> }>(
      intruder.directory.doc().membership as string as AutomergeUrl,
    )
    m.change((d) => {
      d.enrolments[intruder.key.peerId] = plain(enrolment)
    })
  }, 90_000)

  afterAll(async () => {
    await intruder?.close()
    await cluster?.stop()
    await relay?.stop('SIGKILL')
    await dir?.remove()
  })

  let genuine: AdjustmentApproval

  it('a supervisor on site signs the approval at the tablet: the relay verifies it and settles the adjustment', async () => {
    const body = { id: 'adj-ok', item: ITEM, batch: LOT, delta: -2, reason: 'ampoules broken' }
    // a nurse cannot approve, nor a wrong password; nothing is recorded
    const byNurse = await node.api<{ error: { name: string } }>('POST', '/api/stock/adjustments', {
      ...body,
      approver: { user: nurse.name, password: testPassword(nurse.name) },
    })
    expect(byNurse.status).toBe(403)
    const wrong = await node.api<{ error: { name: string } }>('POST', '/api/stock/adjustments', {
      ...body,
      approver: { user: 'test-supervisor2', password: 'not-the-password' },
    })
    expect(wrong.body.error.name).toBe('InvalidPasswordError')
    const ok = await node.api<Recorded>('POST', '/api/stock/adjustments', {
      ...body,
      approver: { user: supervisor.name, password: testPassword(supervisor.name) },
    })
    expect(ok.status).toBe(201)
    const op = ok.body.operation as Extract<Operation, { kind: 'adjustment-request' }>
    expect(op.approval).toMatchObject({ user: 'usr_test-supervisor', role: 'supervisor' })
    expect(op.approval?.signature).toMatch(/^[0-9a-f]{128}$/)
    genuine = op.approval!
    await pollDevice(async () => (await settledQty()) === 98, 'the approved adjustment settled')
  })

  it('a stolen tablet: forged signer, a nurse’s signature, a replayed approval and a bare claim are raised, never settled', async () => {
    const pharmacist = await userKey('test-pharmacist')
    const nurseKey = await userKey(nurse.name)
    const sup = 'usr_test-supervisor' as UserId
    const stranger = ed25519.utils.randomSecretKey()
    const forged = request('adj-forged', -50, null, pharmacist.id)
    const byNurse = request('adj-nurse', -50, null, pharmacist.id)
    const replayed = request('adj-replay', -2, genuine, pharmacist.id)
    const claimed = request('adj-claim', -50, { user: sup, role: 'supervisor' }, pharmacist.id)
    const ops = rogueAppend(pharmacist, [
      {
        id: forged.id,
        body: {
          ...forged.body,
          approval: {
            user: sup,
            role: 'supervisor',
            signature: signAdjustmentApproval(forged.signed, sup, stranger),
          },
        },
      },
      {
        id: byNurse.id,
        body: {
          ...byNurse.body,
          approval: {
            user: nurseKey.id,
            role: 'supervisor',
            signature: signAdjustmentApproval(byNurse.signed, nurseKey.id, nurseKey.key),
          },
        },
      },
      replayed,
      claimed,
    ])
    const [f, n, r, c] = await Promise.all(ops.map((o) => conflictOf(o.id)))
    expect(f).toMatchObject({ kind: 'unauthorized', status: 'open' })
    expect(f!.detail).toMatch(/approval signature of usr_test-supervisor does not verify/)
    expect(n).toMatchObject({ kind: 'unauthorized' })
    expect(n!.detail).toMatch(/approver usr_test-nurse is a nurse in the clinic's register/)
    expect(r).toMatchObject({ kind: 'unauthorized' })
    expect(r!.detail).toMatch(/does not verify over this request/)
    expect(c).toMatchObject({ kind: 'unauthorized' })
    expect(c!.detail).toMatch(/carries no signature/)
    // nothing moved; and accepting a raised adjustment is a supervisor's decision (a pharmacist alone is refused)
    expect(await settledQty()).toBe(98)
    const refused = await decide(await reviewer('test-pharmacist'), f!.id)
    expect(refused.status).toBe(403)
    expect(refused.body.error?.name).toBe('ResolutionApprovalError')
    expect(await settledQty()).toBe(98)
  })

  it('no supervisor on site: the request waits as adjustment-approval until a supervisor accepts it at the console', async () => {
    const ok = await node.api<Recorded>('POST', '/api/stock/adjustments', {
      id: 'adj-remote',
      item: ITEM,
      batch: LOT,
      delta: -1,
      reason: 'spilled',
    })
    expect(ok.status).toBe(201)
    const c = await conflictOf('adj-remote')
    expect(c).toMatchObject({ kind: 'adjustment-approval', status: 'open' })
    const byPharmacist = await decide(await reviewer('test-pharmacist'), c.id)
    expect(byPharmacist.body.error?.name).toBe('ResolutionApprovalError')
    // a controlled drug: every conflict on it is critical, so one supervisor is not enough, a second must approve
    const sup = await reviewer(supervisor.name)
    expect((await decide(sup, c.id)).body.error?.name).toBe('ResolutionApprovalError')
    const bySupervisors = await decide(sup, c.id, {
      user: 'test-supervisor2',
      role: 'supervisor',
      password: testPassword('test-supervisor2'),
    })
    expect(bySupervisors.status).toBe(200)
    await pollDevice(async () => (await settledQty()) === 97, 'the accepted adjustment settled')
  })

  it('a controlled count that differs is critical: a supervisor must approve; the register shows every movement and the balance', async () => {
    const counted = await node.api<Recorded>('POST', '/api/stock/counts', {
      id: 'cnt-1',
      item: ITEM,
      batch: LOT,
      counted: 95,
      stockSeen: 1_000_000, // a client's figure is not read: the node writes its own
    })
    expect(counted.status).toBe(201)
    expect(counted.body.operation).toMatchObject({ kind: 'count', counted: 95, stockSeen: 97 })
    const c = await conflictOf('cnt-1')
    expect(c).toMatchObject({ kind: 'controlled-count-discrepancy', critical: true, status: 'open' })
    const pharmacist = await reviewer('test-pharmacist')
    expect((await decide(pharmacist, c.id)).body.error?.name).toBe('ResolutionApprovalError')
    // a nurse's password is no supervisor's approval (the role comes from the register, not the request)
    const nurseApproval = await decide(pharmacist, c.id, {
      user: nurse.name,
      role: nurse.role,
      password: testPassword(nurse.name),
    })
    expect(nurseApproval.body.error?.name).toBe('ResolutionApprovalError')
    expect(await settledQty()).toBe(97)
    const approved = await decide(pharmacist, c.id, {
      user: supervisor.name,
      role: supervisor.role,
      password: testPassword(supervisor.name),
    })
    expect(approved.body).toMatchObject({ outcome: 'resolved' })
    await pollDevice(async () => (await settledQty()) === 95, 'the count booked')

    const reg = await pollDevice(async () => {
      const r = await node.api<{
        controlled: boolean
        settled: number | null
        tentative: number
        entries: { op: string; kind: string; change: number; status: string; balance: number }[]
      }>('GET', `/api/stock/register?item=${ITEM}`)
      return r.body.entries.find((e) => e.op === 'cnt-1')?.status === 'resolved' ? r.body : undefined
    }, 'the register shows the count resolved')
    expect(reg.controlled).toBe(true)
    const mine = reg.entries.filter(
      (e) => e.op.startsWith('grn-') || e.op.startsWith('adj-') || e.op === 'cnt-1',
    )
    expect(mine.map((e) => [e.op, e.kind, e.change, e.status])).toEqual([
      ['grn-1', 'receive', 100, 'settled'],
      ['adj-ok', 'adjustment-request', -2, 'settled'],
      ['adj-forged', 'adjustment-request', 0, 'conflict'],
      ['adj-nurse', 'adjustment-request', 0, 'conflict'],
      ['adj-replay', 'adjustment-request', 0, 'conflict'],
      ['adj-claim', 'adjustment-request', 0, 'conflict'],
      ['adj-remote', 'adjustment-request', -1, 'resolved'],
      ['cnt-1', 'count', -2, 'resolved'],
    ])
    expect(reg.entries.at(-1)!.balance).toBe(95)
    expect(reg).toMatchObject({ settled: 95, tentative: 95 })
  })
})
