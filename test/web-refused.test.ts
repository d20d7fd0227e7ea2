import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser } from 'playwright-core'
import type { DeviceProcess } from './helpers/device-process.js'
import { WebClinic, urlOf } from './helpers/web-devices.js'
import { launchChromium, openTablet, screenshot, signIn } from './helpers/web-browser.js'

interface ChartReply {
  chart: {
    encounters: Record<
      string,
      { clinician: { diagnoses: Record<string, unknown> }; registration: { queue: string } }
    >
  }
}

/**
 * The node decides, not the UI: a registration clerk's tablet hides the diagnosis form, but a change made around the
 * UI (here: through the page's own repo, as a modified page or a script would) is refused by the device node. The
 * clerk is told in plain words, what they wrote stays on screen (also after the reload that fetches a clean copy),
 * and their next allowed edit syncs.
 */
describe('web: a write the node refuses', () => {
  let browser: Browser
  let clinic: WebClinic
  let node: DeviceProcess

  beforeAll(async () => {
    browser = await launchChromium()
    clinic = await WebClinic.start(['front-desk'])
    node = clinic.devices[0]!
  })
  afterAll(async () => {
    await browser?.close()
    await clinic?.stop()
  })

  it('is shown as "Not saved" with what was written; the copy is fetched again and the next allowed edit syncs', async () => {
    const made = await node.api<{ id: string; encounterId: string }>('POST', '/api/patients', {
      given: 'Tiwonge',
      family: 'Mbewe',
      birthDate: '1975-06-01',
      sex: 'male',
      reason: 'fever',
    })
    const { id: pid, encounterId: eid } = made.body
    const page = await openTablet(browser, urlOf(node))
    await signIn(page, 'Joseph Kamanga', 'registration')
    await page.goto(`${urlOf(node)}/#/encounter/${pid}/${eid}`)
    await page.getByRole('heading', { name: 'Tiwonge Mbewe' }).waitFor()
    // the UI offers the clerk no diagnosis form and no notes to type in
    expect(await page.getByRole('button', { name: 'Add diagnosis' }).count()).toBe(0)
    expect(await page.getByTestId('notes').getAttribute('readonly')).not.toBeNull()

    // not awaited inside the page: the refusal reloads it, which would end a pending evaluate
    const reloaded = page.waitForEvent('load', { timeout: 30_000 })
    await page.evaluate(
      ([p, e]) => {
        type Enc = { clinician: { diagnoses: Record<string, unknown> } }
        const w = globalThis as unknown as {
          clinicMesh: {
            clinic: {
              change(pid: string, fn: (c: { encounters: Record<string, Enc> }) => void): Promise<void>
            }
          }
        }
        void w.clinicMesh.clinic.change(p!, (c) => {
          c.encounters[e!]!.clinician.diagnoses.dx_script = {
            text: 'Malaria (typed by a script)',
            certainty: 'confirmed',
          }
        })
      },
      [pid, eid],
    )
    await reloaded // the page dropped its copy of the bucket and loaded again
    const banner = page.getByRole('alert').filter({ hasText: 'Not saved' })
    await banner.getByText('Malaria (typed by a script)').waitFor({ timeout: 20_000 })
    expect(await banner.innerText()).toContain(
      "a registration user may not write the clinician's part of the visit",
    )
    // the page dropped its copy and reloaded it from the node: still on screen, and the node never took it
    await page.getByRole('heading', { name: 'Tiwonge Mbewe' }).waitFor()
    await page
      .getByRole('alert')
      .filter({ hasText: 'Not saved' })
      .getByText('Malaria (typed by a script)')
      .waitFor()
    await screenshot(page, 'refused-write')
    const onNode = async (): Promise<ChartReply['chart']['encounters'][string]> =>
      (await node.api<ChartReply>('GET', `/api/patients/${pid}`)).body.chart.encounters[eid]!
    expect(Object.keys((await onNode()).clinician.diagnoses)).toEqual([])

    // what the clerk may do still syncs: moving the patient on in the queue
    await page.getByLabel('Where is the patient now?').selectOption('triage')
    await expect.poll(async () => (await onNode()).registration.queue, { timeout: 20_000 }).toBe('triage')
    await page.getByRole('button', { name: 'Dismiss' }).click()
    expect(await page.getByRole('alert').filter({ hasText: 'Not saved' }).count()).toBe(0)
  })
})
