import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser } from 'playwright-core'
import { tempDir, type TempDir } from '@clinic-mesh/testing'
import { StandInDevice } from './helpers/web-stand-in-device.js'
import { launchChromium, openTablet, screenshot, signIn } from './helpers/web-browser.js'

describe('web: pharmacy', () => {
  let browser: Browser
  let dir: TempDir
  let node: StandInDevice | undefined

  beforeAll(async () => {
    browser = await launchChromium()
    dir = await tempDir('web-pharmacy-')
  })
  afterAll(async () => {
    await browser?.close()
    await node?.kill()
    await dir?.remove()
  })

  it('a dispense against a signed prescription shows as tentative beside settled stock', async () => {
    node = await StandInDevice.start({ dataDir: dir.path, name: 'device-a' })
    const page = await openTablet(browser, node.url)
    await signIn(page, 'Dr Mwale', 'clinician')
    await page.getByRole('navigation').getByRole('link', { name: 'Patients' }).click()
    await page.getByRole('button', { name: 'Register new patient' }).click()
    await page.getByLabel('Given name').fill('Mary')
    await page.getByLabel('Family name').fill('Chirwa')
    await page.getByLabel('Date of birth').fill('2019-02-11')
    await page.getByLabel('Reason for visit (opens a visit now)').fill('ear pain')
    await page.getByRole('button', { name: 'Register', exact: true }).click()
    await page.getByRole('button', { name: 'Start a prescription' }).click()
    await page.getByRole('textbox', { name: 'Medicine' }).fill('Amoxicillin 250 mg caps')
    await page.getByLabel('Dose', { exact: true }).fill('250 mg')
    await page.getByLabel('How often').fill('3 times a day')
    await page.getByLabel('For how long').fill('7 days')
    await page.getByRole('button', { name: 'Add medicine' }).click()
    await page.getByRole('button', { name: 'Sign prescription' }).click()
    await page.getByTestId('prescription').getByText('signed', { exact: true }).waitFor()

    // shift change on the same tablet: the pharmacist takes over
    await page.getByRole('button', { name: 'Switch user' }).click()
    await signIn(page, 'Peter Banda', 'pharmacist')
    await page.getByRole('link', { name: 'Go to pharmacy for this visit' }).click()
    await page.getByTestId('stock-table').getByText('AMX-2611').waitFor()
    await screenshot(page, 'pharmacy-before')
    await page.getByLabel('Lot to hand out').selectOption({ label: 'Amoxicillin 250 mg caps — lot AMX-2611, exp 2026-11-30 (200 left)' })
    await page.getByLabel('Quantity (units)').fill('21')
    await page.getByRole('button', { name: 'Record dispense' }).click()

    const row = page.getByTestId('stock-table').getByRole('row').filter({ hasText: 'AMX-2611' })
    await expect.poll(() => row.getByTestId('tentative').innerText()).toMatch(/^179\s*-21 not confirmed$/)
    expect(await row.getByTestId('settled').innerText()).toBe('200')
    await page.getByTestId('label').getByText('250 mg oral 3 times a day for 7 days').waitFor()
    await expect.poll(() => page.getByTestId('status-settlement').innerText(), { timeout: 5000 }).toContain('waiting for the central office: 1')
    await screenshot(page, 'pharmacy-after')
    await page.emulateMedia({ media: 'print' })
    await screenshot(page, 'label-print')
    await page.emulateMedia({ media: 'screen' })

    // the device node restarts: the next dispense waits on the tablet and is sent once, when it is back
    await node.kill()
    await page.getByText('Not connected to the clinic device').waitFor()
    await page.getByLabel('Lot to hand out').selectOption({ label: 'Amoxicillin 250 mg caps — lot AMX-2611, exp 2026-11-30 (179 left)' })
    await page.getByLabel('Quantity (units)').fill('9')
    await page.getByRole('button', { name: 'Record dispense' }).click()
    await page.getByTestId('outbox').getByText('1 dispense saved on this tablet').waitFor()
    await page.getByTestId('status-device').getByText('1 dispense waiting on this tablet.').waitFor()
    const row2 = page.getByTestId('stock-table').getByRole('row').filter({ hasText: 'AMX-2611' })
    expect(await row2.getByTestId('tentative').innerText()).toMatch(/^170\s*-30 not confirmed$/) // counts what waits here
    await screenshot(page, 'pharmacy-offline')
    node = await node.restart()
    await page.getByTestId('outbox').waitFor({ state: 'detached', timeout: 20_000 })
    await expect.poll(() => row.getByTestId('tentative').innerText(), { timeout: 10_000 }).toMatch(/^170\s*-30 not confirmed$/)
  })
})
