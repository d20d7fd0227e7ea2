import { describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import type { DeviceProcess } from './helpers/device-process.js'
import { notesOf, urlOf } from './helpers/web-devices.js'
import { webSuite, openTablet, screenshot, signIn } from './helpers/web-browser.js'
import { registerPatient } from './helpers/web-flows.js'

function registerVisit(
  page: Page,
  given: string,
  family: string,
  reason: string,
): Promise<{ pid: string; eid: string }> {
  return registerPatient(page, { given, family, birthDate: '1990-07-01', sex: 'male', reason })
}

describe('web: a draft note survives a device-node restart', () => {
  const web = webSuite()
  let node: DeviceProcess

  it('keeps what was typed while the node was down and delivers it after', async () => {
    const clinic = await web.start(['device-a'])
    node = clinic.devices[0]!
    const page = await openTablet(web.browser, urlOf(node))
    await signIn(page, 'Dr Mwale', 'clinician')
    const { pid, eid } = await registerVisit(page, 'John', 'Tembo', 'headache')
    const notes = page.getByTestId('notes')
    await notes.click()
    await page.keyboard.type('Headache 2 days.')
    await expect.poll(() => notesOf(node, pid, eid), { timeout: 10_000 }).toBe('Headache 2 days.')

    // the app shell is cached (service worker) so the tablet can even reload during the outage
    const cachedFiles = (): Promise<number> =>
      page.evaluate(async () => {
        const { caches } = globalThis as unknown as {
          caches: { open(name: string): Promise<{ keys(): Promise<unknown[]> }> }
        }
        return (await (await caches.open('clinic-mesh-shell-v1')).keys()).length
      })
    await expect.poll(cachedFiles, { timeout: 10_000 }).toBeGreaterThan(3)

    await clinic.kill(node) // SIGKILL: the process is gone, its data dir stays
    expect(node.exited).toBe(true)
    await page.getByText('Not connected to the clinic device').waitFor()
    await page.keyboard.type(' No fever. BP normal.')
    await expect.poll(() => notes.inputValue()).toBe('Headache 2 days. No fever. BP normal.')
    await screenshot(page, 'encounter-offline')

    await page.reload() // first paint from local data: shell from the cache, chart from IndexedDB
    await expect
      .poll(() => notes.inputValue(), { timeout: 10_000 })
      .toBe('Headache 2 days. No fever. BP normal.')
    await notes.click()
    await page.keyboard.press('End')
    await page.keyboard.type(' Plan: rest.')
    await screenshot(page, 'encounter-offline-reloaded')

    const port = node.port
    node = await clinic.restart(node) // same data dir, same port: the page's socket reconnects to it
    expect(node.port).toBe(port)
    const restarted = performance.now()
    await page.getByText('Connected to device-a').waitFor({ timeout: 20_000 })
    const full = 'Headache 2 days. No fever. BP normal. Plan: rest.'
    await expect.poll(() => notesOf(node, pid, eid), { timeout: 20_000 }).toBe(full)
    console.warn(
      `draft on the restarted node ${(performance.now() - restarted).toFixed(0)} ms after it was ready again`,
    )
    expect(await notes.inputValue()).toBe(full)
  })
})
