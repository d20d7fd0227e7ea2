import { describe, expect, it } from 'vitest'
import type { DeviceProcess } from './helpers/device-process.js'
import { urlOf } from './helpers/web-devices.js'
import { webSuite, openTablet, screenshot, signIn } from './helpers/web-browser.js'
import { registerPatient } from './helpers/web-flows.js'

describe('web: needs-review markers', () => {
  const web = webSuite()
  let node: DeviceProcess

  it('two tablets that set the same field apart from each other both see a marker once they meet', async () => {
    const clinic = await web.start(['device-a'])
    node = clinic.devices[0]!
    const one = await openTablet(web.browser, urlOf(node))
    await signIn(one, 'Amina Phiri', 'nurse')
    await registerPatient(one, {
      given: 'Ruth',
      family: 'Nkhoma',
      birthDate: '1971-05-20',
      sex: 'female',
      reason: 'diabetes review',
    })
    const two = await openTablet(web.browser, `${urlOf(node)}/${one.url().slice(one.url().indexOf('#'))}`)
    await signIn(two, 'Joseph Kamanga', 'registration')
    await two.getByRole('heading', { name: 'Ruth Nkhoma' }).waitFor({ timeout: 20_000 })

    await clinic.kill(node) // the two tablets cannot see each other now
    await one.getByText('Not connected to the clinic device').waitFor()
    await two.getByText('Not connected to the clinic device').waitFor()
    await one.getByLabel('Where is the patient now?').selectOption('triage')
    await two.getByLabel('Where is the patient now?').selectOption('left')
    expect(await one.getByTestId('needs-review').count()).toBe(0)

    node = await clinic.restart(node)
    await one.getByTestId('needs-review').getByText('Where the patient is').waitFor({ timeout: 20_000 })
    await two.getByTestId('needs-review').getByText('Where the patient is').waitFor({ timeout: 20_000 })
    const text = await one.getByTestId('needs-review').innerText()
    // both values, in the words of the select the nurse used (not the stored codes)
    expect(text).toMatch(/Keep “At triage”/)
    expect(text).toMatch(/Keep “Left without being seen”/)
    await screenshot(one, 'encounter-needs-review')

    // the nurse settles it on her tablet, keeping the value the tablets show already (no visible change,
    // still a write that must clear the marker); the marker goes away on both
    const where = one.getByLabel('Where is the patient now?')
    const shown = await where.inputValue()
    const shownLabel = await where.locator(`option[value="${shown}"]`).innerText()
    await one
      .getByTestId('needs-review')
      .getByRole('button', { name: `Keep “${shownLabel}”` })
      .click()
    await one.getByTestId('needs-review').waitFor({ state: 'detached' })
    await two.getByTestId('needs-review').waitFor({ state: 'detached', timeout: 10_000 })
    expect(await two.getByLabel('Where is the patient now?').inputValue()).toBe(shown)
  })
})
