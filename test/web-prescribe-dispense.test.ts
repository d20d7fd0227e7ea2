import { recordAllergy } from '@clinic-mesh/records'
import { tempDir, type TempDir } from '@clinic-mesh/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pollDevice } from './helpers/device-process.js'
import { RelayProcess } from './helpers/relay-process.js'
import { SyncClient } from './helpers/sync-client.js'
import { urlOf } from './helpers/web-devices.js'
import { openTablet, screenshot, signIn, webSuite } from './helpers/web-browser.js'
import { registerPatient } from './helpers/web-flows.js'
import { AMOXICILLIN, PARACETAMOL, fillLine, stockMedicines } from './helpers/web-rx.js'

const nurse = { name: 'Amina Phiri', role: 'nurse' }

describe('web: prescribe from the formulary, dispense against the prescription', () => {
  const web = webSuite()
  let dir: TempDir
  let relay: RelayProcess

  beforeAll(async () => {
    dir = await tempDir('web-rx-relay-')
    relay = await RelayProcess.start(dir.path)
  })
  afterAll(async () => {
    await relay?.stop('SIGKILL')
    await dir?.remove()
  })

  it('coded lines edited and removed while a draft, allergies beside; the pharmacy sees what remains per line', async () => {
    const clinic = await web.start(['pharmacy'], { relay: `ws://127.0.0.1:${relay.port}` })
    const node = clinic.devices[0]!
    await stockMedicines(node, [AMOXICILLIN, PARACETAMOL])

    let page = await openTablet(web.browser, urlOf(node))
    await signIn(page, 'Dr Mwale', 'clinician')
    const { pid } = await registerPatient(page, {
      given: 'Esther',
      family: 'Mbewe',
      birthDate: '1979-09-14',
      sex: 'female',
      reason: 'productive cough',
    })
    // the nurse recorded an allergy on her tablet: it shows beside the prescription
    const nurseTab = await SyncClient.open(node, nurse, 'web-rx-nurse')
    try {
      await nurseTab.change(pid, (c) =>
        recordAllergy(
          c,
          { substance: 'penicillin', severity: 'severe', reaction: 'rash' },
          {
            user: 'usr_amina-phiri' as never,
            device: 'dev_tablet' as never,
          },
        ),
      )
      await pollDevice(async () => {
        const r = await node.api<{ chart: { patient: { allergies: object } } }>('GET', `/api/patients/${pid}`)
        return Object.keys(r.body.chart.patient.allergies).length === 1
      }, 'the allergy on the node')
    } finally {
      await nurseTab.close()
    }
    await page.getByTestId('rx-allergies').getByText('penicillin (severe: rash)').waitFor()

    await page.getByRole('button', { name: 'Start a prescription' }).click()
    await fillLine(page, 'Add a medicine', {
      medicine: 'Amoxicillin 250 mg capsule',
      dose: '500 mg',
      often: '3 times a day',
      days: '5 days',
      quantity: '20',
    })
    await page.getByRole('button', { name: 'Add medicine' }).click()
    await fillLine(page, 'Add a medicine', {
      medicine: 'Paracetamol 500 mg tablet',
      dose: '1 g',
      often: '4 times a day',
      days: '3 days',
      quantity: '12',
    })
    await page.getByRole('button', { name: 'Add medicine' }).click()
    const lines = page.getByTestId('rx-line')
    await expect.poll(() => lines.count()).toBe(2)
    // a draft: one line removed, the other's quantity changed
    await page.getByRole('button', { name: 'Remove Paracetamol 500 mg tablet' }).click()
    await expect.poll(() => lines.count()).toBe(1)
    await page.getByRole('button', { name: 'Change Amoxicillin 250 mg capsule' }).click()
    await fillLine(page, 'Change a medicine', { quantity: '15' })
    await page.getByRole('button', { name: 'Save changes' }).click()
    await lines.getByText('15 units').waitFor()
    await screenshot(page, 'prescription-draft')
    await page.getByRole('button', { name: 'Sign prescription' }).click()
    await page.getByTestId('prescription').getByText('signed', { exact: true }).waitFor()
    expect(await page.getByRole('button', { name: /^Remove / }).count()).toBe(0)

    // the pharmacist, on the pharmacy's tablet, opens the visit's pharmacy screen
    const href = await page.getByRole('link', { name: 'Go to pharmacy for this visit' }).getAttribute('href')
    const clinicianPage = page
    page = await openTablet(web.browser, `${urlOf(node)}${href ?? ''}`)
    await signIn(page, 'Peter Banda', 'pharmacist')
    const remaining = page.getByTestId('rx-remaining')
    // polled as text, so a failure says what the pharmacy screen showed instead (once under load: nothing in 30 s)
    await expect
      .poll(() => remaining.innerText().catch((err: unknown) => `no remaining line: ${String(err)}`), {
        timeout: 30_000,
      })
      .toMatch(/\b15 of 15 left to hand out$/)
    expect(await page.getByRole('combobox', { name: /^Prescribed medicine/ }).inputValue()).toMatch(/^itm_/)
    // only lots of the prescribed medicine are offered
    const lotValues = await page
      .getByLabel('Lot to hand out')
      .locator('option')
      .evaluateAll((os) => os.map((o) => (o as unknown as { value: string }).value))
    expect(lotValues).toEqual(['', 'itm_amox/AMX-1'])
    await page.getByLabel('Lot to hand out').selectOption('itm_amox/AMX-1')
    await page.getByLabel('Quantity (units)').fill('10')
    await page.getByRole('button', { name: 'Record dispense' }).click()
    // the node counts the dispense against the line (the form asks it every 5 s and after each dispense)
    await expect
      .poll(() => remaining.innerText(), { timeout: 15_000 })
      .toMatch(/ 5 of 15 left to hand out \(10 handed out\)$/)
    // what was handed out is on the chart's pharmacy section
    await page
      .getByTestId('handed-out')
      .getByText('Amoxicillin 250 mg capsule — 10 units, lot AMX-1', { exact: true })
      .waitFor({ timeout: 15_000 })
    // more than remains: the tablet says the central office will check it
    await page.getByLabel('Lot to hand out').selectOption('itm_amox/AMX-1')
    await page.getByLabel('Quantity (units)').fill('6')
    await page.getByTestId('over-prescription').getByText('Only 5 left to hand out').waitFor()
    await screenshot(page, 'pharmacy-remaining')
    await page.getByRole('button', { name: 'Pharmacy done — close the visit' }).click()
    await page.getByText('✓ Done by Peter Banda').waitFor()
    // the clinician's tablet sees the visit closed by the pharmacy, with what was handed out
    await clinicianPage
      .getByTestId('handed-out')
      .getByText('Amoxicillin 250 mg capsule — 10 units, lot AMX-1', { exact: true })
      .waitFor({ timeout: 15_000 })
    await clinicianPage.getByText('✓ Done by Peter Banda').waitFor()
  })
})
