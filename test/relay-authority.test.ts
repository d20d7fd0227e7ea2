import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Repo, type AutomergeUrl, type DocHandle, type PeerId } from '@automerge/automerge-repo'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type {
  ClinicId,
  DeviceId,
  DocUrl,
  LocationId,
  SettledInventoryDoc,
  UserId,
} from '@clinic-mesh/contracts'
import {
  DeviceLog,
  newLogDoc,
  periodOf,
  verifySettledInventory,
  type DeviceLogDoc,
  type InventoryState,
  type Operation,
  type OperationBody,
  type RunSignature,
} from '@clinic-mesh/ledger'
import {
  Membership,
  createMeshNode,
  signEnrolment,
  type Enrolment,
  type MeshNode,
  type Revocation,
} from '@clinic-mesh/mesh'
import { signBatch, unlockSigningKey, type UserRegister } from '@clinic-mesh/security'
import { tempDir, type TempDir } from '@clinic-mesh/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DeviceCluster, DeviceProcess, pollDevice, testPassword } from './helpers/device-process.js'
import { newDeviceKey, type DeviceKey } from './helpers/relay-auth.js'
import { TestDevice } from './helpers/relay-device.js'
import { RelayProcess } from './helpers/relay-process.js'

/**
 * Authority at the node: the relay judges each operation by the register's role of its signer (never the role the
 * operation claims), believes only admin-signed membership records, signs the documents only it writes and refuses
 * anyone's change to them; devices believe only the settled inventory that verifies under the relay key they pinned.
 */

interface Status {
  device: { id: string; peerId: string }
  clinic: { id: string; directoryUrl: string }
}
interface Conflict {
  id: string
  kind: string
  status: string
  detail: string
  operation?: { id: string }
}
interface Stock {
  settledAt: string | null
  settledVerified: boolean
  settledVersion: number | null
  settledRejected: string | null
  lines: { batch: string; settled: number; tentative: number }[]
  items: Record<string, { price: number; name: string }>
}
interface ClinicFile {
  clinic: string
  clinicSecret: string
  adminPublicKeys: string[]
  adminSecretKey: string
  enrolments: Enrolment[]
}
interface MembershipDoc {
  enrolments: Record<string, Enrolment>
  revocations: Record<string, Revocation>
}

const admin = { name: 'admin', role: 'admin' }
const item = 'itm_amox'
const BATCH = 'AMX-1'
const FORGED_AT = '2099-01-01T00:00:00.000Z'

const plain = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T

