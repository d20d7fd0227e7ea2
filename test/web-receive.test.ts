import { describe, expect, it } from 'vitest'
import { urlOf } from './helpers/web-devices.js'
import { webSuite, openTablet, screenshot, signIn } from './helpers/web-browser.js'

interface StockReply {
  lines: { item: string; batch: string; settled: number; tentative: number }[]
}

describe('web: goods received', () => {
  const web = webSuite()

  it('a pharmacist records deliveries; they count as tentative stock at once, the first to expire is suggested; a nurse is not offered the form', async () => {
    const clinic = await web.start(['pharmacy'])
    const node = clinic.devices[0]!
    const page = await openTablet(web.browser, urlOf(node))
    await signIn(page, 'Peter Banda', 'pharmacist')
    await page.getByRole('navigation').getByRole('link', { name: 'Pharmacy' }).click()
    await page.getByLabel('Medicine code').fill('itm_cotrim')
    await page.getByLabel('Lot / batch').fill('CTX-88')
    await page.getByLabel('Expiry date').fill('2031-06-30')
    await page.getByLabel('Quantity received').fill('250')
    await page.getByLabel('Unit cost (minor units)').fill('12')
    await page.getByLabel('Supplier').fill('CMST')
    await page.getByLabel('GRN number').fill('GRN-2026-114')
    await page.getByRole('button', { name: 'Record receipt' }).click()
    await page.getByRole('status').getByText('Received 250 of itm_cotrim, lot CTX-88.').waitFor()
    const row = page.getByTestId('stock-table').getByRole('row').filter({ hasText: 'CTX-88' })
    await expect.poll(() => row.getByTestId('tentative').innerText()).toContain('250')
    // a second delivery that expires sooner: the dispense form suggests it first (FEFO)
    await page.getByLabel('Medicine code').fill('itm_cotrim')
    await page.getByLabel('Lot / batch').fill('CTX-77')
    await page.getByLabel('Expiry date').fill('2030-01-31')
    await page.getByLabel('Quantity received').fill('40')
    await page.getByLabel('Unit cost (minor units)').fill('12')
    await page.getByLabel('Supplier').fill('CMST')
    await page.getByLabel('GRN number').fill('GRN-2026-115')
    await page.getByRole('button', { name: 'Record receipt' }).click()
    await page.getByRole('status').getByText('Received 40 of itm_cotrim, lot CTX-77.').waitFor()
    const lots = page.getByLabel('Lot to hand out').locator('option')
    await expect
      .poll(() => lots.allInnerTexts())
      .toEqual([
        'Choose a lot',
        expect.stringMatching(/lot CTX-77, exp 2030-01-31 \(40 left\) — expires first: suggested$/),
        expect.stringMatching(/lot CTX-88, exp 2031-06-30 \(250 left\)$/),
      ])
    await screenshot(page, 'pharmacy-receive')
    // the device node holds it as a signed ledger operation, tentative until a relay settles it
    const stock = await node.api<StockReply>('GET', '/api/stock')
    expect(stock.body.lines).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ item: 'itm_cotrim', batch: 'CTX-88', settled: 0, tentative: 250 }),
      ]),
    )

    await page.getByRole('button', { name: 'Switch user' }).click()
    await signIn(page, 'Grace Phiri', 'nurse')
    await page.getByRole('navigation').getByRole('link', { name: 'Pharmacy' }).click()
    await page.getByTestId('stock-table').waitFor()
    expect(await page.getByRole('button', { name: 'Record receipt' }).count()).toBe(0)
  })
})
