import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { urlOf } from './helpers/web-devices.js'
import { SCREENSHOTS, webSuite, openTablet, screenshot, signIn, signInWith } from './helpers/web-browser.js'
import { DeviceProcess, TEST_ADMIN_PASSWORD, pollDevice } from './helpers/device-process.js'

interface LoginReply {
  user?: { id: string; role: string }
  token?: string
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

const signInAdmin = (page: Page): Promise<void> => signInWith(page, 'admin', TEST_ADMIN_PASSWORD)

describe('web: the admin screen', () => {
  const web = webSuite()

  it('the admin adds, re-roles and disables a user, sees a forged register record, makes a join code that enrols a new tablet (which, holding no admin key, cannot make one), revokes a device; a nurse never sees the screen', async () => {
    const clinic = await web.start(['front-desk', 'ward'])
    const node = clinic.devices[0]!
    const origin = urlOf(node)
    const page = await openTablet(web.browser, origin)
    await page.setViewportSize({ width: 1024, height: 768 })
    await signInAdmin(page)
    await page.getByRole('navigation', { name: 'Screens' }).getByRole('link', { name: 'Admin' }).click()
    const users = page.getByTestId('users-table')
    const own = users.locator('tr[data-user="usr_admin"]')
    await own.waitFor()
    // the admin cannot disable or demote themself: their own row's controls are greyed
    expect(await own.getByLabel('Role of admin', { exact: true }).isDisabled()).toBe(true)
    expect(await own.getByRole('button', { name: 'Disable' }).isDisabled()).toBe(true)

    // the form checks the password before asking the node
    const form = page.getByRole('region', { name: 'Add a user' })
    await form.getByLabel('Full name').fill('Mary Tembo')
    await form.getByLabel('Role', { exact: true }).selectOption('nurse')
    await form.getByLabel('New password').fill('short')
    await form.getByLabel('Repeat the password').fill('short')
    await form.getByRole('button', { name: 'Add user' }).click()
    await form.getByRole('alert').getByText('The password needs at least 8 characters.').waitFor()
    await form.getByLabel('New password').fill('mary-pass-1234')
    await form.getByLabel('Repeat the password').fill('mary-pass-12345')
    await form.getByRole('button', { name: 'Add user' }).click()
    await form.getByRole('alert').getByText('The two passwords are not the same. Type them again.').waitFor()
    await form.getByLabel('Repeat the password').fill('mary-pass-1234')
    await form.getByRole('button', { name: 'Add user' }).click()
    await form
      .getByRole('status')
      .getByText('Mary Tembo can now sign in on every tablet of the clinic (user id usr_mary-tembo).')
      .waitFor()
    const mary = users.locator('tr[data-user="usr_mary-tembo"]')
    await mary.getByText('Active').waitFor()
    expect(await mary.getByLabel('Role of Mary Tembo', { exact: true }).inputValue()).toBe('nurse')
    const first = await apiLogin(origin, 'Mary Tembo', 'mary-pass-1234')
    expect([first.status, first.body.user?.role]).toEqual([200, 'nurse'])

    // the node's refusal in plain words: the same name again
    await form.getByLabel('Full name').fill('mary tembo')
    await form.getByLabel('Role', { exact: true }).selectOption('clinician')
    await form.getByLabel('New password').fill('another-pass-1')
    await form.getByLabel('Repeat the password').fill('another-pass-1')
    await form.getByRole('button', { name: 'Add user' }).click()
    await form
      .getByRole('alert')
      .getByText('A user with this name already exists.', { exact: false })
      .waitFor()

    // a role change, then disabling: her session ends and she cannot sign in any more
    await mary.getByLabel('Role of Mary Tembo', { exact: true }).selectOption('clinician')
    await mary.getByRole('button', { name: 'Save the role of Mary Tembo' }).click()
    await page.getByRole('status').getByText('Mary Tembo is now clinician.').waitFor()
    const again = await apiLogin(origin, 'Mary Tembo', 'mary-pass-1234')
    expect([again.status, again.body.user?.role]).toEqual([200, 'clinician'])
    await mary.getByRole('button', { name: 'Disable Mary Tembo' }).click()
    await page.getByRole('status').getByText('Mary Tembo is now disabled: they cannot sign in.').waitFor()
    await mary.getByText('Disabled').waitFor()
    const refused = await apiLogin(origin, 'Mary Tembo', 'mary-pass-1234')
    expect(refused.status).not.toBe(200)
    expect(refused.body.error?.name).toBe('ForbiddenError')
    const ended = await fetch(`${origin}/api/session`, {
      headers: { authorization: `Bearer ${again.body.token}` },
    })
    expect(ended.status).toBe(401)
    expect(await mary.getByRole('button', { name: 'Enable Mary Tembo' }).isEnabled()).toBe(true)

    // the register (verifiers, wrapped keys) never reaches a web.browser, not even the admin's: its own repo cannot
    // fetch it over /sync, so it can neither read the verifiers nor write a record no admin endorsed into it
    const directoryUrl = ((await (await fetch(`${origin}/api/status`)).json()) as { directoryUrl: string })
      .directoryUrl
    const fetched = await page.evaluate(async (url) => {
      const page = globalThis as unknown as {
        clinicMesh: { repo: { find(url: string): Promise<{ doc(): Record<string, unknown> }> } }
      }
      const { repo } = page.clinicMesh
      const dir = await repo.find(url)
      try {
        await repo.find(dir.doc().users as string)
        return 'served'
      } catch (err) {
        return String(err)
      }
    }, directoryUrl)
    expect(fetched).toMatch(/unavailable/)
    expect(await users.locator('tr[data-user="usr_mallory"]').count()).toBe(0)
    await screenshot(page, 'admin-users')
    await page.setViewportSize({ width: 390, height: 844 })
    await screenshot(page, 'admin-users-phone')
    await page.setViewportSize({ width: 1024, height: 768 })

    // devices: both of the clinic's devices, this one marked; a join code; revoking the other one
    await page
      .getByRole('navigation', { name: 'Admin sections' })
      .getByRole('link', { name: 'Devices' })
      .click()
    const devices = page.getByTestId('devices-table')
    await devices.locator('tr[data-device="ward"]').getByText('Active').waitFor()
    await devices.locator('tr[data-device="front-desk"]').getByText('This device').waitFor()
    expect(await devices.locator('tr[data-device="front-desk"]').getByRole('button').count()).toBe(0)
    await page.getByRole('button', { name: 'Make a join code' }).click()
    const code = await page.getByTestId('join-code').innerText()
    expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/)
    expect(await page.getByTestId('join-command').innerText()).toMatch(
      new RegExp(`--join http://\\S+:\\d+ --join-code ${code}$`),
    )
    await screenshot(page, 'admin-devices')
    await page.setViewportSize({ width: 390, height: 844 })
    await screenshot(page, 'admin-devices-phone')
    await page.setViewportSize({ width: 1024, height: 768 })

    // the command on the screen enrols a new tablet; it shows up in the list; it holds no admin key, so its own
    // admin screen explains that join codes are made on the admin device
    const command = await page.getByTestId('join-command').innerText()
    const [, joinUrl, joinCode] = /--join (\S+) --join-code (\S+)$/.exec(command) ?? []
    const tablet = await DeviceProcess.start({
      dataDir: join(clinic.root, 'new-tablet'),
      name: 'new-tablet',
      args: ['--join', joinUrl!, '--join-code', joinCode!],
    })
    clinic.devices.push(tablet)
    await tablet.ready(30_000)
    await devices.locator('tr[data-device="new-tablet"]').getByText('Active').waitFor({ timeout: 30_000 })
    const second = await openTablet(web.browser, urlOf(tablet))
    await pollDevice(
      async () => (await apiLogin(urlOf(tablet), 'admin', TEST_ADMIN_PASSWORD)).status === 200,
      'the user register reached the new tablet',
      30_000,
    )
    await signInAdmin(second)
    await second.goto(`${urlOf(tablet)}/#/admin/devices`)
    await second.getByRole('button', { name: 'Make a join code' }).click()
    await second
      .getByRole('alert')
      .getByText('Join codes are made on the clinic’s admin device', { exact: false })
      .waitFor()
    await second.context().close()

    await devices.getByRole('button', { name: 'Revoke ward' }).click()
    const dialog = page.getByRole('dialog', { name: 'Revoke ward?' })
    await dialog
      .getByText('This tablet will be cut off and will wipe its data when it next connects.')
      .waitFor()
    await dialog.getByRole('button', { name: 'Revoke ward' }).click()
    await dialog.getByRole('alert').getByText('Say why', { exact: false }).waitFor()
    await dialog.getByLabel('Reason').fill('tablet stolen')
    // the visible screen (a full-page capture would draw the modal's backdrop over the first screenful only)
    await page.screenshot({ path: `${SCREENSHOTS}admin-revoke-dialog.png` })
    await dialog.getByRole('button', { name: 'Revoke ward' }).click()
    await dialog.waitFor({ state: 'detached' })
    await devices.locator('tr[data-device="ward"]').getByText('tablet stolen').waitFor()
    const listed = await node.api<{ enrolled: { name: string; revoked: boolean }[] }>(
      'GET',
      '/api/devices',
      undefined,
      { as: { name: 'admin', role: 'admin' } },
    )
    expect(listed.body.enrolled.find((d) => d.name === 'ward')?.revoked).toBe(true)

    // the node restarts: the admin's session survives but their signing key does not; the screen says what to do
    await clinic.kill(node)
    await clinic.restart(node)
    await page
      .getByRole('navigation', { name: 'Admin sections' })
      .getByRole('link', { name: 'Users' })
      .click()
    await form.getByLabel('Full name').fill('Peter Banda')
    await form.getByLabel('Role', { exact: true }).selectOption('pharmacist')
    await form.getByLabel('New password').fill('peter-pass-1234')
    await form.getByLabel('Repeat the password').fill('peter-pass-1234')
    await form.getByRole('button', { name: 'Add user' }).click()
    await form
      .getByRole('alert')
      .getByText('Sign in again: this device restarted since you signed in.')
      .waitFor()
    await screenshot(page, 'admin-users-key-locked')
    await form.getByRole('alert').getByRole('button', { name: 'Sign in again' }).click()

    // a nurse: no Admin entry, and the address alone does not show the screen
    await signIn(page, 'Grace Phiri', 'nurse')
    const nav = page.getByRole('navigation', { name: 'Screens' })
    await nav.getByRole('link', { name: 'Patients' }).waitFor()
    expect(await nav.getByRole('link', { name: 'Admin' }).count()).toBe(0)
    await page.goto(`${origin}/#/admin`)
    await page.getByText('This screen is for the clinic admin.').waitFor()
    expect(await page.getByTestId('users-table').count()).toBe(0)
  })
})
