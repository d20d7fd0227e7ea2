import { describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { urlOf } from './helpers/web-devices.js'
import { TEST_ADMIN_PASSWORD } from './helpers/device-process.js'
import {
  PHONE,
  overflowOf as overflow,
  screenshot,
  signIn,
  signInWith,
  webSuite,
} from './helpers/web-browser.js'
import { submitRegistration } from './helpers/web-flows.js'

async function heightOf(page: Page, selector: string): Promise<number> {
  return (await page.locator(selector).first().boundingBox())?.height ?? 0
}

/**
 * A registration clerk on a phone: every screen fits the width (nothing to scroll sideways), the status bar and the
 * navigation leave most of the screen to the work, a registration form names every missing field at once in the
 * clinic's words, and the visit's header carries the national ID the desk checks against.
 */
describe('web on a phone (390 px)', () => {
  const suite = webSuite()

  it('fits every screen, keeps the bars small, reports every invalid field at once, shows the national ID', async () => {
    const clinic = await suite.start(['front-desk'])
    const context = await suite.browser.newContext({
      viewport: PHONE,
      deviceScaleFactor: 1,
      hasTouch: true,
      isMobile: true,
    })
    const page = await context.newPage()
    page.setDefaultTimeout(30_000)
    await page.goto(urlOf(clinic.devices[0]!))
    await signIn(page, 'Joseph Kamanga', 'registration')
    const widths: Record<string, number> = {}

    // the bars: one status line (details on demand) and one line of screens
    const bars =
      (await heightOf(page, '[data-testid="sync-status"]')) +
      (await heightOf(page, 'nav[aria-label="Screens"]'))
    expect(bars).toBeLessThanOrEqual(160) // was 310 of 844 px; ~150 now (status line, user line, screens)
    await expect.poll(() => page.getByTestId('status-summary').innerText()).toContain('Connected')
    expect(await page.getByTestId('status-peers').isVisible()).toBe(false)
    await page.getByRole('button', { name: 'Details' }).click()
    await page.getByTestId('status-peers').waitFor()
    widths['status details'] = await overflow(page)
    // no settlement yet (no central office on this clinic): "not yet", never the epoch
    const settlement = await page.getByTestId('status-settlement').innerText()
    expect(settlement).toContain('last confirmed: not yet')
    expect(settlement).not.toContain('1970')
    await page.getByRole('button', { name: 'Less' }).click()

    widths['queue'] = await overflow(page)
    await page.getByRole('navigation').getByRole('link', { name: 'Patients' }).click()
    await page.getByRole('button', { name: 'Register new patient' }).click()
    widths['registration form'] = await overflow(page)

    // nothing filled in: every missing field at once, each beside its words, each input marked
    await page.getByRole('button', { name: 'Register', exact: true }).click()
    const alert = page.getByRole('alert').filter({ hasText: 'Please correct 3 things' })
    await alert.waitFor()
    const lines = await alert.getByRole('listitem').allInnerTexts()
    expect(lines).toEqual([
      'Date of birth is required',
      'Sex is required',
      'Given name or a family name is required',
    ])
    expect(await page.getByLabel('Date of birth').getAttribute('aria-invalid')).toBe('true')
    expect(await page.getByLabel('Sex').getAttribute('aria-invalid')).toBe('true')
    widths['registration errors'] = await overflow(page)
    await screenshot(page, 'phone-registration-errors')

    const patient = {
      given: 'Chisomo',
      family: 'Phiri',
      birthDate: '1990-04-02',
      sex: 'female' as const,
      idNumber: 'MW778899',
      reason: 'cough for two weeks',
    }
    await page.getByLabel('Given name').fill(patient.given)
    await page.getByLabel('Family name').fill(patient.family)
    await page.getByLabel('Date of birth').fill(patient.birthDate)
    await page.getByLabel('Sex').selectOption(patient.sex)
    await page.getByLabel('ID number', { exact: true }).fill(patient.idNumber)
    await page.getByLabel('Reason for visit (opens a visit now)').fill(patient.reason)
    await submitRegistration(page, patient)
    expect(await page.getByTestId('patient-ids').innerText()).toBe('National ID MW778899')
    // the visit's MAR section (no signed prescription yet: test/web-mar.test.ts fills it on a phone)
    const mar = page.getByRole('region', { name: 'Medicines given (MAR)' })
    await mar.getByText('No signed prescription on this visit yet', { exact: false }).waitFor()
    widths['visit'] = await overflow(page)
    await screenshot(page, 'phone-visit')

    await page.getByRole('navigation').getByRole('link', { name: 'Pharmacy' }).click()
    await page.getByRole('heading', { name: 'Stock', exact: true }).waitFor()
    widths['pharmacy'] = await overflow(page)
    await page.getByRole('button', { name: "Today's pick list" }).click()
    await page.getByTestId('pick-list').getByText('Nothing left to hand out today.').waitFor()
    widths['pick list'] = await overflow(page)
    await screenshot(page, 'phone-pharmacy')
    await page.getByRole('button', { name: 'Details' }).click() // the password link waits in the details
    await page.getByRole('link', { name: 'My password' }).click()
    await page
      .getByRole('heading', { name: /password/i })
      .first()
      .waitFor()
    widths['password'] = await overflow(page)

    // the clinic admin on a phone: both admin panels and the join code fit the width too
    await page.getByRole('button', { name: 'Switch user' }).click()
    await signInWith(page, 'admin', TEST_ADMIN_PASSWORD)
    await page.getByRole('navigation', { name: 'Screens' }).getByRole('link', { name: 'Admin' }).click()
    await page.getByTestId('users-table').locator('tr[data-user="usr_admin"]').waitFor()
    widths['admin users'] = await overflow(page)
    await screenshot(page, 'phone-admin-users')
    await page
      .getByRole('navigation', { name: 'Admin sections' })
      .getByRole('link', { name: 'Devices' })
      .click()
    await page.getByRole('heading', { name: 'Devices of the clinic' }).waitFor()
    await page
      .getByTestId('devices-table')
      .locator('tr[data-device="front-desk"]')
      .getByText('This device')
      .waitFor()
    await page.getByRole('button', { name: 'Make a join code' }).click()
    await page.getByTestId('join-command').waitFor()
    widths['admin devices'] = await overflow(page)
    await screenshot(page, 'phone-admin-devices')

    expect(widths).toEqual(Object.fromEntries(Object.keys(widths).map((k) => [k, 0])))
    await context.close()
  })
})
