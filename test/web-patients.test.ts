import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser } from 'playwright-core'
import { tempDir, type TempDir } from '@clinic-mesh/testing'
import { StandInDevice } from './helpers/web-stand-in-device.js'
import { launchChromium, openTablet, screenshot, signIn } from './helpers/web-browser.js'

describe('web: patients', () => {
  let browser: Browser
  let dir: TempDir
  let node: StandInDevice | undefined

  beforeAll(async () => {
    browser = await launchChromium()
    dir = await tempDir('web-patients-')
  })
  afterAll(async () => {
    await browser?.close()
    await node?.kill()
    await dir?.remove()
  })

  it('finds a registered patient and warns before registering the same person twice', async () => {
    node = await StandInDevice.start({ dataDir: dir.path, name: 'device-a' })
    const page = await openTablet(browser, node.url)
    await screenshot(page, 'user-picker')
    await signIn(page, 'Joseph Kamanga', 'registration')
    await page.getByRole('navigation').getByRole('link', { name: 'Patients' }).click()
    await page.getByRole('button', { name: 'Register new patient' }).click()
    await page.getByLabel('Given name').fill('Grace')
    await page.getByLabel('Family name').fill('Banda')
    await page.getByLabel('Date of birth').fill('1984-03-12')
    await page.getByLabel('ID number', { exact: true }).fill('MW100001')
    await page.getByRole('button', { name: 'Register', exact: true }).click()

    const search = page.getByLabel('Find a patient by name or ID')
    await page.getByTestId('search-results').getByText('Grace Banda').waitFor() // shown once registered
    await search.fill('MW100001')
    await page.getByTestId('search-results').getByText('Grace Banda').waitFor()
    await search.fill('gra ban')
    await page.getByTestId('search-results').getByText('Grace Banda').waitFor()
    await screenshot(page, 'patients-search')

    // the same person again, typed slightly differently: warned, and not registered until confirmed
    await search.fill('')
    await page.getByRole('button', { name: 'Register new patient' }).click()
    await page.getByLabel('Given name').fill('grace')
    await page.getByLabel('Family name').fill('BANDA')
    await page.getByLabel('Date of birth').fill('1984-03-12')
    await page.getByTestId('duplicate-warning').getByText('Grace Banda').waitFor()
    await screenshot(page, 'register-duplicate')
    await page.getByRole('button', { name: 'Register', exact: true }).click()
    await page.getByRole('alert').filter({ hasText: 'Check the possible duplicates above first.' }).waitFor()
    await search.fill('banda')
    await expect.poll(() => page.getByTestId('search-results').getByRole('listitem').count()).toBe(1)
  })
})
