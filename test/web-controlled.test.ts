import { tempDir, type TempDir } from '@clinic-mesh/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pollDevice, testPassword } from './helpers/device-process.js'
import { RelayProcess } from './helpers/relay-process.js'
import { openTablet, screenshot, signIn, webSuite } from './helpers/web-browser.js'
import { urlOf } from './helpers/web-devices.js'

const MORPHINE = 'itm_morphine-10-inj'
const LOT = 'MOR-24-A'

interface Conflict {
  id: string
  kind: string
  status: string
  critical: boolean
  operation: { id: string; kind: string }
  seen: { counted?: number; stock?: number }
  authority: { stock?: number }
}

describe('web: controlled medicines — a count that differs needs a supervisor; adjustments approved on site; the register keeps the balance', () => {
  const web = webSuite()
  let dir: TempDir
  let relay: RelayProcess

  beforeAll(async () => {
    dir = await tempDir('web-controlled-')
    relay = await RelayProcess.start(dir.path)
  })
  afterAll(async () => {
    await relay?.stop('SIGKILL')
    await dir?.remove()
  })

  it('the pharmacist counts each lot on the tablet; the relay raises the difference as critical; after a supervisor approves, the register shows the booked balance', async () => {
    const clinic = await web.start(['pharmacy'], { relay: relay.syncUrl.replace(/\/sync$/, '') })
    const node = clinic.devices[0]!
    const clinicId = (await node.api<{ clinic: { id: string } }>('GET', '/api/status')).body.clinic.id
    // the central office's formulary: morphine, a controlled medicine
    const entry = { id: 'f-morphine', item: MORPHINE, name: 'Morphine 10 mg/mL', price: 60, controlled: true }
    expect(
      (await node.api('POST', '/api/stock/formulary', entry, { as: { name: 'admin', role: 'admin' } }))
        .status,
    ).toBe(201)

    const page = await openTablet(web.browser, urlOf(node))
    await signIn(page, 'Peter Banda', 'pharmacist')
    await page.getByRole('navigation').getByRole('link', { name: 'Pharmacy' }).click()
    // a delivery of 20 ampoules, settled by the relay
    await page.getByLabel('Medicine code').fill(MORPHINE)
    await page.getByLabel('Lot / batch').fill(LOT)
    await page.getByLabel('Expiry date').fill('2031-06-30')
    await page.getByLabel('Quantity received').fill('20')
    await page.getByLabel('Unit cost (minor units)').fill('40')
    await page.getByLabel('Supplier').fill('CMST')
    await page.getByLabel('GRN number').fill('GRN-CD-1')
    await page.getByRole('button', { name: 'Record receipt' }).click()
    await page.getByRole('status').getByText(`Received 20 of ${MORPHINE}, lot ${LOT}.`).waitFor()
    const register = page.getByTestId('controlled-register')
    // settlement waits until the pharmacist's key has reached the relay with the register: slow on a loaded machine
    await pollDevice(
      async () =>
        (
          await node.api<{ lines: { batch: string; settled: number }[] }>('GET', '/api/stock')
        ).body.lines.find((l) => l.batch === LOT)?.settled === 20 || undefined,
      'the receipt settled',
      90_000,
    )
    await expect
      .poll(() => register.getByTestId('register-settled').innerText(), { timeout: 30_000 })
      .toBe('20 confirmed')

    // the count: 18 ampoules in the cupboard, the books say 20
    const section = page.getByRole('region', { name: 'Controlled medicines' })
    await section.getByLabel(`Counted, lot ${LOT}`).fill('18')
    await section.getByRole('button', { name: 'Record count' }).click()
    await section
      .getByRole('status')
      .getByText(`lot ${LOT}: counted 18, the books say 20 — a supervisor must approve the difference`, {
        exact: false,
      })
      .waitFor()

    // at the relay: a critical conflict; a pharmacist alone cannot accept it
    const conflict = await pollDevice(
      async () =>
        (
          await relay.api<{ conflicts: Conflict[] }>('GET', `/api/conflicts?clinic=${clinicId}`)
        ).body.conflicts.find((c) => c.operation.kind === 'count'),
      'the count raised at the relay',
      45_000,
    )
    expect(conflict).toMatchObject({
      kind: 'controlled-count-discrepancy',
      critical: true,
      status: 'open',
      seen: { counted: 18, stock: 20 },
      authority: { stock: 20 },
    })
    // the register on the tablet says the count is held and needs a supervisor; the balance is unchanged
    const countRow = register.locator(`tr[data-op="${conflict.operation.id}"]`)
    await expect
      .poll(() => countRow.innerText(), { timeout: 45_000 })
      .toMatch(/held for review.*needs a supervisor/s)
    expect(await countRow.getByTestId('register-balance').innerText()).toBe('20')
    await screenshot(page, 'pharmacy-controlled-count')

    const login = async (name: string, role: string): Promise<string> => {
      await node.token({ name, role }) // the user, created on the tablet, reaches the relay with the register
      const r = await pollDevice(
        async () => {
          const l = await relay.login(clinicId, name, testPassword(name))
          return l.status === 200 ? l.body.token : undefined
        },
        `${name} signs in at the relay`,
        20_000,
      )
      return r
    }
    const pharmacist = await login('Peter Banda', 'pharmacist')
    const accept = (approval?: { user: string; role: string; password: string }) =>
      relay.api<{ outcome?: string; error?: { name: string } }>(
        'POST',
        `/api/conflicts/${conflict.id}/resolution`,
        {
          decision: { action: 'accept', adjustment: null },
          note: 'two ampoules broken',
          ...(approval ? { approval } : {}),
        },
        undefined,
        pharmacist,
      )
    expect((await accept()).body.error?.name).toBe('ResolutionApprovalError')
    await login('Ruth Mwale', 'supervisor')
    expect(
      (await accept({ user: 'Ruth Mwale', role: 'supervisor', password: testPassword('Ruth Mwale') })).body,
    ).toMatchObject({ outcome: 'resolved' })

    // the tablet's register: the count reviewed, two ampoules booked out, balance 18 confirmed
    await expect.poll(() => countRow.innerText(), { timeout: 45_000 }).toMatch(/reviewed.*accept/s)
    expect(await countRow.getByTestId('register-balance').innerText()).toBe('18')
    await expect
      .poll(() => register.getByTestId('register-settled').innerText(), { timeout: 45_000 })
      .toBe('18 confirmed')
    await expect.poll(() => countRow.innerText()).toMatch(/approved by usr_ruth-mwale/)

    // an adjustment with the supervisor standing by: she types her password on the tablet, the node signs her
    // approval, the relay verifies it and settles the request
    const adjust = page.getByRole('form', { name: 'Request a stock adjustment' })
    await adjust.getByLabel('Lot').selectOption({ label: `Morphine 10 mg/mL — ${LOT} (18)` })
    await adjust.getByLabel('Change in units').fill('-1')
    await adjust.getByLabel('Reason').fill('ampoule dropped')
    await adjust.getByLabel('A supervisor is here and approves now').check()
    await adjust.getByLabel('Supervisor’s name').fill('Ruth Mwale')
    await adjust.getByLabel('Supervisor’s password').fill(testPassword('Ruth Mwale'))
    await adjust.getByRole('button', { name: 'Record approved adjustment' }).click()
    await adjust
      .getByRole('status')
      .getByText('recorded with Ruth Mwale’s approval', { exact: false })
      .waitFor()
    const adjRow = register.getByRole('row').filter({ hasText: 'Adjustment -1: ampoule dropped' })
    // tentative first (an adjustment moves nothing until the relay settles it), then confirmed at −1
    await expect
      .poll(() => adjRow.getByTestId('register-balance').innerText(), { timeout: 45_000 })
      .toBe('17')
    expect(await adjRow.innerText()).toMatch(/approved by usr_ruth-mwale/)
    expect(await adjRow.innerText()).not.toMatch(/not confirmed/)
    await expect
      .poll(() => register.getByTestId('register-settled').innerText(), { timeout: 45_000 })
      .toBe('17 confirmed')
    await screenshot(page, 'pharmacy-controlled-register')
  })
})
