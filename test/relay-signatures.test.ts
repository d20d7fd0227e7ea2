import { readFile } from 'node:fs/promises'
import type { AutomergeUrl } from '@automerge/automerge-repo'
import { ed25519 } from '@noble/curves/ed25519.js'
import {
  hashOperation,
  lastLogOp,
  packFor,
  periodOf,
  type DeviceLogDoc,
  type Operation,
  type RunSignature,
} from '@clinic-mesh/ledger'
import type { UserId } from '@clinic-mesh/contracts'
import {
  createUser,
  endorseUser,
  signBatch,
  unlockSigningKey,
  type UserRecord,
  type UserRegister,
} from '@clinic-mesh/security'
import { tempDir, type TempDir } from '@clinic-mesh/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DeviceCluster, pollDevice, testPassword, type DeviceProcess } from './helpers/device-process.js'
import { TestDevice } from './helpers/relay-device.js'
import { RelayProcess } from './helpers/relay-process.js'

interface Status {
  device: { id: string; peerId: string }
  clinic: { id: string; directoryUrl: string }
  pending: { ops: number }
}
interface Conflicts {
  conflicts: { id: string; kind: string; status: string; detail: string; operation?: { id: string } }[]
}
interface Stock {
  lines: { batch: string; settled: number; tentative: number }[]
}

const admin = { name: 'admin', role: 'admin' }
const item = 'itm_amox'

/** An attacker's copy of an op: other content, re-chained and re-hashed so the hash chain itself looks right. */
function forge(after: Operation, change: Record<string, unknown>): Operation {
  const { hash: _h, ...rest } = { ...after, ...change, seq: after.seq + 1, prev: after.hash }
  const unsigned = rest as unknown as Parameters<typeof hashOperation>[0]
  return { ...unsigned, hash: hashOperation(unsigned) }
}

