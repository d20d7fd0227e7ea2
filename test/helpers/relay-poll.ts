/**
 * Poll an async check (e.g. an HTTP call) until it yields a truthy value, with a deadline. `eventually` from
 * @clinic-mesh/testing is for synchronous predicates: a returned promise would count as truthy at once.
 */
export async function pollUntil<T>(
  check: () => Promise<T | undefined | null | false>,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await check()
    if (v) return v
    if (Date.now() > deadline) throw new Error(`not true within ${timeoutMs} ms: ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}
