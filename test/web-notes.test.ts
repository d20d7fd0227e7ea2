import { describe, expect, it } from 'vitest'
import type { DeviceProcess } from './helpers/device-process.js'
import { notesOf, urlOf } from './helpers/web-devices.js'
import { webSuite, openTablet, signIn } from './helpers/web-browser.js'
import { registerPatient } from './helpers/web-flows.js'

describe('web: clinician notes are collaborative text', () => {
  const web = webSuite()
  let node: DeviceProcess

  it('two clinicians typing at the same time in different places both keep every word', async () => {
    const clinic = await web.start(['device-a'])
    node = clinic.devices[0]!
    const one = await openTablet(web.browser, urlOf(node))
    await signIn(one, 'Dr Mwale', 'clinician')
    await registerPatient(one, {
      given: 'Esther',
      family: 'Phiri',
      birthDate: '1958-10-02',
      sex: 'female',
      reason: 'cough',
    })
    const notesOne = one.getByTestId('notes')
    await notesOne.click()
    await one.keyboard.type('History: | Exam: ')

    const two = await openTablet(web.browser, `${urlOf(node)}/${one.url().slice(one.url().indexOf('#'))}`)
    await signIn(two, 'Dr Banda', 'clinician')
    const notesTwo = two.getByTestId('notes')
    await expect.poll(() => notesTwo.inputValue(), { timeout: 20_000 }).toBe('History: | Exam: ')

    // one types into the history (middle), two appends to the exam (end), concurrently, key by key
    await notesOne.click()
    await one.keyboard.press('Home')
    for (let i = 0; i < 'History: '.length; i++) await one.keyboard.press('ArrowRight')
    await notesTwo.click()
    await two.keyboard.press('End')
    const history = 'cough for two weeks, night sweats '
    const exam = 'crackles right base, T 37.9'
    await Promise.all([one.keyboard.type(history, { delay: 15 }), two.keyboard.type(exam, { delay: 15 })])

    const expected = `History: ${history}| Exam: ${exam}`
    await expect.poll(() => notesOne.inputValue(), { timeout: 20_000 }).toBe(expected)
    await expect.poll(() => notesTwo.inputValue(), { timeout: 20_000 }).toBe(expected)
    const pid = decodeURIComponent(one.url().split('/').at(-2) ?? '')
    const eid = decodeURIComponent(one.url().split('/').at(-1) ?? '')
    await expect.poll(() => notesOf(node, pid, eid), { timeout: 20_000 }).toBe(expected)
  })
})