describe('signed stock operations: the relay settles what the device and user signed, and raises the rest', () => {
  let dir: TempDir
  let relay: RelayProcess
  let cluster: DeviceCluster
  let node: DeviceProcess
  let attacker: TestDevice | undefined

  beforeAll(async () => {
    dir = await tempDir('relay-signatures-')
    relay = await RelayProcess.start(dir.path)
    cluster = await DeviceCluster.start(['pharmacy'], { relay: relay.syncUrl.replace(/\/sync$/, '') })
    node = cluster.devices[0]!
    await node.ready()
  })

  afterAll(async () => {
    await attacker?.close()
    await cluster?.stop()
    await relay?.stop('SIGKILL')
    await dir?.remove()
  })

  it('settles signed operations; an unsigned forged op and one under a forged signature become unauthorized conflicts', async () => {
    const status = (await node.api<Status>('GET', '/api/status')).body
    const clinic = status.clinic.id
    const price = await node.api(
      'POST',
      '/api/stock/formulary',
      { id: 'f-1', item, name: 'Amoxicillin 250 mg', price: 40 },
      { as: admin },
    )
    expect(price.status).toBe(201)
    const grn = await node.api<{ operation: Operation }>('POST', '/api/stock/receipts', {
      id: 'grn-1',
      item,
      batch: 'AMX-1',
      expiry: '2031-01-31',
      quantity: 100,
      unitCost: 30,
      supplier: 'CMST',
      grn: 'G-1',
    })
    expect(grn.status).toBe(201)
    await pollDevice(async () => {
      const s = await node.api<Stock>('GET', '/api/stock')
      return s.body.lines.find((l) => l.batch === 'AMX-1')?.settled === 100
    }, 'the signed receipt is settled by the relay')
    expect((await relay.api<Conflicts>('GET', `/api/conflicts?clinic=${clinic}`)).body.conflicts).toEqual([])

    // an enrolled device gone rogue (stolen, tampered with) edits the pharmacy's log document directly
    const file = JSON.parse(await readFile(node.init.clinicFile ?? '', 'utf8')) as { adminSecretKey: string }
    const secretKey = Buffer.from(file.adminSecretKey, 'hex')
    attacker = new TestDevice(relay.syncUrl, clinic, 'intruder', {
      secretKey,
      publicKey: ed25519.getPublicKey(secretKey),
    })
    expect([200, 201]).toContain((await attacker.register(relay, status.clinic.directoryUrl)).status)
    await attacker.joinClinic(status.clinic.directoryUrl as AutomergeUrl)
    const logUrl = await pollDevice(
      () => Promise.resolve(attacker!.directory.doc()?.ledgerLogs[status.device.id]?.[periodOf(Date.now())]),
      'log url',
    )
    const log = await attacker.repo.find<DeviceLogDoc>(logUrl as string as AutomergeUrl)
    const last = lastLogOp(log.doc())!
    const unsigned = forge(last, { id: 'op_forged_1', quantity: 1000, grn: 'G-FAKE' })
    // a second forgery with a run signature made with keys the clinic never vouched for
    const fakeKey = ed25519.utils.randomSecretKey()
    const signedByStranger = forge(unsigned, { id: 'op_forged_2', quantity: 500, grn: 'G-FAKE-2' })
    const { ops: _o, ...summary } = signBatch([signedByStranger], fakeKey, fakeKey)
    const fakeSig: RunSignature = { ...summary, v: 1, signer: status.device.peerId }
    log.change((d) => {
      d.ops.push(packFor(d.schema, unsigned), packFor(d.schema, signedByStranger))
      d.signatures ??= {}
      d.signatures[String(signedByStranger.seq)] = packFor(d.schema, fakeSig)
    })

    const raised = await pollDevice(async () => {
      const r = await relay.api<Conflicts>('GET', `/api/conflicts?clinic=${clinic}`)
      return r.body.conflicts.length >= 2 ? r.body.conflicts : undefined
    }, 'both forgeries raised for review')
    expect(raised.map((c) => [c.operation?.id, c.kind, c.status]).sort()).toEqual([
      ['op_forged_1', 'unauthorized', 'open'],
      ['op_forged_2', 'unauthorized', 'open'],
    ])
    expect(raised.find((c) => c.operation?.id === 'op_forged_1')?.detail).toMatch(/unsigned/)
    expect(raised.find((c) => c.operation?.id === 'op_forged_2')?.detail).toMatch(
      /signature check failed: bad-device-signature/,
    )
    // resolving needs a reviewer signed in with their own password, checked against the clinic's register; the role
    // comes from there
    const forged1 = raised.find((c) => c.operation?.id === 'op_forged_1')!
    const url = `/api/conflicts/${encodeURIComponent(forged1.id)}/resolution`
    const anonymous = await relay.api<{ error: { name: string } }>(
      'POST',
      url,
      { clinic, decision: { action: 'cancel' }, user: 'usr_boss', role: 'supervisor' },
      undefined,
      null,
    )
    expect([anonymous.status, anonymous.body.error.name]).toEqual([401, 'UnauthenticatedError'])
    // the relay operator reads every clinic but decides for none that has users
    const operator = await relay.api<{ error: { name: string } }>('POST', url, {
      clinic,
      decision: { action: 'cancel' },
      user: 'usr_boss',
      role: 'supervisor',
    })
    expect([operator.status, operator.body.error.name]).toEqual([403, 'ForbiddenError'])
    const wrong = await relay.login(clinic, 'test-pharmacist', 'guess-1234')
    expect([wrong.status, (wrong.body as unknown as { error: { name: string } }).error.name]).toEqual([
      401,
      'InvalidPasswordError',
    ])
    // (after a wrong password the next attempt for that user waits a second: 423 until then)
    const signedIn = await pollDevice(async () => {
      const r = await relay.login(clinic, 'test-pharmacist', testPassword('test-pharmacist'))
      return r.status === 423 ? undefined : r
    }, 'the back-off after a wrong password ends')
    expect(signedIn.status).toBe(200)
    const done = await relay.api<{ conflict: { resolution: { by: string; role: string } } }>(
      'POST',
      url,
      {
        clinic,
        decision: { action: 'cancel' },
        note: 'forged',
        user: 'usr_boss',
        role: 'supervisor',
      },
      undefined,
      signedIn.body.token,
    )
    expect(done.status).toBe(200)
    expect(done.body.conflict.resolution).toMatchObject({ by: 'usr_test-pharmacist', role: 'pharmacist' })
    // nothing forged reached the settled stock
    const stock = await node.api<Stock>('GET', '/api/stock')
    expect(stock.body.lines.find((l) => l.batch === 'AMX-1')?.settled).toBe(100)

    // the rogue member writes itself a supervisor into the clinic's user register (it can: Automerge authorises no
    // write), self-endorsed with the new user's own key: no device and not the relay believe it
    const registerUrl = attacker.directory.doc().users as string as AutomergeUrl
    const register = await attacker.repo.find<UserRegister>(registerUrl)
    const mallory = await createUser({
      userId: 'usr_mallory' as UserId,
      name: 'mallory',
      role: 'supervisor',
      password: 'mallory-pass',
      scrypt: { N: 2 ** 10, r: 8, p: 1 },
    })
    const malloryKey = await unlockSigningKey('usr_mallory' as UserId, mallory, 'mallory-pass')
    register.change((d) => {
      d.users.usr_mallory = JSON.parse(
        JSON.stringify(endorseUser('usr_mallory' as UserId, mallory, malloryKey)),
      ) as UserRecord
    })
    const listed = await pollDevice(async () => {
      const r = await node.api<{ users: { id: string }[]; unendorsed: string[] }>(
        'GET',
        '/api/users',
        undefined,
        { as: admin },
      )
      return r.body.unendorsed.includes('usr_mallory') ? r.body : undefined
    }, 'the forged user reached the device node')
    expect(listed.users.map((u) => u.id)).not.toContain('usr_mallory')
    const login = await node.api<{ error: { name: string } }>(
      'POST',
      '/api/login',
      { user: 'mallory', password: 'mallory-pass' },
      { as: null },
    )
    expect([login.status, login.body.error.name]).toEqual([401, 'InvalidPasswordError'])
    const asMallory = await relay.login(clinic, 'mallory', 'mallory-pass')
    expect([asMallory.status, (asMallory.body as unknown as { error: { name: string } }).error.name]).toEqual(
      [401, 'InvalidPasswordError'],
    )
  })
})
