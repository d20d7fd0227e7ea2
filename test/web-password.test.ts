import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { urlOf } from './helpers/web-devices.js'
import { launchChromium, openTablet, screenshot, signIn, signInWith } from './helpers/web-browser.js'
import { DeviceProcess, TEST_ADMIN_PASSWORD, testPassword } from './helpers/device-process.js'

interface LoginReply {
  user?: { id: string; role: string }
  error?: { name: string }
}

/** A login straight against the node's API (what any tablet of the clinic would do with these credentials). */
async function apiLogin(
  origin: string,
  user: string,
  password: string,
): Promise<{ status: number; body: LoginReply }> {
  const r = await fetch(`${origin}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user, password }),
  })
  return { status: r.status, body: (await r.json()) as LoginReply }
}

/** Every `POST /api/password` the tablet sends (the browser-side checks must send none). */
function passwordRequests(page: Page): string[] {
  const sent: string[] = []
  page.on('request', (r) => {
    if (r.method() === 'POST' && new URL(r.url()).pathname === '/api/password') sent.push(r.postData() ?? '')
  })
  return sent
}

describe('web: a user changes their own password', () => {
  let browser: Browser
  let root: string
  let node: DeviceProcess | undefined

  beforeAll(async () => {
    browser = await launchChromium()
    root = await mkdtemp(join(tmpdir(), 'web-password-'))
    // no back-off delay between attempts (the test types the right password right after a wrong one); the
    // 15-minute lockout after five failures stays as it is
    node = await DeviceProcess.start({
      dataDir: join(root, 'front-desk'),
      name: 'front-desk',
      initClinic: 'Test Clinic',
      env: { CLINIC_MESH_LOGIN_DELAY_MS: '0' },
    })
    await node.ready()
  })
  afterAll(async () => {
    await browser?.close()
    await node?.stop('SIGKILL')
    await rm(root, { recursive: true, force: true })
  })

  it('from the top bar: a wrong current password and a mismatched repeat are refused, then the change works; the old password no longer signs in, the new one does', async () => {
    const origin = urlOf(node!)
    const page = await openTablet(browser, origin)
    await page.setViewportSize({ width: 1024, height: 768 })
    const sent = passwordRequests(page)
    const name = 'Ruth Banda'
    await signIn(page, name, 'clinician')
    await page.getByRole('link', { name: 'My password' }).click()
    await page.getByRole('heading', { name: 'Change my password' }).waitFor()
    expect(new URL(page.url()).hash).toBe('#/password')
    const form = page.getByRole('region', { name: 'Change my password' })
    await form.getByText('Signed in as Ruth Banda.', { exact: false }).waitFor()
    // every input has a label, every control is big enough to touch
    for (const label of ['Current password', 'New password', 'Repeat the new password'])
      expect(await form.getByLabel(label, { exact: true }).count()).toBe(1)
    for (const control of await page
      .locator('header button, header a, main button, main a.button, main input')
      .all()) {
      const box = await control.boundingBox()
      if (box === null) continue // not displayed at this width (the phone's status "Details")
      expect(box.height, await control.innerText().catch(() => 'an input')).toBeGreaterThanOrEqual(44)
    }
    const submit = form.getByRole('button', { name: 'Change password' })
    await screenshot(page, 'password-empty')

    // a wrong current password: the node refuses it, the screen says so and empties that field
    await form.getByLabel('Current password', { exact: true }).fill('not-my-password')
    await form.getByLabel('New password', { exact: true }).fill('ruth-new-pass-1')
    await form.getByLabel('Repeat the new password', { exact: true }).fill('ruth-new-pass-1')
    await submit.click()
    await form.getByRole('alert').getByText('Your current password is not right. Type it again.').waitFor()
    expect(sent).toHaveLength(1)
    expect(await form.getByLabel('Current password', { exact: true }).inputValue()).toBe('')
    await screenshot(page, 'password-wrong-current')

    // the browser's own checks: no request for any of them
    await form.getByLabel('Current password', { exact: true }).fill(testPassword(name))
    await form.getByLabel('Repeat the new password', { exact: true }).fill('ruth-new-pass-2')
    await submit.click()
    await form.getByRole('alert').getByText('The two passwords are not the same. Type them again.').waitFor()
    await screenshot(page, 'password-mismatch')
    await form.getByLabel('New password', { exact: true }).fill('short')
    await form.getByLabel('Repeat the new password', { exact: true }).fill('short')
    await submit.click()
    await form.getByRole('alert').getByText('The new password needs at least 8 characters.').waitFor()
    await form.getByLabel('New password', { exact: true }).fill(testPassword(name))
    await form.getByLabel('Repeat the new password', { exact: true }).fill(testPassword(name))
    await submit.click()
    await form
      .getByRole('alert')
      .getByText('The new password is the same as your current one.', { exact: false })
      .waitFor()
    expect(sent).toHaveLength(1)

    // the change
    await form.getByLabel('New password', { exact: true }).fill('ruth-new-pass-1')
    await form.getByLabel('Repeat the new password', { exact: true }).fill('ruth-new-pass-1')
    await submit.click()
    await form
      .getByRole('status')
      .getByText('Your password is changed. Use the new one from now on, on every tablet.')
      .waitFor()
    expect(sent).toHaveLength(2)
    expect(JSON.parse(sent[1]!)).toEqual({ oldPassword: testPassword(name), newPassword: 'ruth-new-pass-1' })
    expect(await form.getByRole('alert').count()).toBe(0)
    for (const label of ['Current password', 'New password', 'Repeat the new password'])
      expect(await form.getByLabel(label, { exact: true }).inputValue()).toBe('')
    await screenshot(page, 'password-changed')
    await page.setViewportSize({ width: 390, height: 844 })
    await screenshot(page, 'password-changed-phone')
    await page.setViewportSize({ width: 1024, height: 768 })

    // the node: the old password is refused, the new one signs in
    const old = await apiLogin(origin, name, testPassword(name))
    expect([old.status, old.body.error?.name]).toEqual([401, 'InvalidPasswordError'])
    const fresh = await apiLogin(origin, name, 'ruth-new-pass-1')
    expect([fresh.status, fresh.body.user?.id]).toEqual([200, 'usr_ruth-banda'])

    // the tablet: switch user, the old password fails on the sign-in screen, the new one works
    await page.getByRole('button', { name: 'Switch user' }).click()
    await page.getByLabel('User name').fill(name)
    await page.getByLabel('Password').fill(testPassword(name))
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('alert').getByText('Wrong user name or password.').waitFor()
    await page.getByLabel('Password').fill('ruth-new-pass-1')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('button', { name: 'Switch user' }).waitFor()
    await page.context().close()
  })

  it('five wrong current passwords lock the user on this tablet: the screen says until when, and who can help', async () => {
    const origin = urlOf(node!)
    const page = await openTablet(browser, origin)
    const name = 'Joseph Mwale'
    await signIn(page, name, 'nurse')
    await page.goto(`${origin}/#/password`)
    const form = page.getByRole('region', { name: 'Change my password' })
    const submit = form.getByRole('button', { name: 'Change password' })
    await form.getByLabel('New password', { exact: true }).fill('joseph-new-pass')
    await form.getByLabel('Repeat the new password', { exact: true }).fill('joseph-new-pass')
    for (let i = 0; i < 5; i++) {
      await form.getByLabel('Current password', { exact: true }).fill(`wrong-guess-${i}`)
      const answered = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/password')
      await submit.click()
      expect((await answered).status()).toBe(401)
      await form.getByRole('alert').getByText('Your current password is not right. Type it again.').waitFor()
    }
    // now even the right password waits out the lockout
    await form.getByLabel('Current password', { exact: true }).fill(testPassword(name))
    await submit.click()
    await form
      .getByRole('alert')
      .getByText('Too many wrong passwords: you are locked out on this tablet until', { exact: false })
      .waitFor()
    expect(await form.getByRole('alert').innerText()).toContain(
      'If you forgot your password, ask the clinic admin.',
    )
    await page.setViewportSize({ width: 390, height: 844 })
    await screenshot(page, 'password-locked-phone')
    expect((await apiLogin(origin, name, testPassword(name))).body.error?.name).toBe('AccountLockedError')
    await page.context().close()
  })

  it('right after a wrong current password the node asks to wait (back-off): the screen says so, in plain words', async () => {
    // a clinic of its own whose back-off (10 minutes after the first failure) is sure to outlast the next click
    const slow = await DeviceProcess.start({
      dataDir: join(root, 'slow'),
      name: 'slow',
      initClinic: 'Slow Clinic',
      env: { CLINIC_MESH_LOGIN_DELAY_MS: '600000' },
    })
    try {
      await slow.ready()
      const page = await openTablet(browser, urlOf(slow))
      const name = 'Esther Zulu'
      await signIn(page, name, 'pharmacist')
      await page.goto(`${urlOf(slow)}/#/password`)
      const form = page.getByRole('region', { name: 'Change my password' })
      await form.getByLabel('New password', { exact: true }).fill('esther-new-pass')
      await form.getByLabel('Repeat the new password', { exact: true }).fill('esther-new-pass')
      await form.getByLabel('Current password', { exact: true }).fill('wrong-guess')
      await form.getByRole('button', { name: 'Change password' }).click()
      await form.getByRole('alert').getByText('Your current password is not right. Type it again.').waitFor()
      await form.getByLabel('Current password', { exact: true }).fill(testPassword(name))
      const answered = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/password')
      await form.getByRole('button', { name: 'Change password' }).click()
      expect((await answered).status()).toBe(423)
      await form
        .getByRole('alert')
        .getByText('A wrong password was typed just before: wait a few seconds, then try again.')
        .waitFor()
      await page.context().close()
    } finally {
      await slow.stop('SIGKILL')
    }
  })

  it('the clinic admin reaches the screen from the top bar too, with a reminder to delete the generated first password', async () => {
    const origin = urlOf(node!)
    const page = await openTablet(browser, origin)
    await page.setViewportSize({ width: 1024, height: 768 })
    await signInWith(page, 'admin', TEST_ADMIN_PASSWORD)
    await page.getByRole('link', { name: 'My password' }).click()
    const form = page.getByRole('region', { name: 'Change my password' })
    await form
      .getByText('delete the file initial-admin-password from its data folder once you changed it here', {
        exact: false,
      })
      .waitFor()
    await screenshot(page, 'password-admin')
    await page.context().close()
  })
})
