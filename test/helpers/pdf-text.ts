import type { Page } from 'playwright-core'
import { extractText, getDocumentProxy } from 'unpdf'

/** What a printed page became: its text (whitespace folded to single spaces), page count and first page size (pt). */
export interface PrintedPdf {
  text: string
  pages: number
  /** Width and height of the first page in PDF points (1 mm = 2.835 pt). */
  size: [number, number]
}

/**
 * Prints the page as Chromium would on paper (print media, the page's own `@page` size) to a PDF and reads the text
 * back (unpdf, a build of PDF.js): what a test asserts is on the paper, not in the DOM.
 */
export async function printToPdf(page: Page): Promise<PrintedPdf> {
  await page.emulateMedia({ media: 'print' })
  try {
    const bytes = await page.pdf({ preferCSSPageSize: true })
    const doc = await getDocumentProxy(new Uint8Array(bytes))
    const first = await doc.getPage(1)
    const [x0, y0, x1, y1] = first.view as [number, number, number, number]
    const { text } = await extractText(doc, { mergePages: true })
    return { text: text.replace(/\s+/g, ' ').trim(), pages: doc.numPages, size: [x1 - x0, y1 - y0] }
  } finally {
    await page.emulateMedia({ media: 'screen' })
  }
}

/** Replaces `window.print` with a counter (headless Chromium has no print dialog): how often the page asked to print. */
export async function countPrints(page: Page): Promise<() => Promise<number>> {
  await page.evaluate(() => {
    const w = globalThis as unknown as { print: () => void; __prints?: number }
    w.__prints = 0
    w.print = () => {
      w.__prints = (w.__prints ?? 0) + 1
    }
  })
  return () => page.evaluate(() => (globalThis as unknown as { __prints?: number }).__prints ?? 0)
}
