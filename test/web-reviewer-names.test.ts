import type { ConflictsReply, RelayStatusReply } from '@clinic-mesh/contracts'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PHONE, consoleSignIn, openConsole, overflowing, sidewaysOverflow } from './helpers/console-page.js'
import { pollDevice } from './helpers/device-process.js'
import { AMOX, PEOPLE, RxClinic } from './helpers/rx-clinic.js'
import { launchChromium, screenshot } from './helpers/web-browser.js'

/**
 * Issue 15 items 8 and 11 in the relay-served console (Chromium, real relay + device node processes): a central
 * clinician holds a prescription on the Prescriptions screen while a tablet is offline; the reviewer of the clinic
 * then sees the patient's, the device's and the clinic's names (the operator token gets ids only), the conflict rate
 * per clinic and day, and only the decisions that apply to each conflict — on a 390 px phone without sideways scroll.
 */
describe('reviewer console: names, rates, decisions (relay + device node, Chromium)', () => {
  let browser: Browser
  let env: RxClinic
  let rx: { rxId: string; hash: string; lines: Record<string, string> }

  beforeAll(async () => {
    ;[browser, env] = await Promise.all([launchChromium(), RxClinic.start()])
    rx = await env.signRx([AMOX])
    await env.relayLogin(PEOPLE.clinician)
    await env.relayLogin(PEOPLE.reviewer)
  }, 240_000)
  afterAll(async () => {
    await browser?.close()
    await env?.stop()
  })

  it('a central clinician holds a prescription on the console; the offline dispense arrives as prescription-changed', async () => {
    // wait until the relay holds the signed prescription (the clinician's search finds it)
    const page = await openConsole(browser, env.relay.port, PHONE)
    await consoleSignIn(page, env.clinicId, PEOPLE.clinician.name)
    await env.restartNode(false) // the tablet is offline from here
    const offline = await env.node.api(
      'POST',
      '/api/stock/dispenses',
      {
        id: 'disp-offline',
        patient: env.patient.id,
        prescription: rx.rxId,
        prescriptionHash: rx.hash,
        item: 'itm_amox',
        batch: 'AMX-1',
        line: rx.lines.itm_amox,
        quantity: 5,
        priceSeen: 3,
        stockSeen: 100,
      },
      { as: PEOPLE.pharmacist },
    )
    expect(offline.status).toBe(201)
    // a receipt of an item nobody listed: an unknown-item conflict on a receive
    const grn = { id: 'grn-x', item: 'itm_unlisted', batch: 'UNL-1', expiry: '2031-01-31', quantity: 30 }
    expect(
      (
        await env.node.api('POST', '/api/stock/receipts', {
          ...grn,
          unitCost: 1,
          supplier: 'CMST',
          grn: 'G-9',
        })
      ).status,
    ).toBe(201)

    const panel = page.getByTestId('prescriptions')
    await panel.getByRole('textbox', { name: 'Patient id' }).fill(env.patient.id)
    const found = panel.locator(`[data-rx="${rx.rxId}"]`)
    await pollDevice(
      async () => {
        await panel.getByRole('button', { name: 'Find' }).click()
        return (
          (await found.count()) > 0 && (await found.getByRole('button', { name: 'Put on hold' }).count()) > 0
        )
      },
      'the signed prescription on the console',
      30_000,
    )
    expect(await found.innerText()).toContain(env.patient.name)
    // a reason is required
    await found.getByRole('button', { name: 'Put on hold' }).click()
    await panel.getByText('Say why').waitFor()
    await found.getByLabel('Reason').fill('penicillin allergy reported by phone')
    await found.getByRole('button', { name: 'Put on hold' }).click()
    await panel.getByTestId('rx-saved').getByText('Put on hold').waitFor()
    await found.getByTestId('rx-status').getByText('On hold', { exact: true }).waitFor()
    await found.getByRole('button', { name: 'Release hold' }).waitFor()
    expect(await sidewaysOverflow(page), await overflowing(page)).toBe(0)
    await screenshot(page, 'console-prescriptions-390')
    await page.context().close()
  })

  it('a signed-in reviewer sees names, rates per clinic and day, and only the decisions that apply; nothing overflows at 390 px', async () => {
    await env.restartNode(true) // back online: the offline dispense and the receipt reach the relay
    const conflicts = await pollDevice(
      async () => {
        const r = await env.relay.api<ConflictsReply>('GET', `/api/conflicts?clinic=${env.clinicId}`)
        const rxc = r.body.conflicts.find((c) => c.operation.id === 'disp-offline')
        const unl = r.body.conflicts.find((c) => c.operation.id === 'grn-x')
        return rxc && unl ? { rxc, unl, all: r.body.conflicts } : undefined
      },
      'both conflicts at the relay',
      60_000,
    )
    expect(conflicts.rxc.kind).toBe('prescription-changed')
    expect(conflicts.unl.kind).toBe('unknown-item')
    // the operator token names no person of the clinic: ids only
    expect(conflicts.rxc.names).toBeUndefined()

    const page = await openConsole(browser, env.relay.port, PHONE)
    await consoleSignIn(page, env.clinicId, PEOPLE.reviewer.name)
    const rxCard = page.locator(`[data-conflict-id="${conflicts.rxc.id}"]`)
    await rxCard.waitFor()
    expect(await rxCard.getByTestId('conflict-patient').locator('strong').innerText()).toBe(env.patient.name)
    expect(await rxCard.getByTestId('conflict-device').innerText()).toBe('pharmacy')
    expect(await rxCard.getByTestId('conflict-clinic').innerText()).toBe('Test Clinic')
    expect(await rxCard.innerText()).toContain('penicillin allergy reported by phone')
    // decisions: a prescription changed centrally → accept, partial, cancel; never switch lot or write-off
    const offered = (card: typeof rxCard): Promise<string[]> =>
      card
        .locator('input[type="radio"]')
        .evaluateAll((els) => els.map((e) => (e as unknown as { value: string }).value))
    expect((await offered(rxCard)).sort()).toEqual(['accept', 'cancel', 'partial-dispense'])
    const unlCard = page.locator(`[data-conflict-id="${conflicts.unl.id}"]`)
    expect(await offered(unlCard)).toEqual(['cancel']) // accept on a receipt of an unknown item cannot apply
    // the detail names the device, not its id
    expect(await rxCard.locator('.detail').innerText()).not.toContain(conflicts.rxc.device)

    // conflict rate per clinic and day, beside the counts
    const status = await env.relay.api<RelayStatusReply>('GET', '/api/status')
    const mine = status.body.clinics!.find((k) => k.clinic === env.clinicId)!
    expect(mine.name).toBe('Test Clinic')
    const ops = mine.days!.reduce((n, d) => n + d.operations, 0)
    const raised = mine.days!.reduce((n, d) => n + d.conflicts, 0)
    expect(raised).toBe(conflicts.all.length)
    expect(ops).toBeGreaterThanOrEqual(5) // formulary, receipts, dispense
    const rate = ((100 * raised) / ops).toFixed(1)
    await pollDevice(
      async () => (await page.getByTestId('clinic-rate').innerText()) === rate,
      `the clinic's rate ${rate} on the console`,
      30_000,
    )
    const today = page.locator(`[data-testid="clinic-days"] tr[data-day="${mine.days!.at(-1)!.day}"]`)
    expect(await today.getByTestId('day-rate').innerText()).toBe(
      ((100 * mine.days!.at(-1)!.conflicts) / mine.days!.at(-1)!.operations).toFixed(1),
    )

    // the reviewer decides: accept as handed out (the medicine left the pharmacy)
    await rxCard.getByRole('radio', { name: /Accept/ }).check()
    await rxCard.getByLabel('Note for the record').fill('given before the hold; patient called back')
    await rxCard.getByRole('button', { name: 'Resolve conflict' }).click()
    await page.getByTestId('resolved-confirmation').getByText(env.patient.name).waitFor()

    expect(await sidewaysOverflow(page), await overflowing(page)).toBe(0)
    await screenshot(page, 'console-reviewer-names-390')
    await page.setViewportSize({ width: 1024, height: 900 })
    await screenshot(page, 'console-reviewer-names-1024')
    // names are shown, never logged
    expect(env.relay.stderr.join('\n')).not.toMatch(/Chikondi|Phiri|penicillin/)
  })
})