describe('authority at the node: roles from the register, admin-signed membership, relay-signed settlement', () => {
  let dir: TempDir
  let relay: RelayProcess
  let cluster: DeviceCluster
  let node: DeviceProcess
  let status: Status
  let clinic: ClinicFile
  let adminKey: Uint8Array
  let intruder: TestDevice
  let observer: TestDevice | undefined
  let stolen: { mesh: MeshNode; repo: Repo } | undefined

  const settledQty = async (): Promise<number | undefined> =>
    (await node.api<Stock>('GET', '/api/stock')).body.lines.find((l) => l.batch === BATCH)?.settled
  const conflicts = async (): Promise<Conflict[]> =>
    (await relay.api<{ conflicts: Conflict[] }>('GET', `/api/conflicts?clinic=${status.clinic.id}`)).body
      .conflicts
  const membership = (): Promise<DocHandle<MembershipDoc>> =>
    intruder.repo.find<MembershipDoc>(intruder.directory.doc().membership as string as AutomergeUrl)

  /** A log document of `device` holding `ops` and their run signature, written in one change, then listed in the directory. */
  function writeSignedLog(device: string, ops: Operation[], userKey: Uint8Array, deviceKey: DeviceKey): void {
    const h = intruder.repo.create<DeviceLogDoc>(
      newLogDoc(clinic.clinic as ClinicId, device as DeviceId, periodOf(Date.now())),
    )
    const { ops: _o, ...summary } = signBatch(ops, userKey, deviceKey.seed)
    const sig: RunSignature = { ...summary, v: 1, signer: deviceKey.peerId }
    h.change((d) => {
      for (const op of ops) d.ops.push(plain(op))
      d.signatures = { [String(sig.firstSeq)]: sig }
    })
    intruder.directory.change((d) => {
      d.ledgerLogs[device] = { [periodOf(Date.now())]: h.url as string as DocUrl }
    })
  }

  function opsOf(
    device: string,
    user: string,
    role: 'admin' | 'pharmacist',
    bodies: OperationBody[],
  ): Operation[] {
    const log = new DeviceLog({
      device: device as DeviceId,
      session: { user: user as UserId, role, site: 'site-main' as LocationId },
    })
    return bodies.map((b) => log.append(b))
  }

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

  beforeAll(async () => {
    dir = await tempDir('relay-authority-')
    relay = await RelayProcess.start(dir.path)
    cluster = await DeviceCluster.start(['pharmacy'], { relay: relay.syncUrl.replace(/\/sync$/, '') })
    node = cluster.devices[0]!
    await node.ready()
    status = (await node.api<Status>('GET', '/api/status')).body
    clinic = JSON.parse(await readFile(node.init.clinicFile ?? '', 'utf8')) as ClinicFile
    adminKey = Buffer.from(clinic.adminSecretKey, 'hex')
    expect(
      (
        await node.api(
          'POST',
          '/api/stock/formulary',
          { id: 'f-1', item, name: 'Amoxicillin 250 mg', price: 40 },
          { as: admin },
        )
      ).status,
    ).toBe(201)
    const grn = {
      id: 'grn-1',
      item,
      batch: BATCH,
      expiry: '2031-01-31',
      quantity: 100,
      unitCost: 30,
      supplier: 'CMST',
      grn: 'G-1',
    }
    expect((await node.api('POST', '/api/stock/receipts', grn)).status).toBe(201)
    await pollDevice(async () => (await settledQty()) === 100, 'the receipt settled')
    // the users whose keys a modified tablet will use (created through the admin, as on any tablet)
    await node.token({ name: 'test-clinician', role: 'clinician' })
    // an enrolled tablet gone rogue, speaking to the relay with the stock automerge-repo client
    intruder = new TestDevice(relay.syncUrl, clinic.clinic, 'intruder', {
      secretKey: adminKey,
      publicKey: Buffer.from(clinic.adminPublicKeys[0]!, 'hex'),
    })
    expect([200, 201]).toContain((await intruder.register(relay, status.clinic.directoryUrl)).status)
    await intruder.joinClinic(status.clinic.directoryUrl as AutomergeUrl)
    // its own, admin-signed enrolment in the membership document: its device key is a signer the relay may believe
    const enrolment = signEnrolment(
      { clinic: clinic.clinic, devicePeerId: intruder.key.peerId, deviceName: 'intruder' },
      adminKey,
    )
    const m = await membership()
    m.change((d) => {
      d.enrolments[intruder.key.peerId] = plain(enrolment)
    })
  }, 60_000)

  afterAll(async () => {
    await stolen?.repo.shutdown().catch(() => undefined)
    await stolen?.mesh.stop().catch(() => undefined)
    await observer?.close()
    await intruder?.close()
    await cluster?.stop()
    await relay?.stop('SIGKILL')
    await dir?.remove()
  })

  it('(a) a clinician-signed formulary-update claiming role admin is an unauthorized conflict; the formulary is unchanged', async () => {
    const clinician = await userKey('test-clinician')
    const forged = opsOf('intruder', clinician.id, 'admin', [
      {
        kind: 'formulary-update',
        item: item as never,
        name: 'Amoxicillin 250 mg',
        price: 1,
        status: 'active',
        controlled: false,
      },
    ])
    writeSignedLog('intruder', forged, clinician.key, intruder.key)
    const raised = await pollDevice(
      async () => (await conflicts()).find((c) => c.operation?.id === forged[0]!.id),
      'the forged formulary update raised',
    )
    expect(raised).toMatchObject({ kind: 'unauthorized', status: 'open' })
    expect(raised.detail).toMatch(
      /usr_test-clinician is a clinician in the clinic's register: a clinician may not manage-formulary \(formulary-update\) \(the operation claims role admin\)/,
    )
    const inv = await relay.api<{ inventory: InventoryState }>(
      'GET',
      `/api/inventory?clinic=${clinic.clinic}`,
    )
    expect(inv.body.inventory.items[item as never]?.price).toBe(40)
    expect((await node.api<Stock>('GET', '/api/stock')).body.items[item]?.price).toBe(40)
  })

  it('(c) unsigned enrolments and revocations in the membership document are ignored by the relay', async () => {
    const m = await membership()
    // a revocation of the pharmacy tablet nobody signed, and an enrolment of a stranger's key signed by the stranger
    const stranger = newDeviceKey()
    const fakeAdmin = newDeviceKey().seed
    const unsignedEnrolment = signEnrolment(
      { clinic: clinic.clinic, devicePeerId: stranger.peerId, deviceName: 'stranger' },
      fakeAdmin,
    )
    const unsignedRevocation: Revocation = {
      clinic: clinic.clinic,
      devicePeerId: status.device.peerId,
      revokedAt: new Date(Date.now() - 60_000).toISOString(),
      reason: 'forged',
      by: clinic.adminPublicKeys[0]!,
      signature: '00'.repeat(64),
    }
    m.change((d) => {
      d.enrolments[stranger.peerId] = plain(unsignedEnrolment)
      d.revocations[status.device.peerId] = plain(unsignedRevocation)
    })
    // the stranger's key signs a receipt of 1,000 units with a real pharmacist's key (stolen password)
    await node.token({ name: 'test-pharmacist', role: 'pharmacist' })
    const pharmacist = await userKey('test-pharmacist')
    const receipt = opsOf('stranger-dev', pharmacist.id, 'pharmacist', [
      {
        kind: 'receive',
        item: item as never,
        batch: BATCH as never,
        expiry: '2031-01-31',
        quantity: 1000,
        unitCost: 30,
        supplier: 'CMST',
        grn: 'G-STRANGER',
      },
    ])
    writeSignedLog('stranger-dev', receipt, pharmacist.key, stranger)
    await pollDevice(
      () =>
        Promise.resolve(
          relay.stderr.filter((l) => l.includes('"event":"membership-record-refused"')).length >= 2 ||
            undefined,
        ),
      'both records refused at the relay',
    )
    const refused = relay.stderr.filter((l) => l.includes('"event":"membership-record-refused"')).join('\n')
    expect(refused).toMatch(
      new RegExp(`"kind":"enrolment","peer":"${stranger.peerId}","error":"InvalidSignatureError"`),
    )
    expect(refused).toMatch(
      new RegExp(`"kind":"revocation","peer":"${status.device.peerId}","error":"InvalidSignatureError"`),
    )
    // the pharmacy tablet, "revoked" by nobody, goes on settling; the stranger's receipt does not
    const grn = {
      id: 'grn-2',
      item,
      batch: BATCH,
      expiry: '2031-01-31',
      quantity: 10,
      unitCost: 30,
      supplier: 'CMST',
      grn: 'G-2',
    }
    expect((await node.api('POST', '/api/stock/receipts', grn)).status).toBe(201)
    await pollDevice(async () => (await settledQty()) === 110, 'the pharmacy’s second receipt settled')
    // one more settlement round after both (a third receipt, awaited): the stranger's 1,000 never join the total
    expect(
      (await node.api('POST', '/api/stock/receipts', { ...grn, id: 'grn-2b', grn: 'G-2b' })).status,
    ).toBe(201)
    await pollDevice(async () => (await settledQty()) === 120, 'the pharmacy’s third receipt settled')
    expect(await settledQty()).toBe(120)
    const mine = (await conflicts()).filter(
      (c) => c.operation?.id === receipt[0]!.id || c.detail.includes('revoked'),
    )
    expect(mine).toEqual([])
    expect(relay.stderr.join('\n')).not.toMatch(/"event":"device-revoked"/)
  })

  it('(b) a forged settled inventory: the relay refuses the write (1008 ForbiddenWriteError); a device shown one keeps its verified figures', async () => {
    const relayKey = (await relay.api<{ relayKey: string }>('GET', '/api/status')).body.relayKey
    expect(relayKey).toMatch(/^[0-9a-f]{64}$/)
    const before = (await node.api<Stock>('GET', '/api/stock')).body
    expect(before).toMatchObject({ settledVerified: true, settledRejected: null })
    expect(before.settledAt).not.toBeNull()
    expect(before.lines.find((l) => l.batch === BATCH)?.settled).toBe(120)
    const inventoryUrl = intruder.directory.doc().settlement.inventory as string as AutomergeUrl
    const forge = (d: SettledInventoryDoc): void => {
      const state = JSON.parse(d.state) as { stock: Record<string, Record<string, number>> }
      state.stock['site-main'] = { ...state.stock['site-main'], [BATCH]: 5000 }
      d.settledAt = FORGED_AT
      d.state = JSON.stringify(state)
    }

    // a stolen (enrolled) tablet on the mesh, holding the pharmacy tablet's copy of the document
    const privateKey = await generateKeyPair('Ed25519')
    const peerId = peerIdFromPrivateKey(privateKey).toString()
    const stolenEnrolment = signEnrolment(
      { clinic: clinic.clinic, devicePeerId: peerId, deviceName: 'stolen' },
      adminKey,
    )
    ;(await membership()).change((d) => {
      d.enrolments[peerId] = plain(stolenEnrolment)
    })
    // (the pharmacy tablet admits it once the enrolment arrived through the relay)
    await pollDevice(async () => {
      const r = await node.api<{ enrolled: { peerId: string }[] }>('GET', '/api/devices', undefined, {
        as: admin,
      })
      return r.body.enrolled.some((e) => e.peerId === peerId)
    }, 'the stolen tablet enrolled at the pharmacy tablet')
    const members = new Membership({
      clinic: clinic.clinic,
      adminPublicKeys: clinic.adminPublicKeys.map((k) => Buffer.from(k, 'hex')),
      enrolments: [...clinic.enrolments, stolenEnrolment],
    })
    const target = node.mesh.find((a) => a.includes('/p2p/')) ?? `${node.mesh[0]}/p2p/${status.device.peerId}`
    const mesh = await createMeshNode({
      deviceName: 'stolen',
      membership: members,
      clinicSecret: Buffer.from(clinic.clinicSecret, 'hex'),
      privateKey,
      listen: ['/ip4/127.0.0.1/tcp/0'],
      mdns: { enabled: false },
      bootstrap: [target],
    })
    const repo = new Repo({ network: [mesh.adapter], peerId: 'dev_stolen' as PeerId })
    stolen = { mesh, repo }
    const copy = await pollDevice(
      async () => repo.find<SettledInventoryDoc>(inventoryUrl, { signal: AbortSignal.timeout(2_000) }),
      'the inventory over the mesh',
      30_000,
    )
    await pollDevice(
      () =>
        Promise.resolve(
          verifySettledInventory(plain(copy.doc()), { relayKey, clinic: clinic.clinic }).ok || undefined,
        ),
      'the stolen tablet holds a signed inventory',
    )
    // 1. at the relay: the intruder writes the document through its /sync socket
    const inv = await intruder.repo.find<SettledInventoryDoc>(inventoryUrl)
    const socket = (intruder.repo.networkSubsystem as unknown as { adapters: { socket?: WebSocket }[] })
      .adapters[0]!.socket!
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      socket.addEventListener('close', (e) => resolve({ code: e.code, reason: e.reason })),
    )
    inv.change(forge)
    const close = await closed
    expect(close.code).toBe(1008)
    expect(close.reason).toMatch(/^ForbiddenWriteError: /)
    await pollDevice(
      () =>
        Promise.resolve(
          relay.stderr.some((l) =>
            l.includes('"event":"sync-message-refused","error":"ForbiddenWriteError"'),
          ) || undefined,
        ),
      'the refusal logged',
    )
    // the relay's copy is its own: a fresh client fetches it, still signed, still the real figures
    observer = new TestDevice(relay.syncUrl, clinic.clinic, 'observer', {
      secretKey: adminKey,
      publicKey: Buffer.from(clinic.adminPublicKeys[0]!, 'hex'),
    })
    expect([200, 201]).toContain((await observer.register(relay, status.clinic.directoryUrl)).status)
    await observer.joinClinic(status.clinic.directoryUrl as AutomergeUrl)
    const fresh = plain((await observer.repo.find<SettledInventoryDoc>(inventoryUrl)).doc())
    expect(fresh.settledAt).not.toBe(FORGED_AT)
    expect(verifySettledInventory(fresh, { relayKey, clinic: clinic.clinic })).toMatchObject({ ok: true })

    // 2. on the mesh: the stolen tablet writes the same forgery into the pharmacy tablet's copy
    copy.change(forge)
    const after = await pollDevice(async () => {
      const s = (await node.api<Stock>('GET', '/api/stock')).body
      return s.settledRejected ? s : undefined
    }, 'the forged document reached the pharmacy tablet and failed verification')
    expect(after.settledRejected).toMatch(/^bad-signature/)
    // (the relay re-publishes at each settlement round: the last version verified may be newer than `before`)
    expect(after.settledVerified).toBe(true)
    expect(after.settledAt).not.toBe(FORGED_AT)
    expect(after.settledVersion).toBeGreaterThanOrEqual(before.settledVersion ?? 1)
    expect(after.lines.find((l) => l.batch === BATCH)?.settled).toBe(120)
    // the honest tablet does not pass the forgery on to the relay (its link stays up)
    await pollDevice(
      () =>
        Promise.resolve(
          node.stderr.some((l) => l.includes('"event":"relay-only-change-withheld"')) || undefined,
        ),
      'the forged change withheld from the relay',
    )
    expect(
      relay.stderr
        .filter((l) => l.includes('ForbiddenWriteError'))
        .every((l) => !l.includes(status.device.id)),
    ).toBe(true)
    expect(node.stderr.join('\n')).toMatch(/"event":"settled-inventory-unverified","reason":"bad-signature/)
    // the relay settles on: newer signed versions (two rounds: the forged fields then lose the merge) are believed again
    for (const [n, total] of [
      [3, 125],
      [4, 130],
    ] as const) {
      const grn = {
        id: `grn-${n}`,
        item,
        batch: BATCH,
        expiry: '2031-01-31',
        quantity: 5,
        unitCost: 30,
        supplier: 'CMST',
        grn: `G-${n}`,
      }
      expect((await node.api('POST', '/api/stock/receipts', grn)).status).toBe(201)
      await pollDevice(
        async () =>
          (await relay.api<{ inventory: InventoryState }>('GET', `/api/inventory?clinic=${clinic.clinic}`))
            .body.inventory.stock['site-main' as never]?.[BATCH as never] === total,
        `relay settled ${total}`,
      )
    }
    const next = await pollDevice(
      async () => {
        const s = (await node.api<Stock>('GET', '/api/stock')).body
        return s.lines.find((l) => l.batch === BATCH)?.settled === 130 && s.settledRejected === null
          ? s
          : undefined
      },
      'the next settlement believed',
      30_000,
    )
    expect(next.settledVersion).toBeGreaterThan(before.settledVersion ?? 0)
    expect(next.settledAt).not.toBe(FORGED_AT)
  })

  it('a device pins the relay key at registration and refuses a relay that presents another one (RelayKeyMismatchError)', async () => {
    const relayKey = (await relay.api<{ relayKey: string }>('GET', '/api/status')).body.relayKey
    const config = JSON.parse(await readFile(join(node.init.dataDir, 'device.json'), 'utf8')) as {
      relayKey?: string
    }
    expect(config.relayKey).toBe(relayKey)
    // a tablet of another clinic told (--relay-key) to expect another relay: it registers, sees the key, goes no further
    const other = await DeviceProcess.start({
      dataDir: join(dir.path, 'other'),
      name: 'other',
      initClinic: 'Other Clinic',
      relay: relay.syncUrl.replace(/\/sync$/, ''),
      args: ['--relay-key', 'ab'.repeat(32)],
    })
    try {
      const st = await pollDevice(async () => {
        const r = (
          await other.api<{ relay: { lastError: string | null; connected: boolean } }>('GET', '/api/status')
        ).body.relay
        return r.lastError?.includes('RelayKeyMismatchError') ? r : undefined
      }, 'the other relay key refused')
      expect(st.connected).toBe(false)
      expect(other.stderr.join('\n')).toMatch(
        /"event":"relay-key-mismatch","error":"RelayKeyMismatchError","pinned":"(ab)+","offered":"[0-9a-f]{64}"/,
      )
    } finally {
      await other.stop('SIGKILL')
    }
  })
})
