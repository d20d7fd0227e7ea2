import { ImmutableString } from '@automerge/automerge'
import {
  correctAdministration,
  createPrescription,
  prescriptionHash,
  recordAdministration,
  str,
  type Chart,
  type MarInput,
  type RxItemInput,
} from '@clinic-mesh/records'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempDir, type TempDir } from '@clinic-mesh/testing'
import { DeviceCluster, pollDevice, type DeviceProcess } from './helpers/device-process.js'
import { RelayProcess } from './helpers/relay-process.js'
import { SyncClient } from './helpers/sync-client.js'

/**
 * Issue 15 item 5 at the node: what a browser writes to the medication administration record over `/sync` is checked
 * by the device node (no document trusts its writer). Each refused case is a stock automerge-repo client holding a
 * session, as a modified page or a script in a nurse's (or pharmacist's) browser would send it.
 */
const clinician = { name: 'Dr Mwale', role: 'clinician' }
const nurse = { name: 'Grace Phiri', role: 'nurse' }
const pharmacist = { name: 'Peter Banda', role: 'pharmacist' }
const actor = (user: string) => ({ user: user as never, device: 'dev_web_tab' as never })
const grace = actor('usr_grace-phiri')

const AMOX: RxItemInput = {
  itemId: 'itm_amox',
  drug: 'Amoxicillin 250 mg capsule',
  dose: '500 mg',
  route: 'oral',
  frequency: '3 times a day',
  duration: '5 days',
  quantity: 15,
}

interface Refusal {
  type: string
  name: string
  message: string
}
interface ChartReply {
  chart: Chart
}

