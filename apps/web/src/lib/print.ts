/**
 * Prints one document of the screen (a receipt, a label, the pick list) and nothing else: the element is marked as
 * the print target and the print CSS (styles.css `@media print`) hides every element that neither is, holds nor lies
 * inside it (the status bar, the navigation, the other cards). The page size comes from `data-page` on the element
 * (`a4`, the default, or `label`: 62 × 100 mm). The mark stays until another document is printed, so the browser's
 * own Print menu prints the same document again.
 */
export function printDocument(el: HTMLElement | undefined): void {
  if (!el) return
  for (const old of document.querySelectorAll('.print-target')) old.classList.remove('print-target')
  el.classList.add('print-target')
  window.print()
}
