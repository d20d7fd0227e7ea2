import { expect } from 'vitest'
import type { Page } from 'playwright-core'
import { pollDevice, type DeviceProcess } from './device-process.js'

/** A formulary medicine with one lot received (100 units), for tests that prescribe from the formulary. */
export interface StockedMedicine {
  item: string
  name: string
  price: number
  batch: string
  expiry?: string
}

export const AMOXICILLIN: StockedMedicine = {
  item: 'itm_amox',
  name: 'Amoxicillin 250 mg capsule',
  price: 3,
  batch: 'AMX-1',
}
export const PARACETAMOL: StockedMedicine = {
  item: 'itm_para',
  name: 'Paracetamol 500 mg tablet',
  price: 1,
  batch: 'PAR-1',
}

const admin = { name: 'admin', role: 'admin' }

/**
 * Puts medicines into the formulary (as the admin) and receives 100 units of one lot of each through the device
 * node, then waits until the relay settled them: the clinic can prescribe them (coded lines) and dispense them.
 */
export async function stockMedicines(
  node: DeviceProcess,
  medicines: readonly StockedMedicine[],
): Promise<void> {
  for (const m of medicines) {
    const f = await node.api(
      'POST',
      '/api/stock/formulary',
      { id: `f-${m.item}`, item: m.item, name: m.name, price: m.price },
      { as: admin },
    )
    expect(f.status).toBe(201)
    const grn = {
      id: `grn-${m.batch}`,
      item: m.item,
      batch: m.batch,
      expiry: m.expiry ?? '2031-01-31',
      quantity: 100,
      unitCost: 1,
    }
    const r = await node.api('POST', '/api/stock/receipts', { ...grn, supplier: 'CMST', grn: `G-${m.batch}` })
    expect(r.status).toBe(201)
  }
  await pollDevice(
    async () => {
      const s = await node.api<{ lines: { item: string; settled: number }[] }>('GET', '/api/stock')
      return medicines.every((m) => s.body.lines.some((l) => l.item === m.item && l.settled === 100))
    },
    'the formulary and the receipts settled by the relay',
    60_000,
  )
}

/** A prescription line as typed on the add/change form. */
export interface TypedLine {
  medicine?: string
  dose?: string
  often?: string
  days?: string
  quantity: string
}

/** Fills the add/change form of a prescription line (`form`: its accessible name). */
export async function fillLine(page: Page, form: string, line: TypedLine): Promise<void> {
  const f = page.getByRole('form', { name: form })
  if (line.medicine)
    await f.getByRole('combobox', { name: /^Medicine/ }).selectOption({ label: line.medicine })
  if (line.dose) await f.getByLabel('Dose', { exact: true }).fill(line.dose)
  if (line.often) await f.getByLabel('How often').fill(line.often)
  if (line.days) await f.getByLabel('For how long').fill(line.days)
  await f.getByLabel('Quantity to dispense (units)').fill(line.quantity)
}

/**
 * On a clinician's visit screen: starts a prescription, adds each line from the formulary and signs it; waits until
 * the tablet shows it signed.
 */
export async function prescribeAndSign(
  page: Page,
  lines: readonly (TypedLine & { medicine: string })[],
): Promise<void> {
  await page.getByRole('button', { name: 'Start a prescription' }).click()
  for (const [i, line] of lines.entries()) {
    await fillLine(page, 'Add a medicine', line)
    await page.getByRole('button', { name: 'Add medicine' }).click()
    await expect.poll(() => page.getByTestId('rx-line').count()).toBe(i + 1)
  }
  await page.getByRole('button', { name: 'Sign prescription' }).click()
  await page.getByTestId('prescription').getByText('signed', { exact: true }).waitFor()
}