describe('MAR written by a browser: checked at the device node', () => {
  let dir: TempDir
  let relay: RelayProcess
  let cluster: DeviceCluster
  let node: DeviceProcess
  let pid = ''
  let eid = ''
  let rxId = ''
  let lineId = ''
  let draftId = ''
  const clients: SyncClient[] = []
  const open = async (as: { name: string; role: string }): Promise<SyncClient> => {
    const c = await SyncClient.open(node, as, `web-mar-${clients.length}-${Date.now()}`)
    clients.push(c)
    return c
  }
  const marOnNode = async (): Promise<Chart['mar']> =>
    (await node.api<ChartReply>('GET', `/api/patients/${pid}`, undefined, { as: clinician })).body.chart.mar
  const dose = (extra: Partial<MarInput> = {}): MarInput => ({
    drug: AMOX.drug,
    dose: '500 mg',
    route: 'oral',
    status: 'given',
    administeredAt: new Date().toISOString(),
    prescriptionId: rxId,
    itemId: lineId,
    ...extra,
  })

  /** The node's refusal of this client's next change to the patient's bucket (an ephemeral message). */
  async function refusalOf(c: SyncClient, fn: (chart: Chart) => void): Promise<Refusal> {
    const handle = await c.store.bucketFor(pid)
    const refused = new Promise<Refusal>((resolve) => {
      handle.on('ephemeral-message', ({ message }) => {
        const m = message as Refusal
        if (m?.type === 'clinic-mesh/refused') resolve(m)
      })
    })
    await c.change(pid, fn)
    return refused
  }

  beforeAll(async () => {
    dir = await tempDir('mar-sync-')
    relay = await RelayProcess.start(dir.path)
    // online (the relay link is up): the policy lets a clinician sign without a settled knowledge base
    cluster = await DeviceCluster.start(['ward'], {
      relay: `ws://127.0.0.1:${relay.port}`,
      env: { CLINIC_MESH_LOGIN_DELAY_MS: '0' },
    })
    node = cluster.devices[0]!
    await node.ready(60_000)
    await pollDevice(
      async () =>
        (await node.api<{ relay: { connected: boolean } }>('GET', '/api/status')).body.relay.connected,
      'relay link up',
      30_000,
    )
    const made = await node.api<{ id: string; encounterId: string }>(
      'POST',
      '/api/patients',
      { given: 'Esther', family: 'Mbewe', birthDate: '1979-09-14', sex: 'female', reason: 'pneumonia' },
      { as: clinician },
    )
    expect(made.status).toBe(201)
    pid = made.body.id
    eid = made.body.encounterId
    const tab = await open(clinician)
    rxId = await tab.change(
      pid,
      (c) => createPrescription(c, { encounterId: eid as never, items: [AMOX] }, actor('usr_dr-mwale')).id,
    )
    draftId = await tab.change(
      pid,
      (c) => createPrescription(c, { encounterId: eid as never, items: [AMOX] }, actor('usr_dr-mwale')).id,
    )
    const draft = (await tab.chart(pid))!.prescriptions[rxId]!
    lineId = Object.keys(draft.items)[0]!
    const hash = prescriptionHash(draft)
    await pollDevice(async () => {
      const r = await node.api<ChartReply>('GET', `/api/patients/${pid}`, undefined, { as: clinician })
      const rx = r.body.chart.prescriptions[rxId]
      return (
        rx !== undefined && prescriptionHash(rx) === hash && r.body.chart.prescriptions[draftId] !== undefined
      )
    }, 'the drafts on the node')
    const signed = await node.api(
      'POST',
      `/api/patients/${pid}/prescriptions/${rxId}/sign`,
      {
        expectedHash: hash,
      },
      { as: clinician },
    )
    expect(signed.status).toBe(200)
  }, 180_000)

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()))
    await cluster?.stop()
    await relay?.stop('SIGKILL')
    await dir?.remove()
  })

  it("a nurse's dose and its correction land; the correction is a new entry linked to the first", async () => {
    const tab = await open(nurse)
    await pollDevice(
      async () => (await tab.chart(pid))?.prescriptions[rxId]?.signed !== undefined,
      'the signed prescription on the nurse tablet',
    )
    const first = await tab.change(pid, (c) => recordAdministration(c, dose({ dose: '250 mg' }), grace))
    const fix = await tab.change(pid, (c) => correctAdministration(c, first, dose(), grace))
    const mar = await pollDevice(async () => {
      const m = await marOnNode()
      return m[first] && m[fix] ? m : undefined
    }, 'both entries on the node')
    expect(str(mar[first]!.dose)).toBe('250 mg') // the original is kept as written
    expect([str(mar[fix]!.corrects), str(mar[fix]!.dose)]).toEqual([first, '500 mg'])
  })

  it('refuses a MAR entry changed after it was written: the node keeps it as it was', async () => {
    const tab = await open(nurse)
    const id = await tab.change(pid, (c) => recordAdministration(c, dose({ status: 'held' }), grace))
    await pollDevice(async () => (await marOnNode())[id] !== undefined, 'the entry on the node')
    const r = await refusalOf(tab, (c) => {
      c.mar[id]!.status = new ImmutableString('given') as never
    })
    expect(r.name).toBe('ForbiddenWriteError')
    expect(r.message).toMatch(/append-only/)
    expect(str((await marOnNode())[id]!.status)).toBe('held')
  })

  it('refuses a MAR entry from a role that may not record medicines given (a pharmacist)', async () => {
    const tab = await open(pharmacist)
    const r = await refusalOf(tab, (c) => {
      recordAdministration(c, dose({ id: 'mar_by_pharmacist' }), actor('usr_peter-banda'))
    })
    expect(r.name).toBe('ForbiddenWriteError')
    expect(r.message).toMatch(/a pharmacist user may not record medicines given/)
    expect((await marOnNode())['mar_by_pharmacist']).toBeUndefined()
  })

  it('refuses a dose not against a signed prescription line, under another name, or correcting nothing', async () => {
    const cases: [string, (c: Chart) => void, RegExp][] = [
      [
        'mar_draft',
        (c) => recordAdministration(c, dose({ id: 'mar_draft', prescriptionId: draftId }), grace),
        /signed prescription/,
      ],
      [
        'mar_noline',
        (c) => recordAdministration(c, dose({ id: 'mar_noline', itemId: 'line_nope' }), grace),
        /has no line line_nope/,
      ],
      [
        'mar_other_drug',
        (c) => recordAdministration(c, dose({ id: 'mar_other_drug', drug: 'Morphine 10 mg' }), grace),
        /not the one prescribed/,
      ],
      [
        'mar_as_doctor',
        (c) => recordAdministration(c, dose({ id: 'mar_as_doctor' }), actor('usr_dr-mwale')),
        /not the signed-in user/,
      ],
      [
        'mar_orphan',
        (c) => {
          // a correction of an entry that is not there (made around the helper, which would refuse it)
          recordAdministration(c, dose({ id: 'mar_orphan' }), grace)
          ;(c.mar['mar_orphan'] as { corrects?: unknown }).corrects = new ImmutableString('mar_nothing')
        },
        /corrects an entry that does not exist/,
      ],
    ]
    for (const [id, fn, why] of cases) {
      const tab = await open(nurse) // a refused change stays in its sender's copy: a clean tab per case
      await pollDevice(
        async () => (await tab.chart(pid))?.prescriptions[rxId]?.signed !== undefined,
        'the signed prescription on the nurse tablet',
      )
      const r = await refusalOf(tab, fn)
      expect([id, r.name]).toEqual([id, 'InvalidMarEntryError'])
      expect(r.message).toMatch(why)
    }
    const mar = await marOnNode()
    for (const [id] of cases) expect(mar[id], id).toBeUndefined()
  })
})
