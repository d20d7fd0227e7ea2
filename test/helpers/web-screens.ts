import type { Page } from 'playwright-core'
import { screenshot } from './web-browser.js'

/** How far the page reaches past the screen's right edge (0 when nothing overflows sideways). */
export function overflow(page: Page): Promise<number> {
  return page.evaluate(() => {
    const d = (
      globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number } } }
    ).document.documentElement
    return d.scrollWidth - d.clientWidth
  })
}

/** A tablet in landscape and a phone: the widths every screen is looked at (issue 15 #12). */
export const SCREEN_WIDTHS = [
  { name: '1024', width: 1024, height: 768 },
  { name: '390', width: 390, height: 844 },
] as const

/**
 * Screenshots `name` at 1024 px and 390 px (`.artifacts/screenshots/<name>-<width>.png`) and returns how far each
 * width overflows sideways; the page goes back to its own size after.
 */
export async function atEveryWidth(page: Page, name: string): Promise<Record<string, number>> {
  const own = page.viewportSize()
  const out: Record<string, number> = {}
  for (const w of SCREEN_WIDTHS) {
    await page.setViewportSize({ width: w.width, height: w.height })
    out[w.name] = await overflow(page)
    await screenshot(page, `${name}-${w.name}`)
  }
  if (own) await page.setViewportSize(own)
  return out
}
