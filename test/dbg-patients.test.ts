import { describe, expect, it } from 'vitest'
import type { DeviceProcess } from './helpers/device-process.js'
import { urlOf } from './helpers/web-devices.js'
import { webSuite, openTablet, screenshot, signIn } from './helpers/web-browser.js'
import { fillRegistration, registerPatient } from './helpers/web-flows.js'

describe('dbg patients', () => {
  const web = webSuite()
  let node: DeviceProcess

  it('finds a registered patient and warns before registering the same person twice', async () => {
    const clinic = await web.start(['device-a'])
    node = clinic.devices[0]!
    const page = await openTablet(web.browser, urlOf(node))
    // the node answers; its socket waits for a signed-in user by design, which is no reason to show a red "not connected"
    await page.getByTestId('status-device').getByText('Connected to device-a').waitFor()
    await screenshot(page, 'user-picker')
    await signIn(page, 'Joseph Kamanga', 'registration')
    await registerPatient(page, {
      given: 'Grace',
      family: 'Banda',
      birthDate: '1984-03-12',
      sex: 'female',
      idNumber: 'MW100001',
    }) // shown in the results once registered

    const search = page.getByLabel('Find a patient by name or ID')
    await search.fill('MW100001')
    await page.getByTestId('search-results').getByText('Grace Banda').waitFor()
    await search.fill('gra ban')
    await page.getByTestId('search-results').getByText('Grace Banda').waitFor()
    await screenshot(page, 'patients-search')

    // the same person again, typed slightly differently: warned, and not registered until confirmed
    await search.fill('')
    await fillRegistration(page, { given: 'grace', family: 'BANDA', birthDate: '1984-03-12', sex: 'female' })
    await page.getByTestId('duplicate-warning').getByText('Grace Banda').waitFor()
    await screenshot(page, 'register-duplicate')
    await page.getByRole('button', { name: 'Register', exact: true }).click()
    await page.getByRole('alert').filter({ hasText: 'Check the possible duplicates above first.' }).waitFor()
    await search.fill('banda')
    await expect.poll(() => page.getByTestId('search-results').getByRole('listitem').count()).toBe(1)
    // the device node process indexed the registration the web.browser wrote (and only one Grace Banda)
    const found = async (q: string): Promise<number> =>
      (await node.api<{ patients: unknown[] }>('GET', `/api/patients?q=${q}`)).body.patients.length
    await new Promise((r) => setTimeout(r, 5000)); console.log('DBG', node.stderr.join('\n')); console.log('STATUS', JSON.stringify((await node.api('GET', '/api/status')).body.charts))
    expect(await found('banda')).toBe(1)
  })
})
