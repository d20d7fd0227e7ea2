import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser } from 'playwright-core'
import { tempDir, type TempDir } from '@clinic-mesh/testing'
import { StandInDevice } from './helpers/web-stand-in-device.js'
import { launchChromium, openTablet, screenshot, signIn } from './helpers/web-browser.js'

describe('web: two tablets on two device nodes share one encounter', () => {
  let browser: Browser
  const dirs: TempDir[] = []
  const nodes: StandInDevice[] = []

  beforeAll(async () => {
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
    for (const n of nodes) await n.kill()
    for (const d of dirs) await d.remove()
  })

  it('triage vitals on one tablet and clinician notes on the other reach both', async () => {
    dirs.push(await tempDir('web-a-'), await tempDir('web-b-'))
    const a = await StandInDevice.start({ dataDir: dirs[0]!.path, name: 'device-a' })
    nodes.push(a)
    const b = await StandInDevice.start({ dataDir: dirs[1]!.path, name: 'device-b', peerSync: a.syncUrl, directoryUrl: a.directoryUrl })
    nodes.push(b)

    const nurse = await openTablet(browser, a.url)
    await signIn(nurse, 'Amina Phiri', 'nurse')
    await nurse.getByRole('navigation').getByRole('link', { name: 'Patients' }).click()
    await screenshot(nurse, 'patients-empty')
    await nurse.getByRole('button', { name: 'Register new patient' }).click()
    await nurse.getByLabel('Given name').fill('Grace')
    await nurse.getByLabel('Family name').fill('Banda')
    await nurse.getByLabel('Date of birth').fill('1984-03-12')
    await nurse.getByLabel('ID number', { exact: true }).fill('MW100001')
    await nurse.getByLabel('Reason for visit (opens a visit now)').fill('fever and cough')
    await screenshot(nurse, 'register')
    await nurse.getByRole('button', { name: 'Register', exact: true }).click()
    await nurse.getByRole('heading', { name: 'Grace Banda' }).waitFor()
    const encounterUrl = nurse.url()
    const hash = encounterUrl.slice(encounterUrl.indexOf('#'))

    await nurse.getByLabel('Temperature (°C)').fill('38.4')
    await nurse.getByLabel('Pulse (beats/min)').fill('104')
    await nurse.getByRole('button', { name: 'Save vital signs' }).click()
    await nurse.getByTestId('vitals').getByText('T 38.4 °C').waitFor()

    const clinician = await openTablet(browser, b.url)
    await signIn(clinician, 'Dr Mwale', 'clinician')
    await clinician.getByRole('main').getByRole('link', { name: /Grace Banda/ }).click({ timeout: 20_000 })
    expect(clinician.url().endsWith(hash)).toBe(true)
    await clinician.getByTestId('vitals').getByText('T 38.4 °C').waitFor({ timeout: 20_000 })
    await clinician.getByTestId('notes').click()
    await clinician.keyboard.type('Fever 3 days. Chest clear.')
    await expect.poll(() => nurse.getByTestId('notes').inputValue(), { timeout: 20_000 }).toBe('Fever 3 days. Chest clear.')
    await nurse.getByRole('button', { name: 'Triage done — send to clinician' }).click()
    await clinician.getByText('✓ Done by Amina Phiri').waitFor({ timeout: 20_000 })
    await screenshot(clinician, 'encounter')
    await clinician.getByRole('navigation').getByRole('link', { name: "Today's queue" }).click()
    await clinician.getByTestId('queue-mine').getByText('Grace Banda').waitFor()
    await screenshot(clinician, 'queue')
  })
})
