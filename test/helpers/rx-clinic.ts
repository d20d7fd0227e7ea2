import {
  createPrescription,
  prescriptionHash,
  type Prescription,
  type RxItemInput,
} from '@clinic-mesh/records'
import { tempDir, type TempDir } from '@clinic-mesh/testing'
import { expect } from 'vitest'
import { DeviceCluster, DeviceProcess, pollDevice, testPassword, type ActAs } from './device-process.js'
import { RelayProcess } from './relay-process.js'
import { SyncClient } from './sync-client.js'

/** The people of a clinic in the prescription tests (created on the device through its admin when first used). */
export const PEOPLE = {
  clerk: { name: 'Front Desk', role: 'registration' },
  clinician: { name: 'Dr Mwale', role: 'clinician' },
  pharmacist: { name: 'Pharm Banda', role: 'pharmacist' },
  nurse: { name: 'Nurse Tembo', role: 'nurse' },
  reviewer: { name: 'rev', role: 'reviewer' },
  admin: { name: 'admin', role: 'admin' },
} as const satisfies Record<string, ActAs>

export const AMOX: RxItemInput = {
  itemId: 'itm_amox',
  drug: 'Amoxicillin 250 mg capsule',
  dose: '500 mg',
  route: 'oral',
  frequency: '3 times a day',
  duration: '5 days',
  quantity: 15,
}

interface ChartReply {
  chart: { prescriptions: Record<string, Prescription> }
}

/**
 * A relay process and one device node ("pharmacy") linked to it, with amoxicillin in the formulary, 100 received and
 * settled, one registered patient with an open visit. `signRx` writes a prescription on a clinician's tablet over
 * /sync and has the node sign it. Shared by the relay prescription-status and reviewer-console tests.
 */
export class RxClinic {
  readonly dir: TempDir
  readonly relay: RelayProcess
  readonly cluster: DeviceCluster
  node: DeviceProcess
  readonly clinicId: string
  readonly patient: { id: string; encounterId: string; name: string }
  readonly #clients: SyncClient[] = []

  private constructor(
    dir: TempDir,
    relay: RelayProcess,
    cluster: DeviceCluster,
    clinicId: string,
    patient: RxClinic['patient'],
  ) {
    this.dir = dir
    this.relay = relay
    this.cluster = cluster
    this.node = cluster.devices[0]!
    this.clinicId = clinicId
    this.patient = patient
  }

  static async start(
    opts: { relayArgs?: string[]; relayEnv?: Record<string, string> } = {},
  ): Promise<RxClinic> {
    const dir = await tempDir('rx-clinic-')
    const relay = await RelayProcess.start(dir.path, 0, opts.relayArgs ?? [])
    const cluster = await DeviceCluster.start(['pharmacy'], { relay: relay.syncUrl.replace(/\/sync$/, '') })
    const node = cluster.devices[0]!
    await node.ready(60_000)
    const status = await node.api<{ clinic: { id: string } }>('GET', '/api/status')
    const f = await node.api(
      'POST',
      '/api/stock/formulary',
      { id: 'f-amox', item: 'itm_amox', name: 'Amoxicillin 250 mg capsule', price: 3 },
      { as: PEOPLE.admin },
    )
    expect(f.status).toBe(201)
    const grn = {
      id: 'grn-amx',
      item: 'itm_amox',
      batch: 'AMX-1',
      expiry: '2031-01-31',
      quantity: 100,
      unitCost: 1,
    }
    expect(
      (await node.api('POST', '/api/stock/receipts', { ...grn, supplier: 'CMST', grn: 'G-1' })).status,
    ).toBe(201)
    await pollDevice(
      async () => {
        const s = await node.api<{ lines: { settled: number }[] }>('GET', '/api/stock')
        return s.body.lines.some((l) => l.settled === 100)
      },
      'formulary and receipt settled by the relay',
      60_000,
    )
    const reg = await node.api<{ id: string; encounterId: string }>(
      'POST',
      '/api/patients',
      { given: 'Chikondi', family: 'Phiri', birthDate: '1988-05-02', sex: 'female', reason: 'cough' },
      { as: PEOPLE.clerk },
    )
    expect(reg.status).toBe(201)
    return new RxClinic(dir, relay, cluster, status.body.clinic.id, {
      id: reg.body.id,
      encounterId: reg.body.encounterId,
      name: 'Chikondi Phiri',
    })
  }

  async chart(): Promise<ChartReply['chart']> {
    const r = await this.node.api<ChartReply>('GET', `/api/patients/${this.patient.id}`, undefined, {
      as: PEOPLE.clinician,
    })
    return r.body.chart
  }

  /** A prescription written on a clinician's tablet over /sync, then signed by the node: its id, hash and line ids. */
  async signRx(items: RxItemInput[]): Promise<{ rxId: string; hash: string; lines: Record<string, string> }> {
    const pid = this.patient.id
    const tab = await SyncClient.open(this.node, PEOPLE.clinician, `web-rx-${Date.now()}`)
    this.#clients.push(tab)
    const actor = { user: 'usr_dr-mwale' as never, device: 'dev_tablet' as never }
    const rxId = await tab.change(
      pid,
      (c) => createPrescription(c, { encounterId: this.patient.encounterId as never, items }, actor).id,
    )
    const hash = prescriptionHash((await tab.chart(pid))!.prescriptions[rxId]!)
    await pollDevice(async () => {
      const rx = (await this.chart()).prescriptions[rxId]
      return rx && prescriptionHash(rx) === hash
    }, 'the draft on the node')
    const signed = await this.node.api<{ hash: string }>(
      'POST',
      `/api/patients/${pid}/prescriptions/${rxId}/sign`,
      { expectedHash: hash },
      { as: PEOPLE.clinician },
    )
    expect(signed.status).toBe(200)
    const rx = (await this.chart()).prescriptions[rxId]!
    const lines = Object.fromEntries(Object.entries(rx.items).map(([line, it]) => [String(it.itemId), line]))
    return { rxId, hash: signed.body.hash, lines }
  }

  /** A relay console session of `who` (created on the device first; polls until the register reached the relay). */
  async relayLogin(who: ActAs): Promise<string> {
    await this.node.token(who)
    const r = await pollDevice(
      async () => {
        const x = await this.relay.login(this.clinicId, who.name, testPassword(who.name))
        return x.status === 200 ? x : undefined
      },
      `${who.name} known at the relay`,
      30_000,
    )
    return r.body.token
  }

  /** Stop the device node and start it again, without (`relay: false`) or with its relay link. */
  async restartNode(relay: boolean): Promise<DeviceProcess> {
    await this.node.stop()
    const { initClinic: _created, relay: _url, ...again } = this.node.init
    this.node = await DeviceProcess.start({
      ...again,
      ...(relay ? { relay: this.relay.syncUrl.replace(/\/sync$/, '') } : {}),
    })
    this.cluster.devices[0] = this.node
    await this.node.ready(60_000)
    return this.node
  }

  async stop(): Promise<void> {
    for (const c of this.#clients) await c.close().catch(() => undefined)
    await this.cluster.stop()
    await this.relay.stop('SIGKILL')
    await this.dir.remove()
  }
}
