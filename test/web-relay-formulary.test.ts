import { tempDir, type TempDir } from '@clinic-mesh/testing'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DeviceCluster, pollDevice, testPassword, type DeviceProcess } from './helpers/device-process.js'
import { RelayProcess } from './helpers/relay-process.js'
import { launchChromium, openTablet, screenshot } from './helpers/web-browser.js'

interface StockReply {
  items: Record<string, { name: string; price: number; status: string } | undefined>
}

describe('relay console: the central office keeps the formulary (Chromium, real relay + device process)', () => {
  let browser: Browser
  let dir: TempDir
  let relay: RelayProcess
  let cluster: DeviceCluster | undefined
  let node: DeviceProcess
  let clinic: string

  beforeAll(async () => {
    dir = await tempDir('web-relay-formulary-')
    ;[browser, relay] = await Promise.all([launchChromium(), RelayProcess.start(dir.path)])
    cluster = await DeviceCluster.start(['desk'], { relay: relay.syncUrl.replace(/\/sync$/, '') })
    node = cluster.devices[0]!
    await node.ready()
    clinic = (await node.api<{ clinic: { id: string } }>('GET', '/api/status')).body.clinic.id
    await Promise.all([
      node.token({ name: 'sup1', role: 'supervisor' }),
      node.token({ name: 'rev1', role: 'reviewer' }),
    ])
    // the register reaches the relay: sign-in answers 503 until then
    await pollDevice(
      async () => (await relay.login(clinic, 'sup1', testPassword('sup1'))).status === 200,
      'supervisor known at the relay',
      30_000,
    )
  }, 120_000)
  afterAll(async () => {
    await browser?.close()
    await cluster?.stop()
    await relay?.stop('SIGKILL')
    await dir?.remove()
  })

  it('a supervisor adds, reprices and withdraws an item on the formulary screen; the tablet receives it', async () => {
    const page = await openTablet(browser, `http://127.0.0.1:${relay.port}/`)
    await page.getByLabel('Clinic', { exact: true }).fill(clinic)
    await page.getByLabel('User', { exact: true }).fill('sup1')
    await page.getByLabel('Password', { exact: true }).fill(testPassword('sup1'))
    await page.getByRole('button', { name: 'Sign in', exact: true }).click()
    const panel = page.getByTestId('formulary')
    await panel.getByText('No medicines in the formulary yet.').waitFor()

    await panel.getByLabel('Item code').fill('itm_zinc-20-tab')
    await panel.getByLabel('Generic name, strength and form').fill('Zinc sulfate 20 mg dispersible tablet')
    await panel.getByLabel('Price per unit').fill('2')
    await panel.getByRole('button', { name: 'Add to formulary' }).click()
    const row = panel.getByTestId('formulary-table').getByRole('row').filter({ hasText: 'Zinc sulfate' })
    await row.getByText('in use').waitFor()
    expect(await panel.getByTestId('formulary-saved').innerText()).toBe(
      'Added: Zinc sulfate 20 mg dispersible tablet',
    )

    await row.getByLabel('New price for Zinc sulfate 20 mg dispersible tablet').fill('3')
    await row.getByRole('button', { name: 'Reprice' }).click()
    await expect.poll(() => row.locator('td.num').innerText(), { timeout: 10_000 }).toBe('3')
    await pollDevice(
      async () =>
        (await node.api<StockReply>('GET', '/api/stock')).body.items['itm_zinc-20-tab']?.price === 3,
      'the new price on the tablet',
      30_000,
    )
    await screenshot(page, 'relay-formulary')

    await row.getByRole('button', { name: 'Withdraw Zinc sulfate 20 mg dispersible tablet' }).click()
    await row.getByText('withdrawn', { exact: true }).waitFor()
    await pollDevice(
      async () =>
        (await node.api<StockReply>('GET', '/api/stock')).body.items['itm_zinc-20-tab']?.status ===
        'withdrawn',
      'the withdrawal on the tablet',
      30_000,
    )

    // a reviewer of the clinic reads the list but has nothing to change it with
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.getByLabel('User', { exact: true }).fill('rev1')
    await page.getByLabel('Password', { exact: true }).fill(testPassword('rev1'))
    await page.getByRole('button', { name: 'Sign in', exact: true }).click()
    await panel.getByText('Zinc sulfate 20 mg dispersible tablet').waitFor()
    expect(await panel.getByRole('button', { name: 'Add to formulary' }).count()).toBe(0)
    expect(await panel.getByRole('button', { name: /Withdraw|Reprice/ }).count()).toBe(0)
  })
})
