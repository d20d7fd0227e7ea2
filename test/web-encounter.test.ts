import { describe, expect, it } from 'vitest'
import type { DeviceProcess } from './helpers/device-process.js'
import { meshed, notesOf, urlOf } from './helpers/web-devices.js'
import { webSuite, openTablet, screenshot, signIn } from './helpers/web-browser.js'
import { fillRegistration, submitRegistration } from './helpers/web-flows.js'

describe('web: two tablets on two device nodes share one encounter', () => {
  const web = webSuite()

  it('triage vitals on one tablet and clinician notes on the other reach both', async () => {
    const t0 = performance.now()
    const clinic = await web.start(['triage-room', 'consult-room'])
    const [a, b] = clinic.devices as [DeviceProcess, DeviceProcess]
    await Promise.all([meshed(a, 1), meshed(b, 1)]) // two processes, found each other by mDNS
    console.warn(`two device nodes up and meshed in ${(performance.now() - t0).toFixed(0)} ms`)

    const nurse = await openTablet(web.browser, urlOf(a))
    await signIn(nurse, 'Amina Phiri', 'nurse')
    // these nodes run without --relay: nothing is wrong, so no red "not reachable"
    await nurse.getByTestId('status-relay').getByText('not set up on this device').waitFor()
    await screenshot(nurse, 'patients-empty')
    const grace = {
      given: 'Grace',
      family: 'Banda',
      birthDate: '1984-03-12',
      sex: 'female',
      idNumber: 'MW100001',
      reason: 'fever and cough',
    } as const
    await fillRegistration(nurse, grace)
    await screenshot(nurse, 'register')
    await submitRegistration(nurse, grace)
    const encounterUrl = nurse.url()
    const hash = encounterUrl.slice(encounterUrl.indexOf('#'))
    const [, pid = '', eid = ''] = /#\/encounter\/([^/]+)\/([^/]+)$/.exec(encounterUrl) ?? []

    await nurse.getByLabel('Temperature (°C)').fill('38.4')
    await nurse.getByLabel('Pulse (beats/min)').fill('104')
    await nurse.getByRole('button', { name: 'Save vital signs' }).click()
    await nurse.getByTestId('vitals').getByText('T 38.4 °C').waitFor()
    // an adult's fever and fast pulse are highlighted, with the reason for a screen reader
    expect(await nurse.getByTestId('abnormal-vital').allInnerTexts()).toEqual([
      expect.stringContaining('T 38.4 °C ↑'),
      expect.stringContaining('pulse 104 ↑'),
    ])

    const clinician = await openTablet(web.browser, urlOf(b))
    await signIn(clinician, 'Dr Mwale', 'clinician')
    await clinician
      .getByRole('main')
      .getByRole('link', { name: /Grace Banda/ })
      .click({ timeout: 20_000 })
    expect(clinician.url().endsWith(hash)).toBe(true)
    await clinician.getByTestId('vitals').getByText('T 38.4 °C').waitFor({ timeout: 20_000 })
    await clinician.getByTestId('notes').click()
    const typed = performance.now()
    await clinician.keyboard.type('Fever 3 days. Chest clear.')
    await expect
      .poll(() => nurse.getByTestId('notes').inputValue(), { timeout: 20_000 })
      .toBe('Fever 3 days. Chest clear.')
    console.warn(
      `note typed on tablet B seen on tablet A ${(performance.now() - typed).toFixed(0)} ms after typing began`,
    )
    // both node processes hold the note: tablet B → node B → libp2p → node A → tablet A
    for (const node of [a, b])
      await expect
        .poll(() => notesOf(node, decodeURIComponent(pid), decodeURIComponent(eid)), { timeout: 10_000 })
        .toBe('Fever 3 days. Chest clear.')
    await nurse.getByRole('button', { name: 'Triage done — send to clinician' }).click()
    await clinician.getByText('✓ Done by Amina Phiri').waitFor({ timeout: 20_000 })
    await screenshot(clinician, 'encounter')

    // no relay and no settled medicines list on these nodes: a prescription is written from the formulary only, so
    // there is nothing to prescribe yet and nothing to sign; the tablet says why
    await clinician.getByRole('button', { name: 'Start a prescription' }).click()
    await clinician.getByText('This tablet has no formulary yet').waitFor()
    expect(await clinician.getByRole('button', { name: 'Sign prescription' }).isDisabled()).toBe(true)
    expect(await clinician.getByTestId('prescription').getByText('draft — not signed').count()).toBe(1)
    await clinician.getByRole('navigation').getByRole('link', { name: "Today's queue" }).click()
    await clinician.getByTestId('queue-mine').getByText('Grace Banda').waitFor()
    await screenshot(clinician, 'queue')
  })
})
