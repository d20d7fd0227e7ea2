import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser } from 'playwright-core'
import { pollDevice, type DeviceProcess } from './helpers/device-process.js'
import { RelayProcess } from './helpers/relay-process.js'
import { WebClinic, urlOf } from './helpers/web-devices.js'
import { launchChromium, openTablet, reportFailures, screenshot, signIn } from './helpers/web-browser.js'
import { registerPatient } from './helpers/web-flows.js'

interface StockReply {
  settledAt: string | null
  lines: { batch: string; settled: number; tentative: number }[]
}

const LOT = 'Amoxicillin 250 mg caps — lot AMX-2711, exp 2027-11-30'

describe('web: pharmacy on a device node linked to a relay', () => {
  let browser: Browser
  let relayDir: string
  let relay: RelayProcess
  let clinic: WebClinic | undefined
  reportFailures(() => clinic?.devices ?? [])
  let node: DeviceProcess

  beforeAll(async () => {
    browser = await launchChromium()
    relayDir = await mkdtemp(join(tmpdir(), 'web-relay-'))
    relay = await RelayProcess.start(relayDir)
  })
  afterAll(async () => {
    await browser?.close()
    await clinic?.stop()
    await relay?.stop('SIGKILL')
    await rm(relayDir, { recursive: true, force: true })
  })

  const lotOf = async (batch: string): Promise<StockReply['lines'][number] | undefined> =>
    (await node.api<StockReply>('GET', '/api/stock')).body.lines.find((l) => l.batch === batch)

  it('a dispense is tentative on the device until the relay settles it; one made while the node is down is sent once', async () => {
    clinic = await WebClinic.start(['pharmacy'], { relay: `ws://127.0.0.1:${relay.port}` })
    node = clinic.devices[0]!
    // the central office's formulary entry and the clinic's goods received, settled by the relay process
    const admin = { headers: { 'x-user': 'admin', 'x-role': 'admin' } }
    const f = await node.api(
      'POST',
      '/api/stock/formulary',
      { id: 'fm-amox', item: 'itm_amox', name: 'Amoxicillin 250 mg caps', price: 12 },
      admin,
    )
    expect(f.status).toBe(201)
    const grn = {
      id: 'grn-1',
      item: 'itm_amox',
      batch: 'AMX-2711',
      expiry: '2027-11-30',
      quantity: 200,
      unitCost: 6,
      supplier: 'CMST',
      grn: 'G-1',
    }
    expect((await node.api('POST', '/api/stock/receipts', grn)).status).toBe(201)
    await pollDevice(async () => (await lotOf('AMX-2711'))?.settled === 200, 'receipt settled by the relay')

    const page = await openTablet(browser, urlOf(node))
    await signIn(page, 'Dr Mwale', 'clinician')
    await registerPatient(page, {
      given: 'Mary',
      family: 'Chirwa',
      birthDate: '2019-02-11',
      sex: 'female',
      reason: 'ear pain',
    })
    await page.getByRole('button', { name: 'Start a prescription' }).click()
    await page.getByRole('combobox', { name: /^Medicine/ }).selectOption({ label: 'Amoxicillin 250 mg caps' })
    await page.getByLabel('Dose', { exact: true }).fill('250 mg')
    await page.getByLabel('Quantity to dispense (units)').fill('40')
    await page.getByLabel('How often').fill('3 times a day')
    await page.getByLabel('For how long').fill('7 days')
    await page.getByRole('button', { name: 'Add medicine' }).click()
    await page.getByRole('button', { name: 'Sign prescription' }).click()
    await page.getByTestId('prescription').getByText('signed', { exact: true }).waitFor()

    // shift change on the same tablet: the pharmacist takes over
    await page.getByRole('button', { name: 'Switch user' }).click()
    await signIn(page, 'Peter Banda', 'pharmacist')
    await page.getByRole('link', { name: 'Go to pharmacy for this visit' }).click()
    const row = page.getByTestId('stock-table').getByRole('row').filter({ hasText: 'AMX-2711' })
    await expect.poll(() => row.getByTestId('settled').innerText(), { timeout: 10_000 }).toBe('200')
    await page.getByTestId('status-relay').getByText('reachable', { exact: true }).waitFor()
    await screenshot(page, 'pharmacy-before')

    // the clinic's internet goes down (the device's "work offline" switch for the relay link): the dispense is tentative
    await node.api('POST', '/api/network', { relay: false })
    await page.getByTestId('status-relay').getByText('not reachable').waitFor()
    await page
      .getByLabel('Lot to hand out')
      .selectOption({ label: `${LOT} (200 left) — expires first: suggested` })
    await page.getByLabel('Quantity (units)').fill('21')
    await page.getByRole('button', { name: 'Record dispense' }).click()
    await expect
      .poll(() => row.getByTestId('tentative').innerText(), { timeout: 10_000 })
      .toMatch(/^179\s*-21 not confirmed$/)
    expect(await row.getByTestId('settled').innerText()).toBe('200')
    expect(await lotOf('AMX-2711')).toMatchObject({ settled: 200, tentative: 179 })
    await page.getByTestId('label').getByText('250 mg oral 3 times a day for 7 days').waitFor()
    await expect
      .poll(() => page.getByTestId('status-settlement').innerText(), { timeout: 5000 })
      .toContain('waiting for the central office: 1')
    await screenshot(page, 'pharmacy-tentative')
    await page.emulateMedia({ media: 'print' })
    await screenshot(page, 'label-print')
    await page.emulateMedia({ media: 'screen' })

    // the link is back: the relay process settles the dispense, the tablet shows it settled
    const relinked = performance.now()
    await node.api('POST', '/api/network', { relay: true })
    await expect.poll(() => row.getByTestId('settled').innerText(), { timeout: 20_000 }).toBe('179')
    console.warn(
      `dispense shown settled on the tablet ${(performance.now() - relinked).toFixed(0)} ms after the relay link came back`,
    )
    expect(await row.getByTestId('tentative').innerText()).toBe('179')
    await expect
      .poll(() => page.getByTestId('status-settlement').innerText(), { timeout: 5000 })
      .toContain('waiting for the central office: 0')
    expect((await node.api<{ pending: { ops: number } }>('GET', '/api/status')).body.pending.ops).toBe(0)
    await screenshot(page, 'pharmacy-settled')

    // the device node process dies: the next dispense waits on the tablet and is sent once, when it is back
    await clinic.kill(node)
    await page.getByText('Not connected to the clinic device').waitFor()
    await page
      .getByLabel('Lot to hand out')
      .selectOption({ label: `${LOT} (179 left) — expires first: suggested` })
    await page.getByLabel('Quantity (units)').fill('9')
    await page.getByRole('button', { name: 'Record dispense' }).click()
    await page.getByTestId('outbox').getByText('1 dispense saved on this tablet').waitFor()
    await page.getByTestId('status-device').getByText('1 dispense waiting on this tablet.').waitFor()
    expect(await row.getByTestId('tentative').innerText()).toMatch(/^170\s*-9 not confirmed$/) // counts what waits here
    await screenshot(page, 'pharmacy-offline')
    node = await clinic.restart(node)
    // the restarted node may refuse the session's stock writes until the pharmacist signs in again (signed stock
    // operations: the signing key is unlocked by the password). The dispense must wait for that, not be lost.
    const outbox = page.getByTestId('outbox')
    const signInAgain = page.getByRole('button', { name: 'Sign in again' })
    await expect
      .poll(async () => (await outbox.count()) === 0 || (await signInAgain.isVisible()), { timeout: 20_000 })
      .toBe(true)
    if (await signInAgain.isVisible()) {
      expect(await outbox.innerText()).toContain('1 dispense saved on this tablet')
      await screenshot(page, 'pharmacy-sign-in-again')
      await signInAgain.click()
      await signIn(page, 'Peter Banda', 'pharmacist')
    }
    await outbox.waitFor({ state: 'detached', timeout: 20_000 })
    // sent once (idempotency id), and settled by the relay after the restart
    await expect.poll(() => row.getByTestId('settled').innerText(), { timeout: 20_000 }).toBe('170')
    expect(await row.getByTestId('tentative').innerText()).toBe('170')
    expect(await lotOf('AMX-2711')).toMatchObject({ settled: 170, tentative: 170 })

    // more than the prescription has left (40 prescribed, 30 handed out): the form warns, the dispense is recorded,
    // the central office flags it, and the pharmacist sees it here with the reason, waiting for a reviewer
    await page
      .getByLabel('Lot to hand out')
      .selectOption({ label: `${LOT} (170 left) — expires first: suggested` })
    await page.getByLabel('Quantity (units)').fill('15')
    await page.getByTestId('over-prescription').waitFor()
    await page.getByRole('button', { name: 'Record dispense' }).click()
    const flagged = page.getByTestId('flagged')
    await flagged
      .getByRole('heading', { name: 'Flagged by the central office (1 waiting)' })
      .waitFor({ timeout: 30_000 })
    const flag = await flagged.getByTestId('flag').first().innerText()
    expect(flag).toContain('More than prescribed')
    expect(flag).toContain('Dispensed 15 × Amoxicillin 250 mg caps')
    expect(flag).toContain('Waiting for a reviewer at the central office.')
    await screenshot(page, 'pharmacy-flagged')
  })
})
