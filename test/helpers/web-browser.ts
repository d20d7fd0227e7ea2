import { mkdir } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type Page } from 'playwright-core'

export const SCREENSHOTS = fileURLToPath(new URL('../../.artifacts/screenshots/', import.meta.url))

/** The machine's Chromium (never a downloaded one), headless, quiet. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
}

/** A tablet: its own browser context (own IndexedDB and localStorage), 10-inch portrait viewport. */
export async function openTablet(browser: Browser, url: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 800, height: 1280 }, deviceScaleFactor: 1, hasTouch: true })
  const page = await context.newPage()
  page.setDefaultTimeout(15_000)
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  await page.goto(url)
  return page
}

export async function signIn(page: Page, name: string, role: string): Promise<void> {
  await page.getByLabel('Your name').fill(name)
  await page.getByLabel(role, { exact: true }).check()
  await page.getByRole('button', { name: 'Start' }).click()
}

export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOTS, { recursive: true })
  const path = `${SCREENSHOTS}${name}.png`
  await page.screenshot({ path, fullPage: true })
  return path
}
