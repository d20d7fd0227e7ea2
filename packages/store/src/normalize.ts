/** Lower-case, strip diacritics, split on anything that is not a letter or digit. */
export function tokens(text: string): string[] {
  const out: string[] = []
  for (const t of normalize(text).split(/[^\p{L}\p{N}]+/u)) if (t) out.push(t)
  return out
}

export function normalize(text: string): string {
  return text.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase()
}
