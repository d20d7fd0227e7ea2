import { tempDir, type TempDir } from '@clinic-mesh/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RelayProcess } from './helpers/relay-process.js'
import { urlOf } from './helpers/web-devices.js'
import { openTablet, screenshot, signIn, webSuite } from './helpers/web-browser.js'
import { registerPatient } from './helpers/web-flows.js'
import { countPrints, printToPdf } from './helpers/pdf-text.js'
import { AMOXICILLIN, PARACETAMOL, prescribeAndSign, stockMedicines } from './helpers/web-rx.js'

/** What the screen shows around a document, which must never reach the paper. */
const SCREEN_ONLY = [
  "Today's queue", // navigation
  'Switch user', // status bar
  'Central office',
  'Lot to hand out', // the dispense form
  'Stock entries waiting',
]

const MM = 72 / 25.4

/**
 * Issue 15 item 10: the pharmacy prints a dispense receipt, a medicine label and the day's pick list. Each is printed
 * to PDF by Chromium with the print CSS (as on paper) and its text read back: what the patient and the pharmacy need
 * is on it, and nothing else of the screen.
 */
describe('web: printing from the pharmacy (receipt, label, pick list)', () => {
  const web = webSuite()
  let dir: TempDir
  let relay: RelayProcess

  beforeAll(async () => {
    dir = await tempDir('web-print-relay-')
    relay = await RelayProcess.start(dir.path)
  })
  afterAll(async () => {
    await relay?.stop('SIGKILL')
    await dir?.remove()
  })

  it('prints the label on label paper, the receipt and the pick list on A4, each alone', async () => {
    const clinic = await web.start(['pharmacy'], { relay: `ws://127.0.0.1:${relay.port}` })
    const node = clinic.devices[0]!
    await stockMedicines(node, [AMOXICILLIN, PARACETAMOL])

    const doctor = await openTablet(web.browser, urlOf(node))
    await signIn(doctor, 'Dr Mwale', 'clinician')
    const esther = await registerPatient(doctor, {
      given: 'Esther',
      family: 'Mbewe',
      birthDate: '1979-09-14',
      sex: 'female',
      idNumber: 'MW445566',
      reason: 'productive cough',
    })
    await prescribeAndSign(doctor, [
      { medicine: AMOXICILLIN.name, dose: '500 mg', often: '3 times a day', days: '5 days', quantity: '15' },
      { medicine: PARACETAMOL.name, dose: '1 g', often: '4 times a day', days: '3 days', quantity: '12' },
    ])
    await registerPatient(doctor, {
      given: 'Yamikani',
      family: 'Banda',
      birthDate: '2001-02-03',
      sex: 'male',
      reason: 'headache',
    })
    await prescribeAndSign(doctor, [
      { medicine: PARACETAMOL.name, dose: '1 g', often: 'twice a day', days: '5 days', quantity: '10' },
    ])

    // the pharmacist hands out 10 amoxicillin capsules to Esther
    const page = await openTablet(web.browser, `${urlOf(node)}/#/pharmacy/${esther.pid}/${esther.eid}`)
    await signIn(page, 'Peter Banda', 'pharmacist')
    await page.getByTestId('rx-remaining').getByText('15 of 15 left to hand out', { exact: false }).waitFor()
    await page
      .getByRole('combobox', { name: /^Prescribed medicine/ })
      .selectOption({ label: 'Amoxicillin 250 mg capsule — 500 mg 3 times a day' })
    await page.getByLabel('Lot to hand out').selectOption('itm_amox/AMX-1')
    await page.getByLabel('Quantity (units)').fill('10')
    await page.getByRole('button', { name: 'Record dispense' }).click()
    await page.getByTestId('label').waitFor()
    const prints = await countPrints(page)

    // the label: on a label (62 mm wide), patient, medicine and strength, directions, quantity, lot, expiry, date
    await page.getByRole('button', { name: 'Print label' }).click()
    expect(await prints()).toBe(1)
    const label = await printToPdf(page)
    expect(label.pages).toBe(1)
    expect(Math.round(label.size[0] / MM)).toBe(62)
    for (const want of [
      'Esther Mbewe',
      'Amoxicillin 250 mg capsule — 10 units',
      '500 mg oral 3 times a day for 5 days',
      'Lot AMX-1',
      'exp 2031-01-31',
      'given 20',
    ])
      expect(label.text).toContain(want)
    for (const not of [...SCREEN_ONLY, 'Dispense receipt', 'Pick list']) expect(label.text).not.toContain(not)

    // the receipt of the visit (from what the node wrote onto the chart): on A4, every item with lot and expiry
    const receipt = page.getByTestId('receipt')
    await receipt.getByText('Amoxicillin 250 mg capsule').waitFor({ timeout: 15_000 })
    await page.getByRole('button', { name: 'Print receipt' }).click()
    expect(await prints()).toBe(2)
    const paper = await printToPdf(page)
    expect(paper.size.map((pt) => Math.round(pt / MM))).toEqual([210, 297])
    for (const want of [
      'Dispense receipt',
      'Test Clinic',
      'Esther Mbewe',
      `patient ${esther.pid}`,
      'National ID MW445566',
      'Amoxicillin 250 mg capsule AMX-1 2031-01-31 10 500 mg oral 3 times a day for 5 days',
      'Dispensed by: Peter Banda',
    ])
      expect(paper.text).toContain(want)
    expect(paper.text).toMatch(/Date: \d{4}-\d\d-\d\d/)
    for (const not of [...SCREEN_ONLY, 'Print receipt', 'Print label', '— 10 units'])
      expect(paper.text).not.toContain(not)
    await screenshot(page, 'print-receipt-screen')

    // the day's pick list: what remains on today's signed prescriptions, per patient and per medicine
    await page.getByRole('button', { name: "Today's pick list" }).click()
    const list = page.getByTestId('pick-list')
    await list.getByText('Yamikani Banda').waitFor()
    expect(await list.getByTestId('pick-item').allInnerTexts()).toEqual([
      'Amoxicillin 250 mg capsule\t5',
      'Paracetamol 500 mg tablet\t22',
    ])
    await page.getByRole('button', { name: 'Print pick list' }).click()
    expect(await prints()).toBe(3)
    const pick = await printToPdf(page)
    expect(pick.size.map((pt) => Math.round(pt / MM))).toEqual([210, 297])
    for (const want of [
      'Pick list',
      'Amoxicillin 250 mg capsule 5',
      'Paracetamol 500 mg tablet 22',
      'Esther Mbewe Amoxicillin 250 mg capsule 5 of 15',
      'Paracetamol 500 mg tablet 12 of 12',
      'Yamikani Banda Paracetamol 500 mg tablet 10 of 10 1 g oral twice a day for 5 days',
    ])
      expect(pick.text).toContain(want)
    for (const not of [...SCREEN_ONLY, 'Dispense receipt', 'Lot AMX-1']) expect(pick.text).not.toContain(not)
    await screenshot(page, 'print-pick-list-screen')
  })
})
