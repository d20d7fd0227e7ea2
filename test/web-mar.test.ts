import { userOf, type Chart } from '@clinic-mesh/records'
import { tempDir, type TempDir } from '@clinic-mesh/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pollDevice } from './helpers/device-process.js'
import { RelayProcess } from './helpers/relay-process.js'
import { urlOf } from './helpers/web-devices.js'
import {
  PHONE,
  openTablet,
  overflowOf,
  screenshot,
  signIn,
  smallTouchTargets,
  webSuite,
} from './helpers/web-browser.js'
import { registerPatient } from './helpers/web-flows.js'
import { AMOXICILLIN, prescribeAndSign, stockMedicines } from './helpers/web-rx.js'

const clinician = { name: 'Dr Mwale', role: 'clinician' }

/**
 * Issue 15 item 5 on the screens: a nurse records, against a signed prescription's line, that a dose was given, held
 * or refused; a correction is a new entry linked to the one it corrects (the first stays as written, struck through),
 * "entered in error" withdraws one; the clinician's tablet shows the same record. The node's side (append-only, who
 * may write, a signed line) is test/mar-sync.test.ts.
 */
describe('web: medicines given (MAR) on the visit', () => {
  const web = webSuite()
  let dir: TempDir
  let relay: RelayProcess

  beforeAll(async () => {
    dir = await tempDir('web-mar-relay-')
    relay = await RelayProcess.start(dir.path)
  })
  afterAll(async () => {
    await relay?.stop('SIGKILL')
    await dir?.remove()
  })

  it('a nurse records given and refused doses, corrects one and withdraws one; corrections are linked, never edits', async () => {
    const clinic = await web.start(['ward'], { relay: `ws://127.0.0.1:${relay.port}` })
    const node = clinic.devices[0]!
    await stockMedicines(node, [AMOXICILLIN])

    const doctor = await openTablet(web.browser, urlOf(node))
    await signIn(doctor, clinician.name, clinician.role)
    const { pid, eid } = await registerPatient(doctor, {
      given: 'Esther',
      family: 'Mbewe',
      birthDate: '1979-09-14',
      sex: 'female',
      reason: 'pneumonia',
    })
    const doctorMar = doctor.getByRole('region', { name: 'Medicines given (MAR)' })
    await doctorMar.getByText('No signed prescription on this visit yet', { exact: false }).waitFor()
    await prescribeAndSign(doctor, [
      { medicine: AMOXICILLIN.name, dose: '500 mg', often: '3 times a day', days: '5 days', quantity: '15' },
    ])

    const nurse = await openTablet(web.browser, `${urlOf(node)}/#/encounter/${pid}/${eid}`)
    await signIn(nurse, 'Grace Phiri', 'nurse')
    const mar = nurse.getByRole('region', { name: 'Medicines given (MAR)' })
    const line = mar.getByTestId('mar-line').filter({ hasText: AMOXICILLIN.name })
    await line.getByText('No dose recorded yet.').waitFor()

    // the first dose: given, the prescribed dose and route filled in
    await line.getByRole('button', { name: `Record a dose of ${AMOXICILLIN.name}` }).click()
    let form = nurse.getByRole('form', { name: `Record a dose of ${AMOXICILLIN.name}` })
    expect(await form.getByLabel('Dose').inputValue()).toBe('500 mg')
    expect(await form.getByLabel('Route').inputValue()).toBe('oral')
    expect(await form.getByLabel('Given').isChecked()).toBe(true)
    await form.getByRole('button', { name: 'Save' }).click()
    const entries = line.getByTestId('mar-entry')
    await entries.first().getByText('Given — 500 mg oral').waitFor()

    // a second dose the patient refused, with a note
    await line.getByRole('button', { name: `Record a dose of ${AMOXICILLIN.name}` }).click()
    form = nurse.getByRole('form', { name: `Record a dose of ${AMOXICILLIN.name}` })
    await form.getByLabel('Refused by the patient').check()
    await form.getByLabel('Note (optional)').fill('vomiting, will try again at noon')
    await form.getByRole('button', { name: 'Save' }).click()
    await expect.poll(() => entries.count()).toBe(2)
    await entries.nth(1).getByText('Refused by the patient — 500 mg oral').waitFor()

    // the first was really half a dose: a correction, linked to it; the first stays as written, struck through
    await entries
      .first()
      .getByRole('button', { name: /^Correct Given — 500 mg oral at / })
      .click()
    form = nurse.getByRole('form', { name: `Correct a dose of ${AMOXICILLIN.name}` })
    expect(await form.getByLabel('Entered in error — withdrawn').count()).toBe(1) // only a correction withdraws
    await form.getByLabel('Dose').fill('250 mg')
    await form.getByLabel('Note (optional)').fill('only half the capsules were taken')
    await form.getByRole('button', { name: 'Save correction' }).click()
    const first = entries.first()
    await first.getByTestId('mar-correction').getByText('Given — 250 mg oral').waitFor()
    expect(await first.getByTestId('mar-original').innerText()).toContain('Given — 500 mg oral')
    expect(await first.getByTestId('mar-original').getAttribute('class')).toContain('struck')
    expect(await first.getByTestId('mar-correction').innerText()).toMatch(/^correction\s/)

    // the refused dose was recorded on the wrong patient's line: withdrawn, still on the record
    await entries
      .nth(1)
      .getByRole('button', { name: /^Correct Refused by the patient/ })
      .click()
    form = nurse.getByRole('form', { name: `Correct a dose of ${AMOXICILLIN.name}` })
    await form.getByLabel('Entered in error — withdrawn').check()
    await form.getByRole('button', { name: 'Save correction' }).click()
    const second = entries.nth(1)
    await second
      .getByTestId('mar-correction')
      .getByText('Entered in error — withdrawn', { exact: false })
      .waitFor()
    expect(await second.getAttribute('class')).toContain('withdrawn')
    expect(await second.getByRole('button', { name: /^Correct/ }).count()).toBe(0)
    await screenshot(nurse, 'mar-corrections')

    // the node holds four entries, the two corrections linked to the entries they correct, the originals untouched
    const onNode = await pollDevice(async () => {
      const r = await node.api<{ chart: Chart }>('GET', `/api/patients/${pid}`, undefined, { as: clinician })
      const m = Object.values(r.body.chart.mar)
      return m.length === 4 ? m : undefined
    }, 'four MAR entries on the node')
    const plain = onNode.map((e) => ({
      id: String(e.id),
      dose: String(e.dose),
      status: String(e.status),
      corrects: e.corrects === undefined ? undefined : String(e.corrects),
      by: userOf(e.by),
    }))
    const byDose = (dose: string, status: string) => plain.find((e) => e.dose === dose && e.status === status)
    expect(byDose('250 mg', 'given')?.corrects).toBe(byDose('500 mg', 'given')?.id)
    expect(byDose('500 mg', 'entered-in-error')?.corrects).toBe(byDose('500 mg', 'refused')?.id)
    expect(new Set(plain.map((e) => e.by))).toEqual(new Set(['usr_grace-phiri']))

    // the clinician's tablet shows the same record, corrections linked
    await doctorMar.getByTestId('mar-correction').getByText('Given — 250 mg oral').waitFor()

    // on a phone: the section with a form open fits the width, every control a 44 px touch target
    await nurse.setViewportSize(PHONE)
    await line.getByRole('button', { name: `Record a dose of ${AMOXICILLIN.name}` }).click()
    await nurse.getByRole('form', { name: `Record a dose of ${AMOXICILLIN.name}` }).waitFor()
    expect(await overflowOf(nurse)).toBe(0)
    expect(await smallTouchTargets(mar)).toEqual([])
    await screenshot(nurse, 'mar-phone')
  })
})
