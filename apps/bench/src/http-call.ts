/** A JSON request to a device node (or relay) process of a bench, on loopback: its status and parsed body. */
export async function call<T>(
  d: { port: number },
  method: string,
  path: string,
  body?: unknown,
  token?: string,
  type = 'application/json',
): Promise<{ status: number; body: T }> {
  const res = await fetch(`http://127.0.0.1:${d.port}${path}`, {
    method,
    headers: { 'content-type': type, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  })
  return { status: res.status, body: (await res.json()) as T }
}

/** Polls `f` every `everyMs` until it gives a value (errors count as "not yet"); throws after `ms`. */
export async function until<T>(
  f: () => Promise<T | undefined | false>,
  what: string,
  ms: number,
  everyMs: number,
): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = await f().catch(() => undefined)
    if (v !== undefined && v !== false) return v
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}
