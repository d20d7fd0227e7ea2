import type { AutomergeUrl } from '@automerge/automerge-repo'
import { readFile } from 'node:fs/promises'
import type {
  ConflictsReply,
  PrescriptionBalanceReply,
  PrescriptionStatusReply,
  PrescriptionsReply,
} from '@clinic-mesh/contracts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pollDevice } from './helpers/device-process.js'
import { TestDevice } from './helpers/relay-device.js'
import { AMOX, PEOPLE, RxClinic } from './helpers/rx-clinic.js'

/**
 * Seed 000 "prescription edited centrally during an outage" (issue 15 item 8) with real processes: a central
 * clinician finds a signed prescription at the relay and puts it on hold with a reason; a dispense a tablet made
 * offline against it becomes a `prescription-changed` conflict; once the tablet has the relay-signed status it refuses
 * new dispenses by name and shows the status; releasing the hold lets it dispense again. Nobody else can set a status:
 * not a nurse or reviewer at the relay, not a device's log.
 */
interface ErrorReply {
  error: { name: string; message: string }
}

describe('a prescription changed centrally (relay + device node processes)', () => {
  let env: RxClinic
  let rx: { rxId: string; hash: string; lines: Record<string, string> }
  let clinician = ''
  let intruder: TestDevice | undefined
  let n = 0
  const dispense = (quantity: number) =>
    env.node.api<ErrorReply>(
      'POST',
      '/api/stock/dispenses',
      {
        id: `disp-${++n}`,
        patient: env.patient.id,
        prescription: rx.rxId,
        prescriptionHash: rx.hash,
        item: 'itm_amox',
        batch: 'AMX-1',
        line: rx.lines.itm_amox,
        quantity,
        priceSeen: 3,
        stockSeen: 100,
      },
      { as: PEOPLE.pharmacist },
    )
  const balance = async (): Promise<PrescriptionBalanceReply> =>
    (
      await env.node.api<PrescriptionBalanceReply>(
        'GET',
        `/api/patients/${env.patient.id}/prescriptions/${rx.rxId}/dispensed`,
        undefined,
        { as: PEOPLE.pharmacist },
      )
    ).body
  const setStatus = (token: string, body: Record<string, unknown>) =>
    env.relay.api<PrescriptionStatusReply & ErrorReply>(
      'POST',
      `/api/prescriptions/${encodeURIComponent(rx.rxId)}/status`,
      { patient: env.patient.id, ...body },
      undefined,
      token,
    )

  beforeAll(async () => {
    env = await RxClinic.start()
    rx = await env.signRx([AMOX])
    clinician = await env.relayLogin(PEOPLE.clinician)
  }, 240_000)

  afterAll(async () => {
    await intruder?.close().catch(() => undefined)
    await env?.stop()
  })

  it('a central clinician finds the prescription by patient or by id, with the patient name for their clinic', async () => {
    const byPatient = await pollDevice(
      async () => {
        const r = await env.relay.api<PrescriptionsReply>(
          'GET',
          `/api/prescriptions?patient=${env.patient.id}`,
          undefined,
          undefined,
          clinician,
        )
        return r.body.prescriptions?.find((p) => p.prescription === rx.rxId && p.signedHash !== null)
      },
      'the signed prescription at the relay',
      30_000,
    )
    expect(byPatient).toMatchObject({
      patient: env.patient.id,
      patientName: env.patient.name,
      signedHash: rx.hash,
      lines: ['Amoxicillin 250 mg capsule'],
      status: null,
    })
    const byId = await env.relay.api<PrescriptionsReply>(
      'GET',
      `/api/prescriptions?prescription=${rx.rxId}`,
      undefined,
      undefined,
      clinician,
    )
    expect(byId.body.prescriptions.map((p) => p.patient)).toEqual([env.patient.id])
    const neither = await env.relay.api<ErrorReply>(
      'GET',
      '/api/prescriptions',
      undefined,
      undefined,
      clinician,
    )
    expect(neither.status).toBe(400)
  })

  it('nobody but a signed-in clinician or pharmacist sets a status: nurse, reviewer, operator, a reason left out', async () => {
    await env.node.token(PEOPLE.nurse)
    const nurse = await pollDevice(
      async () => {
        const r = await env.relay.login(env.clinicId, PEOPLE.nurse.name, `pw-${PEOPLE.nurse.name}-test`)
        return r.status === 403 ? r : undefined
      },
      'the nurse known at the relay (and refused)',
      30_000,
    )
    expect((nurse.body as unknown as ErrorReply).error.name).toBe('ForbiddenError')
    const reviewer = await env.relayLogin(PEOPLE.reviewer)
    const r = await setStatus(reviewer, { status: 'on-hold', reason: 'x' })
    expect(r.status).toBe(403)
    expect(r.body.error.message).toMatch(/reviewer may not/)
    const op = await setStatus(env.relay.operatorToken, { status: 'cancelled', reason: 'x' })
    expect(op.status).toBe(403)
    const noReason = await setStatus(clinician, { status: 'on-hold', reason: '  ' })
    expect(noReason.status).toBe(400)
    expect(noReason.body.error.message).toMatch(/reason/)
    const onHold = await setStatus(clinician, { status: 'superseded', reason: 'x' })
    expect(onHold.status).toBe(400)
    const inv = await env.relay.api<{ inventory: { prescriptions?: unknown } }>(
      'GET',
      `/api/inventory?clinic=${env.clinicId}`,
    )
    expect(inv.body.inventory.prescriptions).toBeUndefined()
  })

  it('a status written into a device log is refused at the relay and changes nothing', async () => {
    const clinic = JSON.parse(await readFile(env.node.init.clinicFile ?? '', 'utf8')) as {
      clinic: string
      adminSecretKey: string
      adminPublicKeys: string[]
    }
    const status = await env.node.api<{ clinic: { directoryUrl: string } }>('GET', '/api/status')
    const directoryUrl = status.body.clinic.directoryUrl
    intruder = new TestDevice(env.relay.syncUrl, clinic.clinic, 'intruder', {
      secretKey: Buffer.from(clinic.adminSecretKey, 'hex'),
      publicKey: Buffer.from(clinic.adminPublicKeys[0]!, 'hex'),
    })
    expect([200, 201]).toContain((await intruder.register(env.relay, directoryUrl)).status)
    await intruder.joinClinic(directoryUrl as AutomergeUrl)
    const [forged] = intruder.append(
      [
        {
          kind: 'prescription-status',
          prescription: rx.rxId as never,
          signedHash: rx.hash,
          status: 'cancelled',
          reason: 'forged',
        },
      ],
      'admin',
    )
    const c = await pollDevice(
      async () => {
        const r = await env.relay.api<ConflictsReply>('GET', `/api/conflicts?clinic=${env.clinicId}`)
        return r.body.conflicts.find((x) => x.operation.id === forged!.id)
      },
      'the forged status raised at the relay',
      30_000,
    )
    expect(c.kind).toBe('unauthorized')
    const inv = await env.relay.api<{ inventory: { prescriptions?: unknown } }>(
      'GET',
      `/api/inventory?clinic=${env.clinicId}`,
    )
    expect(inv.body.inventory.prescriptions).toBeUndefined()
    // a reviewer cannot apply it by accepting it: only cancel applies (ledger decisions.ts)
    const reviewer = await env.relayLogin(PEOPLE.reviewer)
    const accept = await env.relay.api<ErrorReply>(
      'POST',
      `/api/conflicts/${c.id}/resolution`,
      { decision: { action: 'accept', adjustment: null } },
      undefined,
      reviewer,
    )
    expect(accept.status).toBe(422)
    expect(accept.body.error.name).toBe('ResolutionNotApplicableError')
  })

  it('held while a tablet was offline: its dispense becomes prescription-changed; the tablet then refuses and shows the hold; released, it dispenses', async () => {
    // the tablet goes offline (no relay link) and hands out 5 against the signed prescription
    await env.restartNode(false)
    const offline = await dispense(5)
    expect(offline.status).toBe(201)
    const offlineId = `disp-${n}`
    // meanwhile the central clinician puts it on hold
    const held = await setStatus(clinician, {
      status: 'on-hold',
      reason: 'penicillin allergy reported by phone',
    })
    expect(held.status).toBe(201)
    expect(held.body.prescription.status).toMatchObject({
      status: 'on-hold',
      reason: 'penicillin allergy reported by phone',
    })
    // the relay's log holds ids only: no patient name, no reason text
    const logged = env.relay.stderr.join('\n')
    expect(logged).toMatch(/prescription-status/)
    expect(logged).not.toMatch(/Chikondi|Phiri|penicillin/)
    // back online: the offline dispense reaches the relay and is flagged
    await env.restartNode(true)
    const c = await pollDevice(
      async () => {
        const r = await env.relay.api<ConflictsReply>('GET', `/api/conflicts?clinic=${env.clinicId}`)
        return r.body.conflicts.find((x) => x.operation.id === offlineId)
      },
      'the offline dispense flagged at the relay',
      60_000,
    )
    expect(c).toMatchObject({
      kind: 'prescription-changed',
      authority: {
        prescriptionStatus: 'on-hold',
        prescriptionReason: 'penicillin allergy reported by phone',
      },
    })
    // the tablet has the relay-signed status: it shows it and refuses a new dispense by name
    const central = await pollDevice(
      async () => (await balance()).central ?? undefined,
      'the central status on the tablet',
      60_000,
    )
    expect(central).toMatchObject({ status: 'on-hold', reason: 'penicillin allergy reported by phone' })
    const refused = await dispense(1)
    expect(refused.status).toBe(409)
    expect(refused.body.error.name).toBe('PrescriptionNotActiveError')
    expect(refused.body.error.message).toMatch(/on hold/)
    // released: the tablet dispenses again once it hears of it
    const released = await setStatus(clinician, { status: 'active', reason: 'allergy ruled out' })
    expect(released.status).toBe(201)
    await pollDevice(
      async () => (await balance()).central?.status === 'active',
      'the release on the tablet',
      60_000,
    )
    expect((await dispense(1)).status).toBe(201)
  })
})
