import type { Browser, Page } from 'playwright-core'
import { testPassword } from './device-process.js'

/** A phone in portrait (iPhone 12-14 class): the narrowest screen the console must fit. */
export const PHONE = { width: 390, height: 844 }

/** How far the page reaches past the screen's right edge (0 when nothing overflows sideways). */
export function sidewaysOverflow(page: Page): Promise<number> {
  return page.evaluate(() => {
    const d = (
      globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number } } }
    ).document.documentElement
    return d.scrollWidth - d.clientWidth
  })
}

/** The relay's reviewer console (served at `/`) in its own browser context of `viewport`. */
export async function openConsole(
  browser: Browser,
  relayPort: number,
  viewport: { width: number; height: number } = { width: 1024, height: 900 },
): Promise<Page> {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1 })
  const page = await context.newPage()
  page.setDefaultTimeout(30_000)
  await page.goto(`http://127.0.0.1:${relayPort}/`)
  return page
}

/** Signs a clinic user (password `testPassword(name)`) in to the console and waits for "Signed in as". */
export async function consoleSignIn(page: Page, clinic: string, user: string): Promise<void> {
  await page.getByLabel('Clinic', { exact: true }).fill(clinic)
  await page.getByLabel('User', { exact: true }).fill(user)
  await page.getByLabel('Password', { exact: true }).fill(testPassword(user))
  await page.getByRole('button', { name: 'Sign in', exact: true }).click()
  await page.getByTestId('signed-in-as').waitFor()
}

/**
 * The elements reaching past the right edge (tag, class, test id, right edge), innermost first, leaving out what a
 * scrolling box holds (it scrolls inside itself): the message of a failed overflow check.
 */
export function overflowing(page: Page): Promise<string> {
  return page.evaluate(() => {
    type El = {
      tagName: string
      className: unknown
      getAttribute(n: string): string | null
      getBoundingClientRect(): { right: number }
      children: ArrayLike<El>
    }
    const g = globalThis as unknown as {
      document: { documentElement: { clientWidth: number }; body: El }
      getComputedStyle(el: El): { overflowX: string }
    }
    const width = g.document.documentElement.clientWidth
    const out: string[] = []
    const walk = (el: El): boolean => {
      let inner = false
      if (g.getComputedStyle(el).overflowX === 'visible')
        for (const c of Array.from(el.children)) inner = walk(c) || inner
      const r = el.getBoundingClientRect().right
      const over = r > width + 0.5
      if (over && !inner)
        out.push(
          `${el.tagName.toLowerCase()}.${String(el.className)}[${el.getAttribute('data-testid') ?? ''}] → ${Math.round(r)}`,
        )
      return over || inner
    }
    walk(g.document.body)
    return out.slice(0, 12).join('\n')
  })
}
