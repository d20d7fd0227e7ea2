import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { tempDir, type TempDir } from '@clinic-mesh/testing'
import { StandInDevice } from './helpers/web-stand-in-device.js'
import { launchChromium, openTablet, screenshot, signIn } from './helpers/web-browser.js'

async function registerVisit(page: Page, given: string, family: string, reason: string): Promise<{ pid: string; eid: string }> {
  await page.getByRole('navigation').getByRole('link', { name: 'Patients' }).click()
  await page.getByRole('button', { name: 'Register new patient' }).click()
  await page.getByLabel('Given name').fill(given)
  await page.getByLabel('Family name').fill(family)
  await page.getByLabel('Date of birth').fill('1990-07-01')
  await page.getByLabel('Reason for visit (opens a visit now)').fill(reason)
  await page.getByRole('button', { name: 'Register', exact: true }).click()
  await page.getByRole('heading', { name: `${given} ${family}` }).waitFor()
  const [, pid = '', eid = ''] = /#\/encounter\/([^/]+)\/([^/]+)$/.exec(page.url()) ?? []
  return { pid: decodeURIComponent(pid), eid: decodeURIComponent(eid) }
}

describe('web: a draft note survives a device-node restart', () => {
  let browser: Browser
  let dir: TempDir
  let node: StandInDevice | undefined

  beforeAll(async () => {
    browser = await launchChromium()
    dir = await tempDir('web-restart-')
  })
  afterAll(async () => {
    await browser?.close()
    await node?.kill()
    await dir?.remove()
  })

  it('keeps what was typed while the node was down and delivers it after', async () => {
    node = await StandInDevice.start({ dataDir: dir.path, name: 'device-a' })
    const page = await openTablet(browser, node.url)
    await signIn(page, 'Dr Mwale', 'clinician')
    const { pid, eid } = await registerVisit(page, 'John', 'Tembo', 'headache')
    const notes = page.getByTestId('notes')
    await notes.click()
    await page.keyboard.type('Headache 2 days.')
    const first = node
    await expect.poll(() => first.notesOf(pid, eid), { timeout: 10_000 }).toBe('Headache 2 days.')

    await node.kill()
    await page.getByText('Not connected to the clinic device').waitFor()
    await page.keyboard.type(' No fever. BP normal.')
    await expect.poll(() => notes.inputValue()).toBe('Headache 2 days. No fever. BP normal.')
    await screenshot(page, 'encounter-offline')

    node = await first.restart()
    const second = node
    await page.getByText('Connected to device-a').waitFor({ timeout: 20_000 })
    await expect.poll(() => second.notesOf(pid, eid), { timeout: 20_000 }).toBe('Headache 2 days. No fever. BP normal.')
    expect(await notes.inputValue()).toBe('Headache 2 days. No fever. BP normal.')
  })
})
